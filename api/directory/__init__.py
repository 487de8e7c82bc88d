"""Directory endpoints under ``/v2``: what a client application needs to find things to chart.

The two activity endpoints answer "the series of this user or device"; a
front end also needs to know which clients its token may read, which metrics
exist (with their labels and the entity each serves, straight from the YAML
catalogue), the users and devices of a client, and which of them are the most
active. These are those endpoints, documented in the same OpenAPI document and
guarded exactly like the activity endpoints: bearer token first (401), then
parameters (400), then the token's grant (403), then existence (404).
"""

from api.directory.views import directory_blueprint

__all__ = ["directory_blueprint"]

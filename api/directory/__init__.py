"""Directory endpoints under ``/v2``: what a client application needs to find things to chart.

The activity endpoints answer "the series of this user or device"; a front
end also needs to know which clients its token may read, the users and
devices of a client, and which of them are the most active (the metric
catalogue, ``/v2/metrics``, is ``api.catalogue``). These are those endpoints,
documented in the same OpenAPI document and guarded exactly like the activity
endpoints: bearer token first (401), then parameters (400), then the token's
grant (403), then existence (404).

``views.py`` declares the routes (``directory_blueprint``), ``models.py`` their
parameters and answers, ``queries.py`` their SQL.
"""

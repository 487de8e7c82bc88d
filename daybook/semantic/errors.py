"""The one error type of the semantic layer.

The API maps it to a 400/500 and the CLI to exit code 1, so it carries a
message a data engineer can act on (file and key) and never SQL or a trace.
"""

from __future__ import annotations


class SemanticError(ValueError):
    """A semantic definition is invalid, or a request names an unknown metric/entity/dialect."""

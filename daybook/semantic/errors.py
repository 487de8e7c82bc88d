"""The one error type of the semantic layer, and how its messages name an unknown name.

The API maps it to a 400/500 and the CLI to exit code 1, so it carries a
message a data engineer can act on (file and key) and never SQL or a trace.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class SemanticError(ValueError):
    """A semantic definition is invalid, or a request names an unknown metric/entity/dialect."""


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the known name closest to ``word``, or nothing: what lets
    a YAML author fix a typo without opening the docs."""
    close = difflib.get_close_matches(word, sorted(set(known)), n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""


def unknown_name(word: str, known: Iterable[str]) -> str:
    """``word`` quoted, with :func:`did_you_mean`: the name part of an "unknown ..." message."""
    return f"{word!r}{did_you_mean(word, known)}"

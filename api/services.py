"""The per-process resources every view uses, typed, at ``app.extensions["daybook"]``.

Flask extensions keep their state in ``app.extensions``; ours is one
:class:`Services` object built by ``create_app``. Views, hooks and probes
read it through :func:`current_services`, so the type checker (and a reader)
knows what ``reader``, ``catalog`` or ``answers`` are.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from api.answer_cache import AnswerCache
from api.directory.queries import DirectoryQueries
from api.known_ids import KnownIds
from api.limits import RateLimits
from api.settings import Settings
from api.warehouse_reader import Reader
from daybook.semantic import Catalog
from daybook.tokens import TokenStore

EXTENSION_KEY = "daybook"


@dataclass
class Services:
    """Settings, catalogue, warehouse reader, token store, known ids, directory SQL, cache,
    rate limits."""

    settings: Settings
    catalog: Catalog
    reader: Reader
    tokens: TokenStore
    known: KnownIds
    directory: DirectoryQueries
    answers: AnswerCache
    limits: RateLimits


def current_services() -> Services:
    """The current app's services (inside a request or an app context)."""
    return current_app.extensions[EXTENSION_KEY]

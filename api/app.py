"""The Flask application factory: settings, catalogue, warehouse reader, tokens, routes.

As in Flask's tutorial, ``create_app`` builds everything a process needs once
(the typed :class:`~api.services.Services`) and registers one blueprint per
resource module; ``api/README.md`` lists them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_openapi3 import Info, OpenAPI

from api import request_state
from api.activity import API_SHAPE, activity_blueprint
from api.answer_cache import AnswerCache
from api.auth import authenticated_first
from api.catalogue import catalogue_blueprint
from api.client_freshness import ClientFreshness
from api.directory.queries import DirectoryQueries
from api.directory.views import directory_blueprint
from api.docs import install_docs
from api.encoded_slashes import EncodedSlashesStayInTheirSegment
from api.errors import ErrorResponse, register_error_handlers, validation_error_response
from api.headers import install_security_headers
from api.health import health_blueprint
from api.known_ids import KnownIds
from api.limits import RateLimits
from api.logs import configure_logging, install_request_logging
from api.services import EXTENSION_KEY, Services
from api.settings import Settings
from api.warehouse_reader import PostgresReader, Reader, open_reader
from api.web import register as register_web
from daybook.semantic import Catalog
from daybook.serving import install_http_caching
from daybook.tokens import PostgresTokenStore, TokenStore, open_token_store


def _token_store(settings: Settings, reader: Reader) -> TokenStore:
    if isinstance(reader, PostgresReader):
        return PostgresTokenStore(reader.connection)
    store = open_token_store(settings.warehouse)
    store.ensure_schema()
    return store


def _warm_sql(catalog: Catalog, dialect: str) -> tuple[KnownIds, DirectoryQueries]:
    """Generate every SQL text the views use before any request thread runs: the compiled
    metrics, and the existence checks and directory statements (made here, from the registry).

    Besides sparing requests the compile cost, this keeps sqlglot's generation
    out of concurrent threads: under gunicorn's threads, a first-time generation
    racing another was seen to render PostgreSQL placeholders as ``?``, and the
    cache then kept the wrong text for the life of the worker.
    """
    catalog.warm(dialect, shape=API_SHAPE)
    return KnownIds(catalog, dialect), DirectoryQueries(catalog.registry, dialect)


def create_app(config: Mapping[str, Any] | None = None) -> OpenAPI:
    """Build the API. ``config`` keys: see :meth:`Settings.from_config`; tests may also
    pass ``catalog``, ``reader`` or ``token_store`` objects to use instead of opening them,
    and ``http_caching=False`` to leave out the caching headers."""
    config = dict(config or {})
    settings = Settings.from_config(config)
    configure_logging()
    catalog: Catalog | None = config.get("catalog")
    if catalog is None:
        from daybook.semantic import load_catalog

        catalog = load_catalog(
            semantic_dir=settings.semantic_dir, manifest_path=settings.manifest_path
        )
    reader = config.get("reader") or open_reader(
        settings.warehouse,
        max_size=settings.pool_size,
        statement_timeout=settings.query_timeout_seconds,
    )
    known, directory = _warm_sql(catalog, reader.dialect)
    tokens = config.get("token_store") or _token_store(settings, reader)

    app = OpenAPI(
        __name__,
        info=Info(
            title="Daybook API",
            version="2",
            description="Activity time series per user and per device, by client.",
        ),
        security_schemes={"bearerAuth": {"type": "http", "scheme": "bearer"}},
        validation_error_status=400,
        validation_error_model=ErrorResponse,
        validation_error_callback=authenticated_first(validation_error_response),
        doc_prefix="/v2",
        doc_url="/openapi.json",
    )
    app.json.sort_keys = False  # keep the documented key order: metric, label, period, data
    app.extensions[EXTENSION_KEY] = Services(
        settings=settings,
        catalog=catalog,
        reader=reader,
        tokens=tokens,
        known=known,
        directory=directory,
        answers=AnswerCache(int(settings.answer_cache_mb * 1024 * 1024)),
        limits=RateLimits.from_settings(
            settings.rate_limit_per_token,
            settings.rate_limit_failed_auth,
            settings.rate_limit_storage_uri,
        ),
    )
    app.wsgi_app = EncodedSlashesStayInTheirSegment(app.wsgi_app)  # type: ignore[method-assign]
    install_request_logging(app)
    register_error_handlers(app)
    install_security_headers(app)  # before the caching hook, so it sees that hook's headers
    app.register_api(health_blueprint())
    app.register_api(activity_blueprint(catalog, settings.max_range_days))
    app.register_api(directory_blueprint(catalog.registry, settings.max_range_days))
    app.register_api(catalogue_blueprint(catalog))
    install_docs(app)
    register_web(app)
    if config.get("http_caching", True):
        # ETag / Last-Modified / Cache-Control on data answers (daybook.serving, issue 7);
        # Last-Modified is the path's client's newest heartbeat (api.client_freshness).
        freshness = ClientFreshness(catalog.registry, reader.dialect)
        install_http_caching(
            app,
            lambda client_id: freshness.newest(reader, request_state.current().version, client_id),
        )
    return app

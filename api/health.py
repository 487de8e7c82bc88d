"""Liveness and readiness probes, without authentication."""

from __future__ import annotations

import logging

from flask_openapi3 import APIBlueprint

from api.errors import ApiError
from api.reader_errors import NothingPublished
from api.services import current_services

log = logging.getLogger("daybook.api")


def health_blueprint() -> APIBlueprint:
    # Probes are for orchestrators, not API users: kept out of the OpenAPI document.
    blueprint = APIBlueprint("health", __name__, doc_ui=False)

    @blueprint.get("/healthz", summary="The process is alive")
    def healthz() -> dict:
        return {"status": "ok"}

    @blueprint.get("/readyz", summary="The warehouse answers a query and holds a build")
    def readyz() -> dict:
        reader = current_services().reader
        try:
            reader.fetch_all("select 1", [])
            built = reader.data_version() is not None
        except NothingPublished:
            built = False
        except Exception as error:  # any driver error means not ready; the log says which
            log.warning("warehouse not reachable", extra={"fields": {"error": repr(error)}})
            raise ApiError(503, "not_ready", "The warehouse is not reachable") from None
        if not built:  # every data request would fail: no marts (no build marker, no snapshot)
            raise ApiError(
                503, "not_ready", "Nothing has been built and published yet: run `daybook build`"
            )
        return {"status": "ready"}

    return blueprint

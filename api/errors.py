"""The contract's one error shape, ``{"error": {"code", "message", "details"}}``, for every failure.

Flask's own HTML error pages never leave the API: unknown routes and methods,
pydantic validation errors (400 ``invalid_parameter``, not 422) and unexpected
exceptions (500 with a request id; the detail goes to the log only) all render
through :func:`error_response`.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, request
from pydantic import BaseModel, Field, ValidationError
from werkzeug.exceptions import HTTPException

from api import request_state
from api.error_codes import error_code, internal_error_message
from api.logs import loggable_path
from api.params import ParameterProblem
from api.reader_errors import NothingPublished

log = logging.getLogger("daybook.api")


class ApiError(Exception):
    """A failure the API answers deliberately, rendered as the contract's JSON error."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        self.headers = headers or {}


def error_response(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    response = jsonify({"error": {"code": code, "message": message, "details": details or {}}})
    response.status_code = status
    response.headers.update(headers or {})
    return response


def _json_safe(value: Any) -> Any:
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)


def validation_error_response(error: ValidationError) -> Response:
    """flask-openapi3's validation callback: pydantic errors as one 400 naming each bad value."""
    messages: list[str] = []
    details: dict[str, Any] = {}
    for item in error.errors(include_url=False):
        problem = (item.get("ctx") or {}).get("error")
        name = ".".join(str(part) for part in item["loc"]) or "request"
        if isinstance(problem, ParameterProblem):
            message = problem.message
            details.update(problem.details)
        elif item["type"] == "missing":
            message = f"Missing required parameter: {name}"
            details[name] = None
        else:
            message = f"Invalid {name}: {item['msg']}"
            details[name] = _json_safe(item.get("input"))
        if message not in messages:
            messages.append(message)
    return error_response(400, "invalid_parameter", "; ".join(messages), details)


def register_error_handlers(app: Flask) -> None:
    """Route every failure, expected or not, to the contract's JSON error."""

    @app.errorhandler(ApiError)
    def _api_error(error: ApiError) -> Response:
        return error_response(error.status, error.code, error.message, error.details, error.headers)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        if error.response is not None:  # flask-openapi3 aborts with a ready response
            return error.response
        status = error.code or 500
        if status >= 500:
            return _internal_error(error)
        headers: dict[str, str] = {}
        if status == 404:
            message = f"No such resource: {request.path}"
        elif status == 405:
            allowed = sorted(getattr(error, "valid_methods", None) or [])
            headers["Allow"] = ", ".join(allowed)
            message = f"Method {request.method} is not allowed here; allowed: {', '.join(allowed)}"
        else:
            message = error.description or error.name
        return error_response(status, error_code(status), message, {}, headers)

    @app.errorhandler(NothingPublished)
    def _nothing_published(error: NothingPublished) -> Response:
        # the operator's next step, not a fault of the code: no traceback in the log
        log.warning("nothing published yet", extra={"fields": {"event": "not_published"}})
        request_id = request_state.request_id() or "-"
        return error_response(500, "internal_error", str(error), {"request_id": request_id})

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        return _internal_error(error)


def _internal_error(error: BaseException) -> Response:
    request_id = request_state.request_id() or "-"
    log.error(
        "unhandled error",
        exc_info=(type(error), error, error.__traceback__),
        extra={
            "fields": {
                "event": "error",
                "request_id": request_id,
                "path": loggable_path(request.path),
            }
        },
    )
    return error_response(
        500, "internal_error", internal_error_message(request_id), {"request_id": request_id}
    )


# --- the error shape in the OpenAPI document --------------------------------------------------


class ErrorBody(BaseModel):
    code: str = Field(description="authentication_required, invalid_parameter, forbidden, ...")
    message: str
    details: dict[str, Any] = Field(description="The offending values; request_id on a 500")


class ErrorResponse(BaseModel):
    """The contract's error shape."""

    error: ErrorBody


# What every authenticated blueprint documents, given once per blueprint (``abp_responses``)
# rather than on every route: a 200, whose model each route names (listed first, so the
# success answer leads each operation as before), and the error statuses, each with the
# contract's body.
ERROR_RESPONSES: dict[int, type[BaseModel] | None] = {
    200: None,
    **{status: ErrorResponse for status in (400, 401, 403, 404, 429, 500)},
}

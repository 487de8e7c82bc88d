"""Request and response models: one source for validation and for the OpenAPI document.

Path and query models are built per entity when the app starts, because the
metric parameter's allowed values come from the YAML catalogue and the range
limit from configuration. Every check raises :class:`ParameterProblem`, which
carries the contract's message text and the offending values, so the
validation callback can render them without guessing.
"""

import re
from datetime import date
from datetime import date as Day  # a field below is named `date`
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    create_model,
    field_validator,
    model_validator,
)

GRANULARITIES = ("daily", "weekly", "monthly", "quarterly")
DEFAULT_GRANULARITY = "daily"
_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
_UUID_RE = re.compile(UUID_PATTERN)


class ParameterProblem(ValueError):
    """An invalid request value: the message the client reads and the values it names."""

    def __init__(self, message: str, details: dict[str, Any]) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


def parse_uuid(name: str, value: object) -> str:
    """A canonical hyphenated UUID (any case) as the warehouse stores it: lowercase."""
    if not isinstance(value, str) or not _UUID_RE.match(value):
        raise ParameterProblem(f"Invalid {name}: expected a UUID", {name: str(value)})
    return value.lower()


def parse_date(name: str, value: object) -> date:
    """A strict ``YYYY-MM-DD`` calendar date (no week dates, no times, no compact form)."""
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _DATE_RE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ParameterProblem(f"Invalid {name}: expected a date as YYYY-MM-DD", {name: str(value)})


_SCHEMAS: dict[type, dict[str, Any]] = {}


class RequestModel(BaseModel):
    """A request-parameter model whose default JSON schema is computed once.

    flask-openapi3 calls ``model_json_schema()`` on every request to find list
    parameters; pydantic rebuilds the schema each time (about half a
    millisecond of CPU per request for our two models), so the default-argument
    call is memoised per class. Calls with arguments (OpenAPI generation) are
    passed through unchanged.
    """

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        if args or kwargs:
            return super().model_json_schema(*args, **kwargs)
        if cls not in _SCHEMAS:
            _SCHEMAS[cls] = super().model_json_schema()
        return _SCHEMAS[cls]


class _PathBase(RequestModel):
    @field_validator("*", mode="before")
    @classmethod
    def _uuid(cls, value: object, info: ValidationInfo) -> str:
        return parse_uuid(info.field_name or "id", value)


def path_model(entity: str) -> type[BaseModel]:
    """``{client_id, <entity>_id}`` path parameters, e.g. ``UserActivityPath``."""
    uuid_string = Annotated[
        str, WithJsonSchema({"type": "string", "format": "uuid", "pattern": UUID_PATTERN})
    ]
    return create_model(
        f"{entity.title()}ActivityPath",
        __base__=_PathBase,
        client_id=(uuid_string, Field(description="The client organisation's id")),
        **{f"{entity}_id": (uuid_string, Field(description=f"The {entity}'s id"))},
    )


def query_model(entity: str, metric_names: list[str], max_range_days: int) -> type[BaseModel]:
    """The activity query parameters of one entity, its metric enum from the catalogue."""
    metric_type = Annotated[str, WithJsonSchema({"type": "string", "enum": list(metric_names)})]
    granularity_type = Annotated[
        str, WithJsonSchema({"type": "string", "enum": list(GRANULARITIES), "default": "daily"})
    ]

    class ActivityQuery(RequestModel):
        model_config = ConfigDict(extra="ignore")

        metric: metric_type = Field(description="Metric to retrieve: " + ", ".join(metric_names))
        start_date: date = Field(description="Start of the date range (YYYY-MM-DD), inclusive")
        end_date: date = Field(description="End of the date range (YYYY-MM-DD), inclusive")
        granularity: granularity_type = Field(
            DEFAULT_GRANULARITY, description="Bucket size: " + ", ".join(GRANULARITIES)
        )

        @field_validator("metric", mode="before")
        @classmethod
        def _known_metric(cls, value: object) -> str:
            if value not in metric_names:
                raise ParameterProblem(
                    f"Unknown metric: {value}. Valid values: {', '.join(metric_names)}",
                    {"metric": str(value)},
                )
            return str(value)

        @field_validator("granularity", mode="before")
        @classmethod
        def _known_granularity(cls, value: object) -> str:
            if value not in GRANULARITIES:
                raise ParameterProblem(
                    f"Unknown granularity: {value}. Valid values: {', '.join(GRANULARITIES)}",
                    {"granularity": str(value)},
                )
            return str(value)

        @field_validator("start_date", "end_date", mode="before")
        @classmethod
        def _strict_date(cls, value: object, info: ValidationInfo) -> date:
            return parse_date(info.field_name or "date", value)

        @model_validator(mode="after")
        def _range(self) -> "ActivityQuery":
            dates = {
                "start_date": self.start_date.isoformat(),
                "end_date": self.end_date.isoformat(),
            }
            if self.start_date > self.end_date:
                raise ParameterProblem("start_date must not be after end_date", dates)
            if (self.end_date - self.start_date).days + 1 > max_range_days:
                raise ParameterProblem(f"Date range cannot exceed {max_range_days} days", dates)
            return self

    return create_model(f"{entity.title()}ActivityQuery", __base__=ActivityQuery)


# --- responses -----------------------------------------------------------------------------


class Period(BaseModel):
    start: date = Field(description="The requested start_date")
    end: date = Field(description="The requested end_date")


class DataPoint(BaseModel):
    date: Day = Field(description="First day of the bucket")
    value: int = Field(description="The metric over the bucket's days inside the range")


class ActivitySeries(BaseModel):
    """ActivityTimeSeries: one point per bucket overlapping the range, oldest first."""

    metric: str
    label: str
    period: Period
    data: list[DataPoint]


class ErrorBody(BaseModel):
    code: str = Field(description="authentication_required, invalid_parameter, forbidden, ...")
    message: str
    details: dict[str, Any] = Field(description="The offending values; request_id on a 500")


class ErrorResponse(BaseModel):
    """The contract's error shape."""

    error: ErrorBody


class Health(BaseModel):
    status: str


# Every data endpoint documents the same error statuses, each with the contract's body.
ERROR_RESPONSES: dict[int, type[BaseModel]] = {
    status: ErrorResponse for status in (400, 401, 403, 404, 429, 500)
}

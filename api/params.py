"""Request-parameter rules every endpoint shares: UUIDs, strict dates, date ranges, numbers.

One definition of each, so the activity series and the directory answer the
same bad value with the same 400. Every check raises :class:`ParameterProblem`,
which carries the contract's message text and the offending values, so the
validation callback (``api.errors``) can render them without guessing.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, ClassVar, Self, TypeVar

from flask import has_request_context, request
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
_UUID_RE = re.compile(UUID_PATTERN)
_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
# ASCII digits only (str.isdigit also takes '²' and other scripts' digits) and short enough
# that int() never meets Python's digit limit: every bound here has far fewer digits
_WHOLE_NUMBER_RE = re.compile(r"[0-9]{1,18}")

# A UUID path parameter as the OpenAPI document shows it.
UuidString = Annotated[
    str, WithJsonSchema({"type": "string", "format": "uuid", "pattern": UUID_PATTERN})
]


class ParameterProblem(ValueError):
    """An invalid request value: the message the client reads and the values it names."""

    def __init__(self, message: str, details: dict[str, Any]) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


def parse_uuid(name: str, value: object) -> str:
    """A canonical hyphenated UUID (any case) as the warehouse stores it: lowercase."""
    # fullmatch: the pattern's `$` alone would also accept a trailing newline (`%0A`)
    if not isinstance(value, str) or not _UUID_RE.fullmatch(value):
        raise ParameterProblem(f"Invalid {name}: expected a UUID", {name: str(value)})
    return value.lower()


def parse_date(name: str, value: object) -> date:
    """A strict ``YYYY-MM-DD`` calendar date (no week dates, no times, no compact form)."""
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _DATE_RE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ParameterProblem(f"Invalid {name}: expected a date as YYYY-MM-DD", {name: str(value)})


def whole_number(name: str, value: object, low: int, high: int) -> int:
    """A plain decimal whole number within ``low..high`` (no sign, no exponent, no bool)."""
    text = str(value)
    if (
        isinstance(value, bool)
        or not _WHOLE_NUMBER_RE.fullmatch(text)
        or not low <= int(text) <= high
    ):
        raise ParameterProblem(
            f"Invalid {name}: expected a whole number from {low} to {high}", {name: text}
        )
    return int(text)


_SCHEMAS: dict[type, dict[str, Any]] = {}


class RequestModel(BaseModel):
    """A request-parameter model whose default JSON schema is computed once.

    flask-openapi3 calls ``model_json_schema()`` on every request to find list
    parameters; pydantic rebuilds the schema each time (about half a
    millisecond of CPU per request per model), so the default-argument call is
    memoised per class. Calls with arguments (OpenAPI generation) are passed
    through unchanged.
    """

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        if args or kwargs:
            return super().model_json_schema(*args, **kwargs)
        if cls not in _SCHEMAS:
            _SCHEMAS[cls] = super().model_json_schema()
        return _SCHEMAS[cls]


class QueryModel(RequestModel):
    """Query parameters: each declared one at most once; unknown ones are ignored.

    flask-openapi3 hands the model the first value of a repeated parameter, so
    ``?metric=a&metric=b`` would be answered for ``a`` alone, silently; a
    client that repeats a parameter gets a 400 naming it instead.
    """

    model_config = ConfigDict(extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _each_once(cls, values: Any) -> Any:
        if not has_request_context():
            return values
        repeated = {
            name: given for name in cls.model_fields if len(given := request.args.getlist(name)) > 1
        }
        if repeated:
            raise ParameterProblem(
                "; ".join(
                    f"Invalid {name}: given {len(given)} times; give it once"
                    for name, given in repeated.items()
                ),
                repeated,
            )
        return values


# The range fields, declared by each query model in its own parameter order.
StartDate = Annotated[date, Field(description="Start of the date range (YYYY-MM-DD), inclusive")]
EndDate = Annotated[date, Field(description="End of the date range (YYYY-MM-DD), inclusive")]


class DateRangeQuery(QueryModel):
    """The one date-range rule: ``start_date`` and ``end_date`` are strict dates, in order,
    at most ``max_range_days`` days counted inclusively.

    Subclasses declare the two fields (``StartDate``, ``EndDate``) where their parameter
    order wants them (that order is the order of the messages in a 400); the validators
    here apply to them (``check_fields=False``). The limit is configuration
    (``DAYBOOK_MAX_RANGE_DAYS``), so each app makes its subclass with
    :func:`with_range_limit`.
    """

    max_range_days: ClassVar[int] = 90

    @field_validator("start_date", "end_date", mode="before", check_fields=False)
    @classmethod
    def _strict_date(cls, value: object, info: ValidationInfo) -> date:
        return parse_date(info.field_name or "date", value)

    @model_validator(mode="after")
    def _range(self) -> Self:
        start: date = getattr(self, "start_date")  # noqa: B009 (declared by the subclass)
        end: date = getattr(self, "end_date")  # noqa: B009
        dates = {"start_date": start.isoformat(), "end_date": end.isoformat()}
        if start > end:
            raise ParameterProblem("start_date must not be after end_date", dates)
        if (end - start).days + 1 > self.max_range_days:
            raise ParameterProblem(f"Date range cannot exceed {self.max_range_days} days", dates)
        return self


Q = TypeVar("Q", bound=DateRangeQuery)


def with_range_limit(model: type[Q], name: str, max_range_days: int) -> type[Q]:
    """A subclass of ``model`` named ``name`` (its OpenAPI schema name) with this range limit."""
    return type(model)(name, (model,), {"max_range_days": max_range_days, "__module__": __name__})

"""Parameters and answer of the activity endpoints: one source for validation and OpenAPI.

Path and query models are made per entity when the app starts
(``create_model``), because the metric parameter's allowed values come from
the YAML catalogue and the range limit from configuration; each entity's
OpenAPI operation then lists its own metrics. The rules themselves (UUIDs,
strict dates, the range) are the shared ones of ``api.params``.
"""

from __future__ import annotations

from datetime import date
from datetime import date as Day  # a field below is named `date`
from typing import Annotated

from pydantic import (
    BaseModel,
    Field,
    ValidationInfo,
    WithJsonSchema,
    create_model,
    field_validator,
)

from api.params import (
    DateRangeQuery,
    EndDate,
    ParameterProblem,
    RequestModel,
    StartDate,
    UuidString,
    parse_uuid,
    with_range_limit,
)
from daybook.semantic.calendar import GRANULARITIES

DEFAULT_GRANULARITY = "daily"


class _EntityPath(RequestModel):
    @field_validator("*", mode="before")
    @classmethod
    def _uuid(cls, value: object, info: ValidationInfo) -> str:
        return parse_uuid(info.field_name or "id", value)


def path_model(entity: str) -> type[BaseModel]:
    """``{client_id, <entity>_id}`` path parameters, e.g. ``UserActivityPath``."""
    return create_model(
        f"{entity.title()}ActivityPath",
        __base__=_EntityPath,
        client_id=(UuidString, Field(description="The client organisation's id")),
        **{f"{entity}_id": (UuidString, Field(description=f"The {entity}'s id"))},
    )


def client_path_model(entity: str) -> type[BaseModel]:
    """``{client_id}`` alone: the client-wide series' path parameters (``ClientActivityPath``)."""
    return create_model(
        f"{entity.title()}ActivityPath",
        __base__=_EntityPath,
        client_id=(UuidString, Field(description="The client organisation's id")),
    )


class ActivityQuery(DateRangeQuery):
    """``metric``, the range and ``granularity``; ``metric_names`` is set per entity."""

    metric: str = Field(description="Metric to retrieve")
    start_date: StartDate
    end_date: EndDate
    granularity: Annotated[
        str, WithJsonSchema({"type": "string", "enum": list(GRANULARITIES), "default": "daily"})
    ] = Field(DEFAULT_GRANULARITY, description="Bucket size: " + ", ".join(GRANULARITIES))

    @field_validator("granularity", mode="before")
    @classmethod
    def _known_granularity(cls, value: object) -> str:
        if value not in GRANULARITIES:
            raise ParameterProblem(
                f"Unknown granularity: {value}. Valid values: {', '.join(GRANULARITIES)}",
                {"granularity": str(value)},
            )
        return str(value)


def query_model(entity: str, metric_names: list[str], max_range_days: int) -> type[BaseModel]:
    """One entity's activity query parameters, its metric enum from the catalogue."""
    names = list(metric_names)

    def known_metric(value: object) -> str:
        if value not in names:
            raise ParameterProblem(
                f"Unknown metric: {value}. Valid values: {', '.join(names)}",
                {"metric": str(value)},
            )
        return str(value)

    base = with_range_limit(ActivityQuery, f"_{entity.title()}ActivityQuery", max_range_days)
    return create_model(
        f"{entity.title()}ActivityQuery",
        __base__=base,
        __validators__={"_known_metric": field_validator("metric", mode="before")(known_metric)},
        metric=(
            Annotated[str, WithJsonSchema({"type": "string", "enum": names})],
            Field(description="Metric to retrieve: " + ", ".join(names)),
        ),
    )


# --- the answer ----------------------------------------------------------------------------


class Period(BaseModel):
    start: date = Field(description="The requested start_date")
    end: date = Field(description="The requested end_date")


class DataPoint(BaseModel):
    date: Day = Field(description="First day of the bucket")
    value: int | float | None = Field(
        description="The metric over the bucket's days inside the range: an integer for "
        "count and sum metrics (0 without activity); a number for ratio, derived and "
        "average metrics, null where the metric has no value (a zero denominator)"
    )


class ActivitySeries(BaseModel):
    """ActivityTimeSeries: one point per bucket overlapping the range, oldest first."""

    metric: str
    label: str
    period: Period
    data: list[DataPoint]

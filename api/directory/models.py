"""Parameters and answers of the directory endpoints, in pydantic: validation and OpenAPI in one.

Invalid values raise the API's :class:`~api.params.ParameterProblem`, so they are
answered like the activity endpoints' (400 ``invalid_parameter`` naming the
value), with the same date rules and the same range limit. The answers about an
entity (a page of users, the most active devices) are made per entity of the
semantic registry when the app starts (:func:`entity_answers`), so an entity
added as YAML gets its own documented answer shapes.
"""

from dataclasses import dataclass
from datetime import date
from typing import Annotated

from pydantic import BaseModel, Field, WithJsonSchema, create_model, field_validator

from api.activity_models import Period
from api.params import (
    DateRangeQuery,
    EndDate,
    ParameterProblem,
    QueryModel,
    RequestModel,
    StartDate,
    UuidString,
    parse_uuid,
    whole_number,
)
from daybook.semantic.definitions import Entity

MAX_PAGE = 1000
MAX_TOP = 50
MAX_SEARCH = 200


class ClientPath(RequestModel):
    client_id: UuidString = Field(description="The client organisation's id")

    @field_validator("client_id", mode="before")
    @classmethod
    def _uuid(cls, value: object) -> str:
        return parse_uuid("client_id", value)


class ListQuery(QueryModel):
    """Paging and an optional case-insensitive search over the id and the text columns."""

    search: str = Field("", description="Case-insensitive text to find in the id, name or detail")
    limit: Annotated[
        int, WithJsonSchema({"type": "integer", "minimum": 1, "maximum": MAX_PAGE})
    ] = Field(100, description=f"Page size, 1 to {MAX_PAGE}")
    offset: Annotated[int, WithJsonSchema({"type": "integer", "minimum": 0})] = Field(
        0, description="Rows to skip"
    )

    @field_validator("search", mode="before")
    @classmethod
    def _search(cls, value: object) -> str:
        text = str(value)
        if len(text) > MAX_SEARCH:
            raise ParameterProblem(
                f"Invalid search: at most {MAX_SEARCH} characters", {"search": text[:50]}
            )
        if "\x00" in text:  # no database takes a NUL inside text
            raise ParameterProblem(
                "Invalid search: it holds a NUL character", {"search": text[:50]}
            )
        return text.strip()

    @field_validator("limit", mode="before")
    @classmethod
    def _limit(cls, value: object) -> int:
        return whole_number("limit", value, 1, MAX_PAGE)

    @field_validator("offset", mode="before")
    @classmethod
    def _offset(cls, value: object) -> int:
        return whole_number("offset", value, 0, 10**9)


class TopQuery(DateRangeQuery):
    """The ranking's range, under the same rules as the activity series; ``create_app``
    sets the configured range limit (``api.params.with_range_limit``)."""

    start_date: StartDate
    end_date: EndDate
    limit: Annotated[int, WithJsonSchema({"type": "integer", "minimum": 1, "maximum": MAX_TOP})] = (
        Field(10, description=f"How many to rank, 1 to {MAX_TOP}")
    )

    @field_validator("limit", mode="before")
    @classmethod
    def _limit(cls, value: object) -> int:
        return whole_number("limit", value, 1, MAX_TOP)


# --- answers -------------------------------------------------------------------------------


class Client(BaseModel):
    client_id: str
    name: str | None
    timezone: str | None = Field(
        description="IANA time zone; activity days are local days in it (null when the"
        " delivered zone is not a valid IANA name: its heartbeats are quarantined)"
    )
    first_activity_date: date | None = Field(description="First local day with activity, if any")
    last_activity_date: date | None = Field(description="Last local day with activity, if any")


class ClientList(BaseModel):
    """The clients this token is granted, that exist."""

    data: list[Client]


@dataclass(frozen=True)
class EntityAnswers:
    """One entity's directory answers: a page of the listing, and the ranking."""

    page: type[BaseModel]
    top: type[BaseModel]


def entity_answers(entity: Entity) -> EntityAnswers:
    """``UserPage``/``TopUsers`` and the like, made from the registry when the app starts:
    the item holds the entity's key and display columns (``semantic/entities.yml``)."""
    title, plural = entity.name.title(), entity.plural
    item = create_model(
        title,
        **{entity.key: (str, ...)},
        **{name: (str | None, ...) for name in entity.display_columns},
    )
    ranked = create_model(
        f"Ranked{title}",
        __base__=item,
        total_activity=(int, Field(description="Total activity over the range")),
    )
    order = (
        f", ordered by {entity.display_columns[0].replace('_', ' ')}"
        if entity.display_columns
        else ""
    )
    page = create_model(
        f"{title}Page",
        __doc__=f"One page of a client's {plural}{order}.",
        data=(list[item], ...),  # type: ignore[valid-type]
        total=(int, Field(description=f"How many {plural} match, over all pages")),
        limit=(int, ...),
        offset=(int, ...),
    )
    top = create_model(
        f"Top{title}s",
        __doc__=f"The client's most active {plural} over the range, by total activity, "
        "most active first.",
        metric=(str, "activity-count"),
        period=(Period, ...),
        data=(list[ranked], ...),  # type: ignore[valid-type]
    )
    return EntityAnswers(page=page, top=top)

"""Parameters and answers of the directory endpoints, in pydantic: validation and OpenAPI in one.

Invalid values raise the API's :class:`~api.params.ParameterProblem`, so they are
answered like the activity endpoints' (400 ``invalid_parameter`` naming the
value), with the same date rules and the same range limit.
"""

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator

from api.activity_models import Period
from api.params import (
    DateRangeQuery,
    EndDate,
    ParameterProblem,
    RequestModel,
    StartDate,
    UuidString,
    parse_uuid,
    whole_number,
)

MAX_PAGE = 1000
MAX_TOP = 50
MAX_SEARCH = 200


class ClientPath(RequestModel):
    client_id: UuidString = Field(description="The client organisation's id")

    @field_validator("client_id", mode="before")
    @classmethod
    def _uuid(cls, value: object) -> str:
        return parse_uuid("client_id", value)


class ListQuery(RequestModel):
    """Paging and an optional case-insensitive search over the id and the text columns."""

    model_config = ConfigDict(extra="ignore")

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
        if len(text) > MAX_SEARCH or "\x00" in text:
            raise ParameterProblem(
                f"Invalid search: at most {MAX_SEARCH} characters of text", {"search": text[:50]}
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

    model_config = ConfigDict(extra="ignore")

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


class User(BaseModel):
    user_id: str
    display_name: str | None
    email: str | None


class Device(BaseModel):
    device_id: str
    hostname: str | None
    platform: str | None


class UserPage(BaseModel):
    """One page of a client's users, ordered by display name."""

    data: list[User]
    total: int = Field(description="How many users match, over all pages")
    limit: int
    offset: int


class DevicePage(BaseModel):
    """One page of a client's devices, ordered by hostname."""

    data: list[Device]
    total: int = Field(description="How many devices match, over all pages")
    limit: int
    offset: int


class RankedUser(User):
    total_activity: int = Field(description="Total activity over the range")


class RankedDevice(Device):
    total_activity: int = Field(description="Total activity over the range")


class TopUsers(BaseModel):
    """The client's most active users over the range, by total activity, most active first."""

    metric: str = "activity-count"
    period: Period
    data: list[RankedUser]


class TopDevices(BaseModel):
    """The client's most active devices over the range, by total activity, most active first."""

    metric: str = "activity-count"
    period: Period
    data: list[RankedDevice]

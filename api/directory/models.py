"""Parameters and answers of the directory endpoints, in pydantic: validation and OpenAPI in one.

Invalid values raise the API's :class:`~api.models.ParameterProblem`, so they are
answered like the activity endpoints' (400 ``invalid_parameter`` naming the
value), with the same date rules and the same range limit.
"""

from datetime import date
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    WithJsonSchema,
    create_model,
    field_validator,
    model_validator,
)

from api.models import UUID_PATTERN, ParameterProblem, Period, parse_date, parse_uuid

MAX_PAGE = 1000
MAX_TOP = 50
MAX_SEARCH = 200


def _whole_number(name: str, value: object, low: int, high: int) -> int:
    text = str(value)
    if isinstance(value, bool) or not text.isdigit() or not low <= int(text) <= high:
        raise ParameterProblem(
            f"Invalid {name}: expected a whole number from {low} to {high}", {name: text}
        )
    return int(text)


class ClientPath(BaseModel):
    client_id: Annotated[
        str, WithJsonSchema({"type": "string", "format": "uuid", "pattern": UUID_PATTERN})
    ] = Field(description="The client organisation's id")

    @field_validator("client_id", mode="before")
    @classmethod
    def _uuid(cls, value: object) -> str:
        return parse_uuid("client_id", value)


class ListQuery(BaseModel):
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
        return _whole_number("limit", value, 1, MAX_PAGE)

    @field_validator("offset", mode="before")
    @classmethod
    def _offset(cls, value: object) -> int:
        return _whole_number("offset", value, 0, 10**9)


def top_query_model(max_range_days: int) -> type[BaseModel]:
    """The ranking's range parameters, under the same rules and limit as the activity series."""

    class TopQuery(BaseModel):
        model_config = ConfigDict(extra="ignore")

        start_date: date = Field(description="Start of the date range (YYYY-MM-DD), inclusive")
        end_date: date = Field(description="End of the date range (YYYY-MM-DD), inclusive")
        limit: Annotated[
            int, WithJsonSchema({"type": "integer", "minimum": 1, "maximum": MAX_TOP})
        ] = Field(10, description=f"How many to rank, 1 to {MAX_TOP}")

        @field_validator("start_date", "end_date", mode="before")
        @classmethod
        def _strict_date(cls, value: object, info: Any) -> date:
            return parse_date(info.field_name or "date", value)

        @field_validator("limit", mode="before")
        @classmethod
        def _limit(cls, value: object) -> int:
            return _whole_number("limit", value, 1, MAX_TOP)

        @model_validator(mode="after")
        def _range(self) -> "TopQuery":
            dates = {
                "start_date": self.start_date.isoformat(),
                "end_date": self.end_date.isoformat(),
            }
            if self.start_date > self.end_date:
                raise ParameterProblem("start_date must not be after end_date", dates)
            if (self.end_date - self.start_date).days + 1 > max_range_days:
                raise ParameterProblem(f"Date range cannot exceed {max_range_days} days", dates)
            return self

    return create_model("TopQuery", __base__=TopQuery)


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


class EntityInfo(BaseModel):
    name: str = Field(description="Entity name, as in the activity endpoint's path: user, device")
    label: str
    description: str


class MetricInfo(BaseModel):
    name: str = Field(description="The value of the activity endpoints' metric parameter")
    label: str = Field(description="The label the series carries")
    description: str
    entities: list[str] = Field(description="The entities whose activity endpoint serves it")


class MetricCatalogue(BaseModel):
    """Every metric of the YAML catalogue, and the entities they are served for."""

    data: list[MetricInfo]
    entities: list[EntityInfo]


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

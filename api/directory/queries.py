"""The directory's SQL, built as sqlglot trees and rendered once per dialect.

Every request value is a placeholder (``?`` on DuckDB, ``%s`` on PostgreSQL)
bound by the driver; the identifiers are constants of this module, matching
the marts' documented columns (docs/ARCHITECTURE.md). Rendered SQL is cached
per (statement, dialect), so a request costs a dictionary lookup.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from sqlglot import exp, select
from sqlglot.expressions import column

from api.warehouse_reader import CLIENT_KEY, CLIENT_MODEL

ACTIVITY_MODEL = "fct_activity_daily"
ACTIVITY_MEASURE = "total_activity_count"
ACTIVITY_DATE = "activity_date"
TENANT_KEY = CLIENT_KEY


@dataclass(frozen=True)
class Listing:
    """How one entity kind is listed: its dimension, key and the text columns shown and searched."""

    entity: str
    model: str
    key: str
    columns: tuple[str, ...]

    @property
    def searched(self) -> tuple[str, ...]:
        """Columns a search text is looked for in: the id and every text column."""
        return (self.key, *self.columns)


LISTINGS = {
    "user": Listing("user", "dim_users", "user_id", ("display_name", "email")),
    "device": Listing("device", "dim_devices", "device_id", ("hostname", "platform")),
}


def _value() -> exp.Placeholder:
    return exp.Placeholder()


def _day() -> exp.Expression:
    """A date placeholder cast to DATE, so the comparison is on dates whatever the driver binds."""
    return exp.cast(exp.Placeholder(), exp.DataType.Type.DATE)


@lru_cache(maxsize=8)
def clients_sql(dialect: str) -> str:
    """Every client with its first and last local day of activity (no parameters)."""
    day = column(ACTIVITY_DATE, table="a")
    query = (
        select(
            column(TENANT_KEY, table="c"),
            column("client_name", table="c"),
            column("timezone", table="c"),
            exp.alias_(exp.Min(this=day), "first_activity_date"),
            exp.alias_(exp.Max(this=day.copy()), "last_activity_date"),
        )
        .from_(exp.to_table(CLIENT_MODEL).as_("c"))
        .join(
            exp.to_table(ACTIVITY_MODEL).as_("a"),
            on=column(TENANT_KEY, table="a").eq(column(TENANT_KEY, table="c")),
            join_type="left",
        )
        .group_by(
            column(TENANT_KEY, table="c"),
            column("client_name", table="c"),
            column("timezone", table="c"),
        )
        .order_by(exp.Lower(this=column("client_name", table="c")), column(TENANT_KEY, table="c"))
    )
    return query.sql(dialect=dialect)


@lru_cache(maxsize=8)
def client_exists_sql(dialect: str) -> str:
    """Parameters: client id."""
    query = (
        select(exp.Count(this=exp.Star()))
        .from_(CLIENT_MODEL)
        .where(column(TENANT_KEY).eq(_value()))
    )
    return query.sql(dialect=dialect)


def _contains(name: str) -> exp.Expression:
    """Case-insensitive literal substring test (no LIKE, so ``%`` and ``_`` are plain text)."""
    text = exp.Lower(this=exp.Coalesce(this=column(name), expressions=[exp.Literal.string("")]))
    position = exp.StrPosition(this=text, substr=_value())
    return exp.GT(this=position, expression=exp.Literal.number(0))


def _listing_filter(listing: Listing, search: bool) -> exp.Expression:
    tenant = column(TENANT_KEY).eq(_value())
    if not search:
        return tenant
    return exp.and_(tenant, exp.or_(*(_contains(name) for name in listing.searched)))


@lru_cache(maxsize=32)
def list_sql(entity: str, search: bool, dialect: str) -> tuple[str, str]:
    """(page, count) statements for one client's users or devices, optionally searched.

    Parameters: client id, then the lowercased search text once per searched
    column (when searching), then limit and offset (page only).
    """
    listing = LISTINGS[entity]
    page = (
        select(*listing.searched)
        .from_(listing.model)
        .where(_listing_filter(listing, search))
        .order_by(exp.Lower(this=column(listing.columns[0])), column(listing.key))
        .limit(_value())
        .offset(_value())
    )
    count = (
        select(exp.Count(this=exp.Star()))
        .from_(listing.model)
        .where(_listing_filter(listing, search))
    )
    return page.sql(dialect=dialect), count.sql(dialect=dialect)


@lru_cache(maxsize=8)
def top_sql(entity: str, dialect: str) -> str:
    """A client's users or devices ranked by total activity over a date range, busiest first.

    Parameters: client id, start date, end date, limit. Only entities with some
    activity in the range are ranked; ties go to the smaller id, so answers are stable.
    """
    listing = LISTINGS[entity]
    key = column(listing.key, table="a")
    shown = [column(name, table="e") for name in listing.columns]
    total = exp.Sum(this=column(ACTIVITY_MEASURE, table="a"))
    query = (
        select(key, *shown, exp.alias_(total, "total_activity"))
        .from_(exp.to_table(ACTIVITY_MODEL).as_("a"))
        .join(
            exp.to_table(listing.model).as_("e"),
            on=exp.and_(
                column(listing.key, table="e").eq(key.copy()),
                column(TENANT_KEY, table="e").eq(column(TENANT_KEY, table="a")),
            ),
        )
        .where(
            exp.and_(
                column(TENANT_KEY, table="a").eq(_value()),
                exp.Between(this=column(ACTIVITY_DATE, table="a"), low=_day(), high=_day()),
            )
        )
        .group_by(key.copy(), *(c.copy() for c in shown))
        .having(exp.GT(this=total.copy(), expression=exp.Literal.number(0)))
        .order_by(exp.Ordered(this=column("total_activity"), desc=True), key.copy())
        .limit(_value())
    )
    return query.sql(dialect=dialect)


def warm(dialect: str) -> None:
    """Generate every directory query for ``dialect`` now, at start-up, before request threads."""
    clients_sql(dialect)
    client_exists_sql(dialect)
    for entity in LISTINGS:
        top_sql(entity, dialect)
        for search in (False, True):
            list_sql(entity, search, dialect)

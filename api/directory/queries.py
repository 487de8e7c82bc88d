"""The directory's SQL: written once in DuckDB's dialect and transpiled by sqlglot per backend.

Every request value is a ``?`` placeholder (``%s`` on PostgreSQL after
transpiling) bound by the driver; the identifiers are constants of this module,
matching the marts' documented columns (docs/ARCHITECTURE.md). Each statement
is transpiled once per dialect and cached.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sqlglot


@dataclass(frozen=True)
class Listing:
    """How one entity kind is listed: its dimension, key and the text columns shown and searched."""

    entity: str
    model: str
    key: str
    columns: tuple[str, ...]
    order_by: str


LISTINGS = {
    "user": Listing("user", "dim_users", "user_id", ("display_name", "email"), "display_name"),
    "device": Listing("device", "dim_devices", "device_id", ("hostname", "platform"), "hostname"),
}

CLIENTS = """
select c.client_id, c.client_name, c.timezone,
       min(a.activity_date) as first_activity_date,
       max(a.activity_date) as last_activity_date
from dim_clients as c
left join fct_activity_daily as a on a.client_id = c.client_id
group by c.client_id, c.client_name, c.timezone
order by lower(c.client_name), c.client_id
"""

CLIENT_EXISTS = "select count(*) from dim_clients where client_id = ?"


@lru_cache(maxsize=32)
def transpile(sql: str, dialect: str) -> str:
    """``sql`` (DuckDB dialect, ``?`` placeholders) in ``dialect``."""
    return sqlglot.transpile(sql, read="duckdb", write=dialect)[0]


def _matches(listing: Listing) -> str:
    """A case-insensitive substring test on the id and each text column, one ``?`` each."""
    searched = (listing.key, *listing.columns)
    tests = [f"strpos(lower(coalesce({column}, '')), ?) > 0" for column in searched]
    return "(" + " or ".join(tests) + ")"


def list_sql(listing: Listing, *, search: bool) -> tuple[str, str]:
    """(page, count) statements for one client's entities, optionally filtered by a search.

    Parameters: client id, then the lowercased search once per searched column
    (when searching), then limit and offset (page only).
    """
    where = "client_id = ?" + (f" and {_matches(listing)}" if search else "")
    columns = ", ".join((listing.key, *listing.columns))
    page = (
        f"select {columns} from {listing.model} where {where} "
        f"order by lower({listing.order_by}), {listing.key} limit ? offset ?"
    )
    count = f"select count(*) from {listing.model} where {where}"
    return page, count


def search_parameter_count(listing: Listing) -> int:
    """How many times the search text is bound (once per searched column)."""
    return 1 + len(listing.columns)


def top_sql(listing: Listing) -> str:
    """A client's entities ranked by total activity over a date range, most active first.

    Parameters: client id, start date, end date, limit. Only entities with some
    activity in the range are ranked; ties go to the smaller id, so pages are stable.
    """
    columns = ", ".join(f"e.{column}" for column in listing.columns)
    return (
        f"select a.{listing.key}, {columns}, sum(a.total_activity_count) as total_activity "
        f"from fct_activity_daily as a "
        f"join {listing.model} as e on e.{listing.key} = a.{listing.key} "
        f"and e.client_id = a.client_id "
        f"where a.client_id = ? and a.activity_date between ? and ? "
        f"group by a.{listing.key}, {columns} "
        f"having sum(a.total_activity_count) > 0 "
        f"order by total_activity desc, a.{listing.key} limit ?"
    )

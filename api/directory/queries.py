"""The directory's SQL, built as sqlglot trees from the semantic registry, rendered once.

Which marts and columns are read comes from ``semantic/entities.yml``
(:class:`daybook.semantic.registry.Registry`): the tenant's dimension, each
entity's dimension, key and display columns, and the activity fact. So an
entity added as YAML is listed and ranked with no change here. Every request
value is a placeholder (``?`` on DuckDB, ``%s`` on PostgreSQL) bound by the
driver. :class:`DirectoryQueries` renders every statement for one dialect when
the app is made, before request threads run, so a request costs a lookup.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp, select
from sqlglot.expressions import column

from daybook.semantic.definitions import Entity
from daybook.semantic.registry import Registry

# Columns of the contract's answers, not mart names: the tenant's name and time zone,
# and the activity fact's total (what the rankings rank by).
CLIENT_NAME = "client_name"
CLIENT_TIMEZONE = "timezone"
ACTIVITY_MEASURE = "total_activity_count"


@dataclass(frozen=True)
class Listing:
    """How one entity is listed: its dimension, key and the text columns shown and searched."""

    entity: str
    model: str
    key: str
    columns: tuple[str, ...]

    @classmethod
    def of(cls, entity: Entity) -> Listing:
        return cls(entity.name, entity.model, entity.key, entity.display_columns)

    @property
    def searched(self) -> tuple[str, ...]:
        """Columns a search text is looked for in: the id and every text column."""
        return (self.key, *self.columns)

    @property
    def order(self) -> tuple[exp.Expression, ...]:
        """First text column, case-insensitively, then the id (a stable page order)."""
        first = (exp.Lower(this=column(self.columns[0])),) if self.columns else ()
        return (*first, column(self.key))


def _value() -> exp.Placeholder:
    return exp.Placeholder()


def _day() -> exp.Expression:
    """A date placeholder cast to DATE, so the comparison is on dates whatever the driver binds."""
    return exp.cast(exp.Placeholder(), exp.DataType.Type.DATE)


def _contains(name: str) -> exp.Expression:
    """Case-insensitive literal substring test (no LIKE, so ``%`` and ``_`` are plain text)."""
    text = exp.Lower(this=exp.Coalesce(this=column(name), expressions=[exp.Literal.string("")]))
    position = exp.StrPosition(this=text, substr=_value())
    return exp.GT(this=position, expression=exp.Literal.number(0))


@dataclass
class DirectoryQueries:
    """Every directory statement for one dialect, rendered at construction."""

    registry: Registry
    dialect: str
    listings: dict[str, Listing] = field(init=False)
    ranked: tuple[str, ...] = field(init=False)  # entities the activity fact can rank
    clients_sql: str = field(init=False)
    client_exists_sql: str = field(init=False)
    _lists: dict[tuple[str, bool], tuple[str, str]] = field(init=False, repr=False)
    _tops: dict[str, str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        tenant = self.registry.require_tenant()
        self.listings = {e.name: Listing.of(e) for e in self.registry.listed_entities()}
        self.ranked = tuple(entity.name for entity in self.registry.activity_entities())
        self.clients_sql = self._clients()
        self.client_exists_sql = (
            select(exp.Count(this=exp.Star()))
            .from_(tenant.model)
            .where(column(tenant.key).eq(_value()))
            .sql(dialect=self.dialect)
        )
        self._lists = {
            (name, search): self._list(listing, search)
            for name, listing in self.listings.items()
            for search in (False, True)
        }
        self._tops = {name: self._top(self.listings[name]) for name in self.ranked}

    def list_sql(self, entity: str, search: bool) -> tuple[str, str]:
        """(page, count) statements for one client's entities, optionally searched.

        Parameters: client id, then the lowercased search text once per searched
        column (when searching), then limit and offset (page only).
        """
        return self._lists[(entity, search)]

    def top_sql(self, entity: str) -> str:
        """A client's entities ranked by total activity over a date range, busiest first.

        Parameters: client id, start date, end date, limit. Only entities with some
        activity in the range are ranked; ties go to the smaller id, so answers are stable.
        """
        return self._tops[entity]

    def _clients(self) -> str:
        """Every client with its first and last local day of activity (no parameters)."""
        tenant, activity = self.registry.require_tenant(), self.registry.activity
        key = tenant.key
        day = column(self.registry.day_column, table="a")
        shown = (column(CLIENT_NAME, table="c"), column(CLIENT_TIMEZONE, table="c"))
        query = (
            select(
                column(key, table="c"),
                *shown,
                exp.alias_(exp.Min(this=day), "first_activity_date"),
                exp.alias_(exp.Max(this=day.copy()), "last_activity_date"),
            )
            .from_(exp.to_table(tenant.model).as_("c"))
            .join(
                exp.to_table(activity.model).as_("a"),
                on=column(key, table="a").eq(column(key, table="c")),
                join_type="left",
            )
            .group_by(column(key, table="c"), *(c.copy() for c in shown))
            .order_by(exp.Lower(this=column(CLIENT_NAME, table="c")), column(key, table="c"))
        )
        return query.sql(dialect=self.dialect)

    def _filter(self, listing: Listing, search: bool) -> exp.Expression:
        tenant = column(self.registry.entities[listing.entity].tenant_key).eq(_value())
        if not search:
            return tenant
        return exp.and_(tenant, exp.or_(*(_contains(name) for name in listing.searched)))

    def _list(self, listing: Listing, search: bool) -> tuple[str, str]:
        page = (
            select(*listing.searched)
            .from_(listing.model)
            .where(self._filter(listing, search))
            .order_by(*listing.order)
            .limit(_value())
            .offset(_value())
        )
        count = (
            select(exp.Count(this=exp.Star()))
            .from_(listing.model)
            .where(self._filter(listing, search))
        )
        return page.sql(dialect=self.dialect), count.sql(dialect=self.dialect)

    def _top(self, listing: Listing) -> str:
        tenant_key = self.registry.entities[listing.entity].tenant_key
        key = column(listing.key, table="a")
        shown = [column(name, table="e") for name in listing.columns]
        total = exp.Sum(this=column(ACTIVITY_MEASURE, table="a"))
        query = (
            select(key, *shown, exp.alias_(total, "total_activity"))
            .from_(exp.to_table(self.registry.activity.model).as_("a"))
            .join(
                exp.to_table(listing.model).as_("e"),
                on=exp.and_(
                    column(listing.key, table="e").eq(key.copy()),
                    column(tenant_key, table="e").eq(column(tenant_key, table="a")),
                ),
            )
            .where(
                exp.and_(
                    column(tenant_key, table="a").eq(_value()),
                    exp.Between(
                        this=column(self.registry.day_column, table="a"), low=_day(), high=_day()
                    ),
                )
            )
            .group_by(key.copy(), *(c.copy() for c in shown))
            .having(exp.GT(this=total.copy(), expression=exp.Literal.number(0)))
            .order_by(exp.Ordered(this=column("total_activity"), desc=True), key.copy())
            .limit(_value())
        )
        return query.sql(dialect=self.dialect)

"""Parameter markers are a dialect's rendering, and every marker style binds the right values.

The named, numbered and unnamed (``?``) styles are rendered from the same tree
by the executed backends' own generators, run there, and compared with the
plain-Python reference: a wrong binding order (say, tenant and entity swapped,
or a start date bound where an end date belongs) gives a different answer.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from reference import Reference, series
from sqlglot import exp
from sqlglot.dialects.duckdb import DuckDB
from sqlglot.dialects.postgres import Postgres

from daybook.semantic import Catalog
from daybook.semantic.dialects import DIALECTS, PARAMETER_NAMES, build_dialect
from daybook.semantic.metric_sql import SHAPES
from daybook.semantic.query import render
from semantic.marts import FACT_COLUMNS, fact_row, replace_fact_rows

ROWS = [
    fact_row("c-1", date(2026, 1, 2), "u-1", "d-1", (1, 0, 0, 0, 0), 1),
    fact_row("c-1", date(2026, 1, 7), "u-1", "d-2", (0, 2, 0, 0, 0), 1),
    fact_row("c-1", date(2026, 2, 20), "u-2", "d-1", (0, 0, 4, 0, 0), 1),
    fact_row("c-2", date(2026, 1, 7), "u-1", "d-1", (0, 0, 0, 8, 0), 1),  # another tenant
    fact_row("c-1", date(2026, 4, 1), "u-1", "d-1", (0, 0, 0, 0, 16), 1),  # after the range
]
STYLES = {
    "duckdb": {
        "named": DIALECTS["duckdb"],
        "numeric": build_dialect("duckdb", DuckDB, "numeric"),
        "qmark": build_dialect("duckdb", DuckDB, "qmark"),
    },
    # psycopg binds %(name)s from a dict and %s from a sequence
    "postgres": {
        "named": DIALECTS["postgres"],
        "qmark": build_dialect("postgres", Postgres, "qmark"),
    },
}
CASES = [(backend, style) for backend, styles in STYLES.items() for style in styles]


def _tree(
    catalog: Catalog, metric: str, entity: str, granularity: str, shape: str
) -> exp.Expression:
    """The dialect-neutral tree the catalogue compiles for this key (any dialect's query
    holds the same tree; each test renders it with its own generator)."""
    return catalog.compile(
        metric=metric, entity=entity, granularity=granularity, dialect="duckdb", shape=shape
    ).tree


def _reference(metric: str, entity: str, entity_id: str, granularity: str) -> list[tuple]:
    activity = {}
    for row in ROWS:
        values = dict(zip(FACT_COLUMNS, row, strict=True))
        key = (values["client_id"], values["activity_date"], values["user_id"], values["device_id"])
        activity[key] = {name: values[name] for name in FACT_COLUMNS[4:]}
    return series(
        Reference(activity=activity),
        entity=entity,
        client_id="c-1",
        entity_id=entity_id,
        metric=metric,
        start=date(2026, 1, 1),
        end=date(2026, 3, 31),
        granularity=granularity,
    )


@pytest.mark.parametrize(("backend", "style"), CASES)
@pytest.mark.parametrize(
    ("metric", "entity", "entity_id", "granularity"),
    [
        ("activity-count", "user", "u-1", "weekly"),
        ("activity-count", "device", "d-1", "monthly"),
        ("user-count", "device", "d-1", "quarterly"),
    ],
)
def test_every_marker_style_binds_the_request_values(
    request: pytest.FixtureRequest,
    catalog: Catalog,
    backend: str,
    style: str,
    metric: str,
    entity: str,
    entity_id: str,
    granularity: str,
) -> None:
    con = request.getfixturevalue(f"{backend}_marts")
    replace_fact_rows(con, ROWS, backend=backend)
    dialect = STYLES[backend][style]
    tree = _tree(catalog, metric, entity, granularity, "series")
    sql, order = render(tree, dialect)
    values = {
        "tenant_id": "c-1",
        "entity_id": entity_id,
        "start_date": date(2026, 1, 1),
        "end_date": date(2026, 3, 31),
    }
    if style == "named":
        params: dict | list = values
    elif style == "numeric":
        params = [values[name] for name in PARAMETER_NAMES]
    else:
        assert len(order) == 6  # the spine's two dates, then the fact's four filters
        params = [values[name] for name in order]
    got = [tuple(row) for row in con.execute(sql, params).fetchall()]
    assert got == _reference(metric, entity, entity_id, granularity)


def test_markers_are_each_dialects_own_rendering(catalog: Catalog) -> None:
    """Named placeholders in the tree; the dialect's generator writes its driver's marker."""
    tree = _tree(catalog, "activity-count", "user", "daily", "buckets")
    expected = {
        "duckdb": "client_id = $tenant_id",
        "postgres": "client_id = %(tenant_id)s",
        "bigquery": "client_id = @tenant_id",
        "spark": "client_id = :tenant_id",
        "databricks": "client_id = :tenant_id",
        "snowflake": "client_id = :1",
        "trino": "client_id = ?",
    }
    assert set(expected) == set(DIALECTS)
    for name, fragment in expected.items():
        assert fragment in render(tree, DIALECTS[name])[0], name


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("dialect", list(DIALECTS))
def test_unnamed_markers_bind_in_text_order_or_are_refused(
    catalog: Catalog, dialect: str, shape: str
) -> None:
    """Every dialect's generator with ``?`` markers (Trino's, which no test can execute):
    the order ``render`` reports is the order in which the same generator, writing named
    markers, puts the names into the SQL text; or, where the generator repeats a value
    (Snowflake's date series), compiling with ``?`` is refused instead of binding wrongly."""
    base = DIALECTS[dialect].sqlglot.__mro__[1]  # sqlglot's own dialect under Daybook's
    named, qmark = build_dialect(dialect, base, "named"), build_dialect(dialect, base, "qmark")
    names = re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(PARAMETER_NAMES) + r")(?![A-Za-z0-9_])")
    for metric in [m for m in catalog.metrics.values() if m.simple]:  # the API's usual
        for entity in metric.entities:
            for granularity in ("daily", "weekly"):
                tree = _tree(catalog, metric.name, entity, granularity, shape)
                in_text = tuple(names.findall(named.generate(tree)))
                if len(in_text) != len(list(tree.find_all(exp.Placeholder))):
                    with pytest.raises(ValueError, match="repeats a request value"):
                        render(tree, qmark)
                    continue
                assert render(tree, qmark)[1] == in_text, (dialect, metric.name)

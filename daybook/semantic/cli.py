"""``daybook metrics`` and ``daybook sql``: the semantic catalogue from the command line.

Both load the catalogue the way the API does (``DAYBOOK_SEMANTIC_DIR``,
``DAYBOOK_DBT_MANIFEST``), so what they print is what the API serves. Errors
are one line on stderr and exit code 1, never a traceback.
"""

from __future__ import annotations

import click

from daybook.semantic.calendar import GRANULARITIES
from daybook.semantic.catalog import Catalog
from daybook.semantic.dialects import DIALECTS
from daybook.semantic.errors import SemanticError
from daybook.semantic.loader import load_catalog
from daybook.semantic.metric_sql import SHAPES

# other spellings of a dialect: the URL scheme ``postgresql://`` names PostgreSQL too
DIALECT_ALIASES = {"postgresql": "postgres"}


def _catalog() -> Catalog:
    try:
        return load_catalog()
    except SemanticError as error:
        raise click.ClickException(str(error)) from None


def _default_dialect() -> str:
    """The configured warehouse's dialect, so ``daybook sql`` matches what the API runs."""
    from daybook.config import ConfigError, warehouse_from_env

    try:
        return warehouse_from_env().dialect
    except ConfigError:
        return "duckdb"


@click.command()
def metrics() -> None:
    """List metrics: name, label, entities, description."""
    catalog = _catalog()
    rows = [("NAME", "LABEL", "ENTITIES", "DESCRIPTION")]
    rows += [
        (m.name, m.label, ",".join(m.entities), " ".join(m.description.split()))
        for m in catalog.metrics.values()
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        click.echo(
            "  ".join(
                [*(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)), row[3]]
            )
        )


@click.command()
@click.option("--metric", "metric_name", required=True, help="Metric name (see `daybook metrics`).")
@click.option(
    "--entity",
    required=True,
    help="Entity the metric is asked about: user, device or client (the whole client).",
)
@click.option(
    "--granularity",
    default="daily",
    show_default=True,
    help=f"Bucket size: {', '.join(GRANULARITIES)}.",
)
@click.option(
    "--dialect",
    default=None,
    help=(
        f"SQL dialect: {', '.join(DIALECTS)} (postgresql too; default: the configured warehouse's)."
    ),
)
@click.option(
    "--shape",
    type=click.Choice(list(SHAPES)),
    default="series",
    show_default=True,
    help=(
        "series: every bucket of the range, in SQL; buckets: only buckets with data (as the "
        "API runs; metrics that need the day spine give the series)."
    ),
)
def sql(metric_name: str, entity: str, granularity: str, dialect: str | None, shape: str) -> None:
    """Print the compiled, formatted SQL of a metric request."""
    dialect = DIALECT_ALIASES.get(dialect, dialect) if dialect else _default_dialect()
    catalog = _catalog()
    if metric_name not in catalog.metrics:
        api_names = {metric.dbt_name: name for name, metric in catalog.metrics.items()}
        if metric_name in api_names:  # dbt's name: say the one the API and this command take
            raise click.ClickException(
                f"Unknown metric: {metric_name} is dbt's name; the API's (and this "
                f"command's) is {api_names[metric_name]}: --metric {api_names[metric_name]}"
            )
    try:
        query = catalog.compile(
            metric=metric_name, entity=entity, granularity=granularity, dialect=dialect, shape=shape
        )
    except SemanticError as error:
        raise click.ClickException(str(error)) from None
    style = query.dialect.param_style
    click.echo(
        f"-- {metric_name} per {entity}, {granularity}, {dialect}; "
        f"bound parameters ({style}): {', '.join(query.parameter_order)}"
    )
    click.echo(query.pretty_sql() + ";")

"""The sample warehouse both sides read: generated, loaded and built by Daybook itself.

The same steps as ``daybook generate``/``load``/``build`` (their Python functions), into
a folder of the caller's, on DuckDB. The client compared is one whose time zone is UTC,
so its tenant-local days are MetricFlow's days too. The ranges compared are cut from
the generator's window (not from the client's first and last active day), so a quiet
first day of the window does not cost a whole month or quarter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from daybook.config import Warehouse, parse_database_url
from daybook.dbt_artifacts import DbtArtifacts

RAW_TABLES = ("clients", "users", "devices", "heartbeats")


class CrosscheckError(RuntimeError):
    """The cross-check could not run (a failed build, no UTC client, mf failing to start)."""


@dataclass(frozen=True)
class Sample:
    """A built warehouse, the UTC client to ask about, and the generated window."""

    warehouse: Warehouse
    semantic_manifest: Path  # the build's semantic_manifest.json: what both sides compile
    client_id: str
    first_day: date  # the generator's window, inclusive
    last_day: date


def build_sample(
    folder: Path, *, heartbeats: int, users: int, seed: int, start: date, days: int
) -> Sample:
    """Generate (``days`` from ``start``), load and build a DuckDB warehouse in ``folder``;
    pick its UTC client."""
    from daybook.build import run_build
    from daybook.generate import generate_dataset
    from daybook.load import load_files

    folder.mkdir(parents=True, exist_ok=True)
    warehouse = parse_database_url(f"duckdb://{folder / 'warehouse.duckdb'}")
    files = generate_dataset(
        folder / "raw", heartbeats=heartbeats, seed=seed, users=users, start=start, days=days
    )
    for table in RAW_TABLES:
        load_files(warehouse, table, files[table])
    result = run_build(warehouse)
    if not result.success:
        raise CrosscheckError(f"the sample warehouse failed to build:\n{result.summary()}")
    return describe(warehouse, start, start + timedelta(days=days - 1))


def describe(warehouse: Warehouse, first_day: date, last_day: date) -> Sample:
    """The UTC client of a built warehouse (the one with most activity rows)."""
    import duckdb

    assert warehouse.duckdb_path is not None
    with duckdb.connect(str(warehouse.duckdb_path), read_only=True) as connection:
        row = connection.execute(
            "select f.client_id"
            " from main.fct_activity_daily f join main.dim_clients c using (client_id)"
            " where c.timezone = 'UTC' group by f.client_id order by count(*) desc, 1 limit 1"
        ).fetchone()
    if row is None:
        raise CrosscheckError("the sample has no client in UTC with activity: generate more data")
    manifest = DbtArtifacts.of(warehouse).semantic_manifest_path
    if not manifest.is_file():
        raise CrosscheckError(f"the build left no semantic manifest at {manifest}")
    return Sample(warehouse, manifest, str(row[0]), first_day, last_day)

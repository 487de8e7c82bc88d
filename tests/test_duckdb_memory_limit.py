"""Every DuckDB instance Daybook opens on a warehouse file runs under the build's memory
limit, not DuckDB's default of 80% of the machine (issue 14: at 100M heartbeats the
snapshot publish after the build and the load, which opened the file without it, peaked
at 5.6 and 5.2 GB). What DuckDB reports is compared with a bare DuckDB told the same
limit, so the test does not restate how DuckDB prints sizes.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from daybook.config import parse_database_url
from daybook.warehouse import DUCKDB_MEMORY_LIMIT, DUCKDB_MEMORY_LIMIT_ENV, connect


def _as_duckdb_reports(limit: str) -> str:
    with duckdb.connect() as bare:
        bare.execute(f"set memory_limit = '{limit}'")
        return bare.execute("select current_setting('memory_limit')").fetchone()[0]


@pytest.mark.parametrize("read_only", [False, True])
@pytest.mark.parametrize("override", [None, "700MB"])
def test_warehouse_connections_run_under_the_memory_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, override: str | None, read_only: bool
) -> None:
    if override is None:
        monkeypatch.delenv(DUCKDB_MEMORY_LIMIT_ENV, raising=False)
    else:
        monkeypatch.setenv(DUCKDB_MEMORY_LIMIT_ENV, override)
    warehouse = parse_database_url(f"duckdb://{tmp_path / 'limits.duckdb'}")
    connect(warehouse).close()  # the file exists before a read-only open
    con = connect(warehouse, read_only=read_only)
    try:
        reported = con.execute("select current_setting('memory_limit')").fetchone()[0]
    finally:
        con.close()
    assert reported == _as_duckdb_reports(override or DUCKDB_MEMORY_LIMIT)
    with duckdb.connect() as default:  # what DuckDB takes when not told
        assert reported != default.execute("select current_setting('memory_limit')").fetchone()[0]

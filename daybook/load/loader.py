"""``load_files``: bulk, atomic, idempotent loading of CSV/Parquet files into ``raw.*``.

One call is one transaction on the target. Files are parsed by DuckDB (the
target itself when it is DuckDB, ``daybook.load.to_duckdb``; an in-memory one
for PostgreSQL, streamed with binary ``COPY``, ``daybook.load.to_postgres``, and
for Spark, sent as Arrow batches to a stage table, ``daybook.load.to_spark``, which
has no transactions and publishes the stage only after every check passed),
staged, checked, and merged; any problem rolls everything back, so a refused
call leaves the warehouse as it was. Every refusal is a ``LoadError`` naming
the file (and the row and column when there is one); driver errors are
reduced to their first line, which never holds the SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from daybook.config import Warehouse
from daybook.load.errors import LoadError, LoadInterrupted
from daybook.load.files import inspect_file
from daybook.load.progress import load_progress
from daybook.load.result import EntityChanges, LoadResult
from daybook.load.to_duckdb import load_duckdb
from daybook.load.to_postgres import load_postgres
from daybook.raw_schema import raw_table

__all__ = ["EntityChanges", "LoadResult", "load_files"]


def _load_spark(*args: Any) -> tuple[int, int, EntityChanges]:
    """Spark's loader, imported only for an ``sc://`` warehouse (pyspark is slow to import)."""
    from daybook.load.to_spark import load_spark

    return load_spark(*args)


_LOADERS: dict[str, Callable[..., tuple[int, int, EntityChanges]]] = {
    "duckdb": load_duckdb,
    "postgres": load_postgres,
    "spark": _load_spark,
}


def load_files(
    warehouse: Warehouse, table: str, files: Sequence[Path], *, progress: bool = False
) -> LoadResult:
    """Load ``files`` into ``raw.<table>`` all-or-nothing; raise ``LoadError`` on any bad file."""
    try:
        spec = raw_table(table)
    except ValueError as error:
        raise LoadError(str(error)) from None
    # the same file named twice in one call is loaded once
    unique = list(dict.fromkeys(Path(path).resolve() for path in files))
    named = {Path(path).resolve(): Path(path) for path in files}
    try:
        inputs = [inspect_file(named[path], spec) for path in unique]
    except KeyboardInterrupt:  # still reading headers: nothing was opened for writing
        raise LoadInterrupted() from None
    loader = _LOADERS[warehouse.backend]
    with load_progress(progress, spec.name, len(inputs)) as advance:
        rows_read, rows_added, changes = loader(warehouse, spec, inputs, advance)
    return LoadResult(
        table=spec.name,
        files=tuple(item.path for item in inputs),
        rows_read=rows_read,
        rows_added=rows_added,
        changes=changes,
    )

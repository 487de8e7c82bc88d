"""``daybook load TABLE FILE...``: load CSV/Parquet files into ``raw.TABLE``."""

from __future__ import annotations

from pathlib import Path

import click

from daybook.cli_errors import Interrupted
from daybook.config import ConfigError, warehouse_from_env
from daybook.load.errors import LoadError, LoadInterrupted
from daybook.load.loader import load_files
from daybook.raw_schema import RAW_TABLES


@click.command()
@click.argument("table", type=click.Choice(sorted(RAW_TABLES)))
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def load(table: str, files: tuple[Path, ...]) -> None:
    """Load FILES (CSV or Parquet) into raw.TABLE, all or nothing.

    The raw schema and table are created when missing. Each file's header must
    hold exactly the contract's columns (any order). Loading the same file
    again adds nothing. A bad file is refused with its row and column, and
    nothing of the call is loaded. A client, user or device whose id is
    already loaded replaces the earlier row (within one call, the last row of
    the last file wins); a notice says how many rows were replaced.
    """
    try:
        warehouse = warehouse_from_env()
        result = load_files(warehouse, table, list(files), progress=True)
    except (LoadError, ConfigError) as error:
        raise click.ClickException(str(error)) from None
    except LoadInterrupted as interrupted:  # rolled back: nothing of the call was loaded
        raise Interrupted(str(interrupted)) from None
    click.echo(
        f"raw.{result.table}: {result.rows_read:,} rows read from {len(result.files)} file(s), "
        f"{result.rows_added:,} added"
    )
    for notice in result.notices():
        click.echo(f"Notice: raw.{result.table}: {notice}", err=True)

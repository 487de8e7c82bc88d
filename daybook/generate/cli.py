"""``daybook generate``: write a seeded synthetic raw dataset to a folder."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import click

from daybook.generate.dataset import DEFAULT_DAYS, DEFAULT_START, generate_dataset


@click.command()
@click.option(
    "--heartbeats",
    type=click.IntRange(min=0),
    default=20_000,
    show_default=True,
    help="Heartbeat rows to write, duplicates and invalid rows included.",
)
@click.option("--seed", type=int, default=7, show_default=True, help="Same seed, same files.")
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["parquet", "csv"]),
    default="parquet",
    show_default=True,
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".daybook/raw"),
    show_default=True,
    help="Folder for the files.",
)
@click.option(
    "--start",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=DEFAULT_START.isoformat(),
    show_default=True,
    help="First local day of activity (YYYY-MM-DD).",
)
@click.option(
    "--days",
    type=click.IntRange(min=1),
    default=DEFAULT_DAYS,
    show_default=True,
    help="Length of the activity window in days.",
)
def generate(
    heartbeats: int, seed: int, file_format: str, out_dir: Path, start: datetime, days: int
) -> None:
    """Write synthetic raw clients, users, devices and heartbeats (CSV or Parquet).

    The data looks like real agent telemetry: clients in many time zones,
    working-hours patterns, shared devices, about 2% duplicate deliveries,
    late arrivals and a small share of invalid rows of every kind.
    Load it with `daybook load TABLE FILE...`.
    """
    began = time.perf_counter()
    try:
        files = generate_dataset(
            out_dir,
            heartbeats=heartbeats,
            seed=seed,
            file_format=file_format,
            start=start.date(),
            days=days,
            progress=True,
        )
    except (OSError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    elapsed = time.perf_counter() - began
    for table, paths in files.items():
        shown = str(paths[0]) if len(paths) == 1 else f"{paths[0].parent}/{table}-*.{file_format}"
        click.echo(f"{table:<11} {len(paths):>4} file(s)  {shown}")
    rate = heartbeats / elapsed if elapsed > 0 else 0.0
    click.echo(f"{heartbeats:,} heartbeats in {elapsed:.1f}s ({rate:,.0f}/s)")

"""``daybook demo``: from nothing to a served, checked sample warehouse in one command.

It runs the same steps a data team runs by hand (generate, load, build,
check, create a token, serve), so the demo exercises the real product and
prints each step as it goes. Serving replaces the demo's process with
``daybook serve`` (see :func:`serve_in_a_fresh_process`).
"""

from __future__ import annotations

import atexit
import os
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn, TypeVar

import click
from rich.console import Console

from api.serve import address_options, hold_port
from daybook.config import Warehouse, warehouse_from_env

EXAMPLE_CLIENT = "aa7cf840-9ca9-46a3-9778-9015d6580d50"
EXAMPLE_USER = "a1d97031-04e2-4907-a249-093f7436207b"
EXAMPLE_DEVICE = "f1e2d3c4-b5a6-7890-abcd-ef1234567890"
EXAMPLE_RANGE = "start_date=2026-01-01&end_date=2026-01-15"

T = TypeVar("T")
console = Console(stderr=True)


def _step(title: str, work: Callable[[], T], succeeded: Callable[[T], bool] | None = None) -> T:
    """Run one demo step under a spinner and report its duration: ✓ when it succeeded,
    ✗ when it raised (an error, Ctrl-C) or ``succeeded`` says its result is a failure."""
    started = time.perf_counter()
    try:
        with console.status(f"[bold]{title}[/bold]…"):
            result = work()
    except BaseException:
        _mark(False, title, started)
        raise
    _mark(succeeded is None or succeeded(result), title, started)
    return result


def _mark(ok: bool, title: str, started: float) -> None:
    mark = "[green]✓[/green]" if ok else "[red]✗[/red]"
    console.print(f"{mark} {title} ({time.perf_counter() - started:.1f} s)")


def example_requests(base_url: str, token: str) -> list[str]:
    """The endpoint documents' three example requests, ready to paste."""
    client = f"{base_url}/v2/clients/{EXAMPLE_CLIENT}/analytics"
    urls = [
        f"{client}/users/{EXAMPLE_USER}/activity?{EXAMPLE_RANGE}&metric=activity-count",
        f"{client}/devices/{EXAMPLE_DEVICE}/activity?{EXAMPLE_RANGE}&metric=activity-count",
        f"{client}/devices/{EXAMPLE_DEVICE}/activity?{EXAMPLE_RANGE}&metric=user-count",
    ]
    return [f'curl -s "{url}" \\\n  -H "Authorization: Bearer {token}"' for url in urls]


def prepare(warehouse: Warehouse, *, heartbeats: int, data_dir: Path) -> str:
    """Generate, load, build and check the sample warehouse; returns a new demo token."""
    from daybook.generate import generate_dataset
    from daybook.load import load_files
    from daybook.pipeline import build_and_publish
    from daybook.quality.runner import run_checks
    from daybook.tokens.store import open_token_store

    files = _step(
        f"Generating {heartbeats:,} synthetic heartbeats into {data_dir}",
        lambda: generate_dataset(data_dir, heartbeats=heartbeats, seed=42),
    )
    for table in ("clients", "users", "devices", "heartbeats"):
        result = _step(f"Loading raw.{table}", lambda t=table: load_files(warehouse, t, files[t]))
        console.print(f"    {result.rows_read:,} rows read, {result.rows_added:,} new")
        for notice in result.notices():  # as `daybook load` says them
            console.print(f"    Notice: raw.{table}: {notice}", markup=False, soft_wrap=True)
    outcome = _step(
        "Building the marts with dbt (models and data tests) and publishing them",
        lambda: build_and_publish(warehouse),
        lambda outcome: outcome.success,
    )
    console.print(outcome.build.summary())
    if not outcome.success:
        raise click.ClickException("the dbt build failed; see the summary above")
    if outcome.publication is not None:
        console.print(
            f"[green]✓[/green] Published {outcome.publication.description} "
            f"({outcome.publish_seconds or 0.0:.1f} s)"
        )
    report = _step(
        "Checking data quality (Great Expectations)",
        lambda: run_checks(warehouse),
        lambda report: report.ok,
    )
    from daybook.quality.cli import render

    render(report, console)
    record, token = open_token_store(warehouse).create(None, label="demo")
    console.print(f"[green]✓[/green] Created demo token {record.token_id} for all clients")
    return token


@click.command()
@click.option("--heartbeats", default=300_000, show_default=True, help="Sample size.")
@address_options
@click.option("--no-serve", is_flag=True, help="Prepare the warehouse and stop.")
def demo(heartbeats: int, host: str, port: int, no_serve: bool) -> None:
    """Generate, load, build and check a sample warehouse, then serve the API."""
    listener = None if no_serve else hold_port(host, port)
    warehouse = warehouse_from_env()
    console.print(f"Warehouse: [bold]{warehouse.url}[/bold]")
    data_dir = Path(".daybook") / "demo-data"
    token = prepare(warehouse, heartbeats=heartbeats, data_dir=data_dir)
    port = listener.getsockname()[1] if listener is not None else port
    base_url = f"http://{host}:{port}"
    click.echo()
    click.echo(f"Demo token (all clients): {token}")
    click.echo(f"Activity page:  {base_url}/#token={token}")
    click.echo(f"API docs:       {base_url}/v2/docs")
    click.echo("Example requests:")
    for command in example_requests(base_url, token):
        click.echo(command)
    click.echo()
    if listener is None:
        return
    serve_in_a_fresh_process(host, listener)


def serve_in_a_fresh_process(host: str, listener: socket.socket) -> NoReturn:
    """Replace this process with ``daybook serve``: same pid, terminal and signals, clean state.

    The steps above ran dbt, DuckDB and Great Expectations here, which leave
    threads behind (DuckDB's and jemalloc's background threads, dbt's) with
    native state that refers to them. gunicorn forks its workers from this
    process: each would inherit that state without the threads, and on
    Ctrl-C its DuckDB destructors wait for or join threads that do not exist
    in it (hangs until SIGKILL, SIGABRT with "terminate called without an
    active exception", SIGSEGV). ``daybook serve`` never has them: its master
    imports no DuckDB. ``exec`` gives the demo that same clean process, after
    the clean-up a normal exit would do (else multiprocessing's resource
    tracker warns about "leaked semaphore objects" that dbt created).
    """
    atexit._run_exitfuncs()  # what a normal exit would run: e.g. release dbt's semaphores
    sys.stdout.flush()
    sys.stderr.flush()
    port = listener.getsockname()[1]
    listener.set_inheritable(True)  # kept open across exec, for gunicorn to listen on
    command = [sys.executable, "-m", "daybook.cli", "serve", "--host", host, "--port", str(port)]
    os.execv(sys.executable, [*command, "--socket-fd", str(listener.fileno())])

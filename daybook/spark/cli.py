"""``daybook spark start|stop|status``: a local Spark Connect server (contract section 5).

``start`` prints progress on stderr and the server's ``sc://`` URL alone on the last line
of stdout, so ``export DAYBOOK_DATABASE_URL=$(daybook spark start | tail -1)`` works.
"""

from __future__ import annotations

from pathlib import Path

import click

from daybook.spark import server

_STATE_DIR = click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help=f"The server's folder (tables, metastore, logs); default ${server.STATE_DIR_ENV} "
    "or .daybook/spark.",
)


@click.group()
def spark() -> None:
    """Run a local Apache Spark (Spark Connect) server for development and tests."""


@spark.command()
@click.option("--port", type=click.IntRange(1, 65535), default=server.DEFAULT_PORT,
              show_default=True, help="Port on 127.0.0.1.")  # fmt: skip
@click.option("--driver-memory", default=None, metavar="SIZE",
              help=f"JVM heap of the server, e.g. 2g (default ${server.DRIVER_MEMORY_ENV} "
              f"or {server.DEFAULT_DRIVER_MEMORY}).")  # fmt: skip
@_STATE_DIR
def start(port: int, driver_memory: str | None, state_dir: Path | None) -> None:
    """Start the server (needs Java 17) and wait until it answers; print its sc:// URL last."""
    try:
        info = server.start(
            port=port,
            state_dir=state_dir,
            driver_memory=driver_memory,
            progress=lambda line: click.echo(line, err=True),
        )
    except server.SparkServerError as error:
        raise click.ClickException(str(error)) from None
    if info.port != port:
        click.echo(f"note: it listens on port {info.port}, not {port}", err=True)
    click.echo(f"data and logs in {info.state_dir}", err=True)
    click.echo(f"use it with: export DAYBOOK_DATABASE_URL={info.url}", err=True)
    click.echo(info.url)


@spark.command()
@_STATE_DIR
def stop(state_dir: Path | None) -> None:
    """Stop the server started by `daybook spark start` (its tables stay on disk)."""
    info = server.stop(state_dir)
    if info is None:
        click.echo("no Spark Connect server is running")
    else:
        click.echo(f"stopped the Spark Connect server at {info.url} (pid {info.pid})")


@spark.command()
@_STATE_DIR
def status(state_dir: Path | None) -> None:
    """Say whether the server runs (exit status 0) or not (exit status 1)."""
    info = server.running(state_dir)
    if info is None:
        click.echo("not running")
        raise SystemExit(1)
    click.echo(f"running at {info.url} (pid {info.pid}, driver memory {info.driver_memory}, "
               f"data in {info.state_dir})")  # fmt: skip

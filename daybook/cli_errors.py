"""What ends a command with one line instead of a traceback.

Two kinds of trouble come from outside Daybook and are no bug to trace: the environment
(a PostgreSQL server or database that does not answer, a folder that cannot be created,
a DuckDB file another process holds: :func:`environment_message`) and Ctrl-C
(:func:`is_interrupt`, :class:`Interrupted`). The ``daybook`` group
(:class:`daybook.cli.LazyGroup`) turns both into one line for every command; a command
that knows more (a load was rolled back, a build published nothing) says so itself by
raising :class:`Interrupted` with its own words.
"""

from __future__ import annotations

import sys
from typing import IO, Any

import click

INTERRUPTED_EXIT_CODE = 130  # 128 + SIGINT, as a shell reports a command Ctrl-C stopped


class Interrupted(click.ClickException):
    """Ctrl-C stopped the command: its one line (what state it left), exit code 130."""

    exit_code = INTERRUPTED_EXIT_CODE

    def __init__(self, message: str = "interrupted") -> None:
        super().__init__(message)

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(self.format_message(), file=file or sys.stderr)


def first_line(error: BaseException, *, limit: int = 500) -> str:
    """The first line of an error's message, at most ``limit`` characters: drivers add
    hints and SQL on later lines, Spark the JVM's stack trace (its errors' ``getMessage``
    is read when they have one)."""
    message = getattr(error, "getMessage", None)
    text = str((message() if callable(message) else None) or error).strip()
    return (text.splitlines()[0].strip() if text else type(error).__name__)[:limit]


def _chain(error: BaseException | None) -> list[BaseException]:
    seen: list[BaseException] = []
    while error is not None and len(seen) < 20 and error not in seen:
        seen.append(error)
        error = error.__cause__ or error.__context__
    return seen


def is_interrupt(error: BaseException) -> bool:
    """Whether ``error`` is Ctrl-C: a ``KeyboardInterrupt``, or a driver's error raised
    because of one (DuckDB stops a query on SIGINT with ``RuntimeError: Query interrupted``
    from the ``KeyboardInterrupt``, or its ``InterruptException``)."""
    return any(
        isinstance(link, KeyboardInterrupt) or type(link).__name__ == "InterruptException"
        for link in _chain(error)
    )


def environment_message(error: BaseException) -> str | None:
    """One line for an error of the environment, or None for any other error (a bug keeps
    its traceback)."""
    from daybook.warehouse import WarehouseUnavailable

    if isinstance(error, WarehouseUnavailable):
        return str(error)
    psycopg = sys.modules.get("psycopg")
    if psycopg is not None and isinstance(error, psycopg.OperationalError):
        state = getattr(error, "sqlstate", None) or ""
        if not state or state[:2] in ("08", "28", "3D") or state.startswith("57P"):
            # server down, port refused, host unknown, database missing, login refused
            return f"cannot connect to PostgreSQL: {first_line(error)}"
        return f"PostgreSQL stopped the command: {first_line(error)}"
    duckdb = sys.modules.get("duckdb")
    if duckdb is not None and isinstance(error, duckdb.IOException):
        return f"DuckDB cannot open or write a file: {first_line(error)}"
    sqlite3 = sys.modules.get("sqlite3")
    if sqlite3 is not None and isinstance(error, sqlite3.OperationalError):
        return f"the token store cannot be used: {first_line(error)}"
    if isinstance(error, OSError) and not isinstance(error, BrokenPipeError):
        if error.filename is not None and error.strerror:
            return f"cannot use {error.filename}: {error.strerror}"
        return first_line(error)
    return None

"""A DuckDB warehouse another process holds: ``load``, ``build`` and ``refresh`` behave alike.

DuckDB lets one process write a file. Each command that writes it says once that it waits
and for which process, waits up to ``DAYBOOK_LOCK_WAIT_SECONDS``, then fails with one line
naming the holder. Before, ``load`` and ``build`` failed at once with DuckDB's raw message
(dbt's traceback three times for ``build``), and ``refresh`` waited 60 s in silence.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

from daybook.cli import main

CLIENTS_CSV = (
    "client_id,name,timezone,created_at\n"
    "aa7cf840-9ca9-46a3-9778-9015d6580d50,Northwind,UTC,2025-01-01 00:00:00\n"
)
HOLD = (
    "import duckdb, sys, time\n"
    "con = duckdb.connect(sys.argv[1])\n"
    "print('held', flush=True)\n"
    "time.sleep(float(sys.argv[2]))\n"
)


@contextmanager
def held(path: Path, seconds: float) -> Iterator[int]:
    """Another process holding the DuckDB file ``path`` for ``seconds``: its PID."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        yield holder.pid
    finally:
        holder.kill()
        holder.wait()


@pytest.fixture
def warehouse_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "w.duckdb"
    monkeypatch.setenv("DAYBOOK_DATABASE_URL", f"duckdb://{path}")
    monkeypatch.delenv("DAYBOOK_SERVING_URL", raising=False)
    (tmp_path / "clients.csv").write_text(CLIENTS_CSV)
    assert CliRunner().invoke(main, ["load", "clients", "clients.csv"]).exit_code == 0
    return path


def _lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.strip()]


def assert_waited_then_refused(output: str, pid: int) -> None:
    waiting = [line for line in _lines(output) if line.startswith("waiting for")]
    assert len(waiting) == 1, output  # said once, however long it waits
    assert f"process {pid} " in waiting[0]
    assert "Traceback" not in output
    last = _lines(output)[-1]
    assert f"held by process {pid} " in last, output
    assert "within 1 s" in last


def test_load_waits_then_names_the_holder(warehouse_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DAYBOOK_LOCK_WAIT_SECONDS", "1")
    with held(warehouse_path, 60) as pid:
        result = CliRunner().invoke(main, ["load", "clients", "clients.csv"])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert_waited_then_refused(result.output, pid)
    assert len(_lines(result.output)) == 2, result.output


def test_load_goes_ahead_once_the_holder_lets_go(warehouse_path: Path, tmp_path: Path) -> None:
    (tmp_path / "more.csv").write_text(
        CLIENTS_CSV + "0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b,Contoso,UTC,2025-01-02 00:00:00\n"
    )
    with held(warehouse_path, 2) as pid:
        result = CliRunner().invoke(main, ["load", "clients", "more.csv"])
    assert result.exit_code == 0, result.output
    waiting = [line for line in _lines(result.output) if line.startswith("waiting for")]
    assert len(waiting) == 1 and f"process {pid} " in waiting[0], result.output
    assert "1 added" in result.output


def test_refresh_says_it_waits_and_names_the_holder(warehouse_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DAYBOOK_LOCK_WAIT_SECONDS", "1")
    with held(warehouse_path, 60) as pid:
        result = CliRunner().invoke(main, ["refresh"])
    assert result.exit_code == 1
    assert_waited_then_refused(result.output, pid)


@pytest.mark.build
def test_build_waits_then_names_the_holder_and_builds_nothing(
    warehouse_path: Path, monkeypatch
) -> None:
    from daybook.config import warehouse_from_env
    from daybook.serving.pointer import serving_dir

    monkeypatch.setenv("DAYBOOK_LOCK_WAIT_SECONDS", "1")
    with held(warehouse_path, 60) as pid:
        result = CliRunner().invoke(main, ["build"])
    assert result.exit_code == 1
    assert_waited_then_refused(result.output, pid)
    assert len(_lines(result.output)) == 2, result.output
    assert not serving_dir(warehouse_from_env()).exists()

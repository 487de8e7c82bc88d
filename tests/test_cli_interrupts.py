"""Ctrl-C ends ``daybook load`` and ``daybook build`` with one line and exit code 130.

A load is one transaction: interrupted mid-insert it says the warehouse is unchanged, and
it is. A build interrupted while dbt runs publishes nothing and says so, without dbt's
``KeyboardInterrupt`` traceback or a "dbt build failed". Before, both printed a traceback
(DuckDB's ``RuntimeError: Query interrupted``, dbt's stack) and exited 1.

Each command runs in a process of its own, in a new session (so its SIGINT handler is
Python's, as in a terminal), and is sent SIGINT once it is busy: a wrapper makes the
load's insert endless and reports it, or reports dbt starting.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from load.cli_rows import heartbeat, write_csv
from support import read_table

from daybook.config import Warehouse

# the insert of every file becomes endless (a cross join with a billion rows), and says so
SLOW_LOAD = """
import sys
import daybook.load.to_duckdb, daybook.load.to_postgres

def slow(original):
    def select_sql(*args, **kwargs):
        print("BUSY", file=sys.stderr, flush=True)
        return original(*args, **kwargs) + ", range(1000000000) as endless(i)"
    return select_sql

for module in (daybook.load.to_duckdb, daybook.load.to_postgres):
    module.select_sql = slow(module.select_sql)
from daybook.cli import main
main(sys.argv[1:], prog_name="daybook")
"""
# dbt is about to start: say so
BUSY_BUILD = """
import sys
import daybook.build.run

original = daybook.build.run.run_dbt
def run_dbt(*args, **kwargs):
    print("BUSY", file=sys.stderr, flush=True)
    return original(*args, **kwargs)
daybook.build.run.run_dbt = run_dbt
from daybook.cli import main
main(sys.argv[1:], prog_name="daybook")
"""

# Ctrl-C while dbt reads its flags, before it sets up its own loggers
BUILD_INTERRUPTED_IN_DBT_FLAGS = """
import os, signal, sys
import dbt.cli.flags

original = dbt.cli.flags.Flags.__init__
def interrupted(self, *args, **kwargs):
    print("BUSY", file=sys.stderr, flush=True)
    os.kill(os.getpid(), signal.SIGINT)
    return original(self, *args, **kwargs)
dbt.cli.flags.Flags.__init__ = interrupted
from daybook.cli import main
main(sys.argv[1:], prog_name="daybook")
"""


def interrupt(
    script: str, args: list[str], warehouse: Warehouse, cwd: Path, after: float
) -> tuple[int, str, str]:
    """Run ``script`` with ``args``, send SIGINT ``after`` seconds past its BUSY line."""
    env = {
        **os.environ,
        "DAYBOOK_DATABASE_URL": warehouse.url,
        "DAYBOOK_STATE_DIR": str(cwd / "state"),
    }
    env.pop("DAYBOOK_SERVING_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-c", script, *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert process.stderr is not None
    seen = []
    for line in process.stderr:
        seen.append(line)
        if line.strip() == "BUSY":
            break
    else:
        process.wait()
        pytest.fail("the command never got busy: " + "".join(seen))
    time.sleep(after)
    os.kill(process.pid, signal.SIGINT)
    try:
        out, err = process.communicate(timeout=120)
    finally:
        process.kill()
    return process.returncode, out, "".join(seen) + err


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip() and line.strip() != "BUSY"]


@pytest.mark.parametrize("backend", ["duckdb", "postgres"])
def test_an_interrupted_load_says_the_warehouse_is_unchanged(
    backend: str, make_warehouse, tmp_path: Path
) -> None:
    from daybook.load import load_files

    warehouse = make_warehouse(backend)
    first = write_csv(tmp_path / "first.csv", [heartbeat(index) for index in range(5)])
    load_files(warehouse, "heartbeats", [first])
    more = write_csv(tmp_path / "more.csv", [heartbeat(index) for index in range(5, 50)])

    code, out, err = interrupt(SLOW_LOAD, ["load", "heartbeats", str(more)], warehouse, tmp_path, 1)

    assert code == 130, err
    assert "Traceback" not in out + err
    assert _lines(out + err) == ["interrupted; the warehouse is unchanged"], out + err
    rows = read_table(warehouse, "select count(*) as n from raw.heartbeats")
    assert rows[0]["n"] == 5


@pytest.mark.build
def test_an_interrupted_build_publishes_nothing_and_says_so(make_warehouse, tmp_path: Path) -> None:
    from daybook.serving.pointer import serving_dir

    warehouse = make_warehouse("duckdb")
    code, out, err = interrupt(BUSY_BUILD, ["build"], warehouse, tmp_path, 1.5)

    assert code == 130, out + err
    assert "Traceback" not in out + err
    assert "KeyboardInterrupt" not in out + err
    assert "build failed" not in out + err
    last = _lines(err)[-1]
    assert last.startswith("interrupted; the build stopped part way and nothing was published")
    assert not serving_dir(warehouse).exists() or not any(serving_dir(warehouse).iterdir())


@pytest.mark.build
def test_a_build_interrupted_while_dbt_reads_its_flags_says_so_in_one_line(
    make_warehouse, tmp_path: Path
) -> None:
    """dbt's loggers are set up after it reads its flags; a Ctrl-C before that printed dbt's
    stack trace through the logger dbt makes at import (seen in a clean-clone CI run)."""
    warehouse = make_warehouse("duckdb")
    code, out, err = interrupt(BUILD_INTERRUPTED_IN_DBT_FLAGS, ["build"], warehouse, tmp_path, 0)

    assert code == 130, out + err
    assert "Traceback" not in out + err
    assert "KeyboardInterrupt" not in out + err
    assert _lines(out + err) == [
        "interrupted; the build stopped part way and nothing was published "
        "(the API serves what it served before)"
    ], out + err

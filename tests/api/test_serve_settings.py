"""``daybook serve`` checks the API's settings before it starts anything: a bad one is a
clear error and a non-zero exit, not a start-up line followed by every worker failing."""

from __future__ import annotations

import os
import re
import shutil
import socket

import pytest
from click.testing import CliRunner
from support import SHIPPED_SEMANTIC_DIR

import api.serve
from daybook.cli import main


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DAYBOOK_MAX_RANGE_DAYS", "abc", "max range days must be a whole number, got 'abc'"),
        ("DAYBOOK_MAX_RANGE_DAYS", "0", "max range days must be at least 1, got 0"),
        ("DAYBOOK_ANSWER_CACHE_MB", "-5", "answer cache size must not be negative"),
        ("DAYBOOK_QUERY_TIMEOUT_SECONDS", "soon", "query timeout must be a number of seconds"),
        ("DAYBOOK_QUERY_TIMEOUT_SECONDS", "nan", "query timeout must not be negative"),
        ("DAYBOOK_RATE_LIMIT_PER_TOKEN", "lots", "not a rate limit: 'lots'"),
    ],
)
def test_a_bad_setting_stops_serve_before_it_starts(
    monkeypatch: pytest.MonkeyPatch, tmp_path, name: str, value: str, message: str
) -> None:
    started: list[str] = []
    monkeypatch.setattr(api.serve, "ensure_serving_snapshot", lambda w: started.append("publish"))
    monkeypatch.setattr(api.serve.DaybookServer, "run", lambda self: started.append("gunicorn"))
    env = {"DAYBOOK_DATABASE_URL": f"duckdb:///{tmp_path / 'w.duckdb'}", name: value}
    result = CliRunner().invoke(main, ["serve", "--port", "0"], env=env)
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert "Serving Daybook API" not in result.output
    assert started == []


def test_semantic_yaml_the_api_refuses_stops_serve_before_it_starts(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    """Each worker would refuse it at start-up, log a traceback and gunicorn give up."""
    started: list[str] = []
    monkeypatch.setattr(api.serve, "ensure_serving_snapshot", lambda w: started.append("publish"))
    monkeypatch.setattr(api.serve.DaybookServer, "run", lambda self: started.append("gunicorn"))
    semantic = tmp_path / "semantic"
    shutil.copytree(SHIPPED_SEMANTIC_DIR, semantic)
    bad = semantic / "broken.yml"
    bad.write_text(
        "metrics:\n"
        "  - name: broken_total\n"
        "    label: Broken total\n"
        "    description: A metric over a measure no semantic model has.\n"
        "    type: simple\n"
        "    type_params:\n"
        "      measure: no_such_measure\n"
    )
    env = {
        "DAYBOOK_DATABASE_URL": f"duckdb:///{tmp_path / 'w.duckdb'}",
        "DAYBOOK_SEMANTIC_DIR": str(semantic),
    }
    result = CliRunner().invoke(main, ["serve", "--port", "0"], env=env)
    assert result.exit_code == 1, result.output
    assert str(bad) in result.output and "no_such_measure" in result.output, result.output
    assert "Traceback" not in result.output
    assert "Serving Daybook API" not in result.output
    assert started == []


def test_a_port_that_is_taken_stops_serve_before_it_starts(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    """One line at once, as ``daybook demo`` says it: not a start line, a first publish and
    gunicorn's five seconds of retries."""
    started: list[str] = []
    monkeypatch.setattr(api.serve, "ensure_serving_snapshot", lambda w: started.append("publish"))
    monkeypatch.setattr(api.serve.DaybookServer, "run", lambda self: started.append("gunicorn"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {"DAYBOOK_DATABASE_URL": f"duckdb:///{tmp_path / 'w.duckdb'}"}
        result = CliRunner().invoke(main, ["serve", "--port", str(port)], env=env)
    assert result.exit_code == 1, result.output
    assert f"cannot serve on 127.0.0.1:{port}" in result.output
    assert "Serving Daybook API" not in result.output
    assert started == []


def test_serve_on_port_0_names_the_port_it_took(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """The start line names the port gunicorn is given to listen on: bound before anything
    else and held for it (no other program can bind it meanwhile)."""
    given: list[tuple[int, bool]] = []

    def run(self) -> None:  # what gunicorn would start with
        fd = int(self.options["bind"].removeprefix("fd://"))
        with socket.socket(fileno=os.dup(fd)) as listener:
            port = listener.getsockname()[1]
        with socket.socket() as other:
            try:
                other.bind(("127.0.0.1", port))
                other.listen()
                taken = False
            except OSError:
                taken = True
        given.append((port, taken))

    monkeypatch.setattr(api.serve, "ensure_serving_snapshot", lambda w: "a test snapshot")
    monkeypatch.setattr(api.serve.DaybookServer, "run", run)
    env = {"DAYBOOK_DATABASE_URL": f"duckdb:///{tmp_path / 'w.duckdb'}"}
    result = CliRunner().invoke(main, ["serve", "--port", "0"], env=env)
    assert result.exit_code == 0, result.output
    printed = int(re.search(r"on http://127\.0\.0\.1:(\d+) ", result.output).group(1))
    assert given == [(printed, True)] and printed > 0

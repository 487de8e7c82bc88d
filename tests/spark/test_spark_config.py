"""``DAYBOOK_DATABASE_URL=sc://...`` selects Spark (contract section 5): host, port (15002 by
default), the client's parameters kept in the URL, a local state folder per endpoint, dialect
``spark``; malformed URLs are refused with the URL named; an endpoint nobody listens on is
refused in seconds, naming host and port but never the URL's token (no server needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from daybook.config import ConfigError, parse_database_url
from daybook.load.cli import load
from daybook.spark.server import free_port


@pytest.mark.parametrize(
    ("url", "host", "port"),
    [
        ("sc://127.0.0.1:15002", "127.0.0.1", 15002),
        ("sc://localhost", "localhost", 15002),
        ("sc://spark.example.com:443/;token=secret;use_ssl=true", "spark.example.com", 443),
    ],
)
def test_spark_urls(url, host, port, monkeypatch, tmp_path):
    monkeypatch.setenv("DAYBOOK_STATE_DIR", str(tmp_path))
    warehouse = parse_database_url(url)
    assert (warehouse.backend, warehouse.host, warehouse.port) == ("spark", host, port)
    assert warehouse.url == url  # the client dials it as given, parameters included
    assert warehouse.dialect == "spark"
    assert warehouse.state_dir == tmp_path / f"spark-{host}-{port}"


@pytest.mark.parametrize("url", ["sc://:15002", "sc://host:port", "sc://host:15002/db"])
def test_malformed_spark_urls_are_refused(url):
    with pytest.raises(ConfigError) as refused:
        parse_database_url(url)
    assert url in str(refused.value)


def test_a_load_on_an_endpoint_nobody_listens_on_fails_fast(tmp_path: Path, monkeypatch):
    port = free_port()
    monkeypatch.setenv("DAYBOOK_DATABASE_URL", f"sc://127.0.0.1:{port}/;token=hush")
    file = tmp_path / "clients.csv"
    file.write_text("client_id,name,timezone,created_at\n")
    result = CliRunner().invoke(load, ["clients", str(file)])
    assert result.exit_code == 1
    assert f"no Spark Connect server answers at 127.0.0.1:{port}" in result.output
    assert "hush" not in result.output and "Traceback" not in result.output


# pyspark's default backoff, restated: 50 ms, then four times longer, at most a minute.
def _waits(retries: int) -> list[float]:
    return [min(50 * 4**attempt, 60_000) for attempt in range(retries)]


@pytest.mark.parametrize(("seconds", "retries"), [(0, 0), (1, 2), (60, 5), (120, 6), (3600, 15)])
def test_the_retry_budget_holds_as_many_retries_as_fit(seconds, retries, monkeypatch):
    """A Spark Connect server that stops answering is retried for the seconds of
    ``DAYBOOK_SPARK_RETRY_SECONDS`` (pyspark's own budget, 15 retries, caps it)."""
    from daybook.config import spark_retry_seconds
    from daybook.spark.session import retry_policy

    monkeypatch.setenv("DAYBOOK_SPARK_RETRY_SECONDS", str(seconds))
    policy = retry_policy(spark_retry_seconds())
    assert policy.max_retries == retries
    assert sum(_waits(retries)) <= seconds * 1000
    assert retries == 15 or sum(_waits(retries + 1)) > seconds * 1000
    assert policy.max_server_retry_delay == seconds * 1000


@pytest.mark.parametrize("raw", ["soon", "-1", "nan"])
def test_a_bad_retry_budget_is_refused_with_the_variable_named(raw, monkeypatch, tmp_path):
    """Refused when the URL is read, so every command says so before it starts."""
    monkeypatch.setenv("DAYBOOK_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("DAYBOOK_SPARK_RETRY_SECONDS", raw)
    with pytest.raises(ConfigError, match=f"DAYBOOK_SPARK_RETRY_SECONDS .* not '{raw}'"):
        parse_database_url("sc://127.0.0.1:15002")
    monkeypatch.setenv("DAYBOOK_DATABASE_URL", "sc://127.0.0.1:15002")
    result = CliRunner().invoke(load, ["heartbeats", str(tmp_path / "none.csv")])
    assert result.exit_code != 0
    assert "DAYBOOK_SPARK_RETRY_SECONDS" in result.output and "Traceback" not in result.output


def test_the_server_folder_follows_daybook_state_dir_unless_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One setting moves a warehouse's local state and the local server's folder
    (an acceptance run set only ``DAYBOOK_STATE_DIR`` and found the server elsewhere)."""
    from daybook.spark.state import default_state_dir

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DAYBOOK_SPARK_DIR", raising=False)
    monkeypatch.delenv("DAYBOOK_STATE_DIR", raising=False)
    assert default_state_dir() == (tmp_path / ".daybook" / "spark").resolve()
    monkeypatch.setenv("DAYBOOK_STATE_DIR", str(tmp_path / "state"))
    assert default_state_dir() == (tmp_path / "state" / "spark").resolve()
    monkeypatch.setenv("DAYBOOK_SPARK_DIR", str(tmp_path / "elsewhere"))
    assert default_state_dir() == (tmp_path / "elsewhere").resolve()

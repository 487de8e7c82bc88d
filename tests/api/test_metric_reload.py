"""Metrics written while ``daybook serve`` runs are served without a restart (api.metric_reload).

A data team's new YAML (``team_metrics.NEW_METRICS``: a ratio, a cumulative and a derived
metric) is written into the served ``semantic/`` folder while a client keeps asking for
a shipped metric. First with a misspelt dimension: the API refuses that YAML, says so in
its log, and goes on serving what it served. Then as written: the new metrics are served,
equal to the by-hand computation from the sample's rows, and not one of the client's
requests fails during the reload. On DuckDB and PostgreSQL.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from semantic.metric_types import same_value
from served_api import (
    DATA_START,
    EXAMPLE_CLIENT,
    EXAMPLE_DEVICE,
    activity_path,
    serving_copy,
    start_server,
)
from team_metrics import NEW_FILE, NEW_METRICS, RATIO, SHIPPED_SEMANTIC_DIR, by_hand

START, END = DATA_START + timedelta(days=59), DATA_START + timedelta(days=104)
PATH = activity_path(EXAMPLE_CLIENT, "device", EXAMPLE_DEVICE)


def params(metric: str) -> dict[str, str]:
    return {
        "metric": metric,
        "start_date": START.isoformat(),
        "end_date": END.isoformat(),
        "granularity": "weekly",
    }


def wait_for(condition, what: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not in {seconds} s: {what}"
        time.sleep(0.25)


def test_the_master_reloads_once_per_accepted_change_and_says_each_refusal_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``MetricReloader.check`` with a stand-in for the ``SIGHUP``: a touched file changes
    nothing, accepted YAML reloads once, refused YAML is logged once and reloads nothing."""
    from api.metric_reload import MetricReloader
    from api.settings import Settings

    # an app made earlier in this process stops daybook.api's records at its own handler
    monkeypatch.setattr(logging.getLogger("daybook.api"), "propagate", True)
    folder = tmp_path / "semantic"
    shutil.copytree(SHIPPED_SEMANTIC_DIR, folder)
    reloads: list[int] = []
    reloader = MetricReloader(
        Settings.from_config({"warehouse": "duckdb:///unused.duckdb", "semantic_dir": folder}),
        reload=lambda: reloads.append(1),
    )
    refusals = lambda: [r for r in caplog.records if "refuses" in r.getMessage()]  # noqa: E731
    shipped = folder / "semantic_models.yml"
    shipped.write_bytes(shipped.read_bytes())  # touched, not changed
    assert not reloader.check() and reloads == []

    misspelt = NEW_METRICS.replace(
        "device__platform') }} = 'macos'", "device__platfrom') }} = 'macos'"
    )
    (folder / NEW_FILE).write_text(misspelt, encoding="utf-8")
    assert not reloader.check() and not reloader.check()
    assert reloads == [] and len(refusals()) == 1
    assert "did you mean 'device__platform'" in refusals()[0].getMessage()

    (folder / NEW_FILE).write_text(NEW_METRICS, encoding="utf-8")
    assert reloader.check() and not reloader.check()
    assert reloads == [1]

    (folder / NEW_FILE).unlink()  # back to what was served first: a change all the same
    assert reloader.check() and reloads == [1, 1] and len(refusals()) == 1


@pytest.mark.served
def test_metrics_written_while_serving_are_served_and_refused_yaml_is_not(
    backend: str, built_warehouses, samples, tmp_path: Path
) -> None:
    folder = tmp_path / "semantic"
    shutil.copytree(SHIPPED_SEMANTIC_DIR, folder)
    sample = samples[backend]
    server = start_server(
        serving_copy(built_warehouses[backend].warehouse, tmp_path / "copy"),
        tmp_path / "server",
        sample.reference,
        sample.raw,
        settings={"DAYBOOK_SEMANTIC_DIR": str(folder), "DAYBOOK_METRICS_RELOAD_SECONDS": "0.5"},
    )
    token = server.token()
    failures: list[str] = []
    stop = threading.Event()

    def keep_asking() -> None:  # a shipped metric, all along
        while not stop.is_set():
            response = server.get(PATH, token, params("activity-count"))
            if response.status_code != 200:
                failures.append(f"{response.status_code} {response.text[:300]}")

    asker = threading.Thread(target=keep_asking, daemon=True)
    try:
        assert server.get(PATH, token, params(RATIO)).status_code == 400  # not a metric yet
        asker.start()

        misspelt = NEW_METRICS.replace(
            "device__platform') }} = 'macos'", "device__platfrom') }} = 'macos'"
        )
        assert misspelt != NEW_METRICS
        (folder / NEW_FILE).write_text(misspelt, encoding="utf-8")
        wait_for(lambda: "metrics_refused" in server.log_path.read_text(), "the refusal logged")
        log = server.log_path.read_text()
        assert str(folder / NEW_FILE) in log and "did you mean 'device__platform'" in log
        assert server.get(PATH, token, params(RATIO)).status_code == 400  # still the old ones

        (folder / NEW_FILE).write_text(NEW_METRICS, encoding="utf-8")
        wait_for(
            lambda: server.get(PATH, token, params(RATIO)).status_code == 200,
            "the new metric served",
        )
        time.sleep(2)  # the old workers finish while the asker goes on
    finally:
        stop.set()
        if asker.is_alive():
            asker.join(timeout=30)
        body = server.get(PATH, token, params(RATIO)).json()
        server.stop()
    assert not failures, failures[:5]
    got = [(date.fromisoformat(point["date"]), point["value"]) for point in body["data"]]
    hand = by_hand(server, RATIO, "device", EXAMPLE_CLIENT, EXAMPLE_DEVICE, START, END, "weekly")
    assert [bucket for bucket, _ in got] == [bucket for bucket, _ in hand]
    assert all(same_value(g, e) for (_, g), (_, e) in zip(got, hand, strict=True)), (got, hand)
    assert any(value is not None for _, value in got), "no bucket with a value to compare"

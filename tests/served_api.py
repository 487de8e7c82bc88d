"""Helpers for the API tests: the API under test, served for real or in process.

Two ways to reach the same app over the session's built sample warehouse, with
one interface (``get``, ``request``, ``token`` and the sample's reference):

* :class:`Served`: ``daybook serve`` (gunicorn with uvicorn workers) in a
  subprocess, for the served end-to-end tier (``served`` marker): logs, the
  HTTP server's own answers, the CLI beside a running server, the browser.
* ``InProcess`` (``tests/in_process_api.py``): Flask's test client over an app
  built once per session and backend, for everything else.

On PostgreSQL both use the built database itself; on DuckDB each gets its own
copy of the built file (a server holds its file open for the whole session,
which would stop any other test from opening the shared file for writing).
Expected answers come from ``tests/reference.py`` over the raw rows.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import requests
from reference import Reference, client_series, computes, series
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from daybook.bench.servers import listening_url
from daybook.config import Warehouse, parse_database_url
from daybook.tokens import open_token_store

DAYBOOK = str(Path(sys.executable).with_name("daybook"))
EXAMPLE_CLIENT = "aa7cf840-9ca9-46a3-9778-9015d6580d50"
EXAMPLE_USER = "a1d97031-04e2-4907-a249-093f7436207b"
EXAMPLE_DEVICE = "f1e2d3c4-b5a6-7890-abcd-ef1234567890"
RAW_TABLES = ("clients", "users", "devices", "heartbeats")
DATA_START = date(2025, 10, 1)  # the generator's default window: 182 days from here
DATA_END = DATA_START + timedelta(days=181)


def retrying_session() -> requests.Session:
    """A session that sends an idempotent request once more if the kept-alive connection it
    went out on was closed by the server at that moment (idle ones are closed after 5 s):
    a race of the test's connection reuse, not an answer of the API. Never a POST, and never
    on an answer: a 429's ``Retry-After`` is returned to the test, not obeyed."""
    session = requests.Session()
    retry = Retry(total=1, connect=1, read=1, status=0, respect_retry_after_header=False)
    session.mount("http://", HTTPAdapter(max_retries=retry))
    return session


def plain_row(row: dict) -> dict:
    """Raw rows with UUID objects as strings, as the API sees ids."""
    return {
        key: str(value) if isinstance(value, uuid.UUID) else value for key, value in row.items()
    }


def _token_key(client_ids: tuple[str, ...]) -> tuple[str, ...] | None:
    """A token's clients as ``SampleApi`` keys its tokens: sorted, None for all clients."""
    return tuple(sorted(client_ids)) or None


@dataclass(kw_only=True)
class SampleApi:
    """The API over the session's sample, and what tests need to check its answers."""

    backend: str
    warehouse: Warehouse
    reference: Reference
    clients: list[dict]
    users: list[dict]
    devices: list[dict]
    _tokens: dict[Any, str] = field(default_factory=dict)

    def token(self, *client_ids: str) -> str:
        """A token for these clients (none given: all clients), created once per session."""
        key = _token_key(client_ids)
        if key not in self._tokens:
            store = open_token_store(self.warehouse)
            self._tokens[key] = store.create(list(key) if key else None, label="tests")[1]
        return self._tokens[key]

    def use_token(self, token: str, *client_ids: str) -> None:
        """Make ``token()`` for these clients (none given: all clients) answer ``token``, one
        made elsewhere (e.g. the token ``daybook demo`` printed), instead of creating one."""
        self._tokens[_token_key(client_ids)] = token

    def other_client(self, client_id: str) -> str:
        return next(c["client_id"] for c in self.clients if c["client_id"] != client_id)

    def entity_rows(self, entity: str) -> list[dict]:
        return self.users if entity == "user" else self.devices

    def active_entities(self, entity: str) -> list[tuple[str, str]]:
        """(client, id) pairs with at least one valid heartbeat, sorted for reproducibility
        (for ``client``: (client, client))."""
        position = {"client": 0, "user": 2, "device": 3}[entity]
        return sorted({(key[0], key[position]) for key in self.reference.activity})


@dataclass(kw_only=True)
class Served(SampleApi):
    """A running ``daybook serve``, talked to over HTTP."""

    url: str
    process: subprocess.Popen
    log_path: Path
    env: dict[str, str]
    session: requests.Session = field(default_factory=retrying_session)

    def get(
        self, path: str, token: str | None = None, params: dict | None = None, **kwargs
    ) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.session.get(
            self.url + path, params=params, headers=headers, timeout=30, **kwargs
        )

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.session.request(method, self.url + path, timeout=30, **kwargs)

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run ``daybook`` against this server's warehouse."""
        result = subprocess.run(
            [DAYBOOK, *args], env=self.env, capture_output=True, text=True, timeout=120
        )
        if check:
            assert result.returncode == 0, result.stderr
        return result

    def log_lines(self) -> list[dict]:
        """The JSON lines the server logged so far."""
        lines = []
        for line in self.log_path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("{"):
                lines.append(json.loads(line))
        return lines

    def stop(self) -> None:
        self.session.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def serving_copy(warehouse: Warehouse, folder: Path) -> Warehouse:
    """The warehouse the server will hold: PostgreSQL as is, DuckDB as a private copy."""
    if warehouse.backend != "duckdb":
        return warehouse
    assert warehouse.duckdb_path is not None
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "served.duckdb"
    shutil.copyfile(warehouse.duckdb_path, target)
    wal = warehouse.duckdb_path.with_name(warehouse.duckdb_path.name + ".wal")
    if wal.exists():
        shutil.copyfile(wal, target.with_name(target.name + ".wal"))
    return parse_database_url(f"duckdb://{target}")


def start_server(
    warehouse: Warehouse,
    folder: Path,
    reference: Reference,
    raw: dict,
    *,
    settings: dict[str, str] | None = None,
    workers: int = 2,
) -> Served:
    """``daybook serve`` over ``warehouse``; ``settings`` adds environment variables."""
    folder.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DAYBOOK_DATABASE_URL": warehouse.url,
        "DAYBOOK_STATE_DIR": str(folder / "state"),
        "DAYBOOK_MAX_RANGE_DAYS": "90",
        **(settings or {}),
    }
    log_path = folder / "server.log"
    log_file = open(log_path, "w", encoding="utf-8")  # noqa: SIM115 - the child writes it
    process = subprocess.Popen(
        # Port 0: the kernel picks a free port as gunicorn binds it, so no other server
        # started meanwhile can hold it (a port picked first and bound later could be taken
        # in between, and this helper would then talk to whatever answers there).
        [DAYBOOK, "serve", "--port", "0", "--workers", str(workers), "--threads", "2"],
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    log_file.close()
    # Spark publishes a snapshot database before the workers start (25-37 s on a quiet
    # machine, far more on a loaded one); the wait only bounds a server that never answers
    url = wait_until_serving(
        process, log_path, seconds=600 if warehouse.backend == "spark" else 180
    )
    return Served(
        backend=warehouse.backend,
        warehouse=warehouse,
        url=url,
        process=process,
        log_path=log_path,
        env=env,
        reference=reference,
        clients=raw["clients"],
        users=raw["users"],
        devices=raw["devices"],
    )


def wait_until_serving(
    process: subprocess.Popen, log_path: Path, *, port: int = 0, seconds: float = 90
) -> str:
    """The URL of the ``daybook serve`` (or ``demo``) that ``process`` runs, once gunicorn has
    said in its log that it listens (at ``port``, when one was asked for) and ``/readyz``
    answers there; fails if the process dies or ``seconds`` pass.

    Reading the address from the process's own log means the answer comes from that process:
    a port picked beforehand can be taken by another server meanwhile (the process then
    fails to bind it and exits), and polling the port alone would reach that other server.
    """
    deadline = time.monotonic() + seconds
    url = None
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"daybook serve exited:\n{log_path.read_text()[-4000:]}")
        url = url or listening_url(log_path.read_text(encoding="utf-8", errors="replace"), port)
        try:
            if url and requests.get(url + "/readyz", timeout=5).status_code == 200:
                return url
        except requests.RequestException:  # workers still booting
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"daybook serve not ready in time:\n{log_path.read_text()[-4000:]}")
        time.sleep(0.05 if url else 0.3)


def activity_path(client_id: str, entity: str, entity_id: str) -> str:
    """The activity endpoint of one entity; ``client`` is the client-wide series (its id is
    the client's own)."""
    if entity == "client":
        return f"/v2/clients/{client_id}/analytics/activity"
    return f"/v2/clients/{client_id}/analytics/{entity}s/{entity_id}/activity"


def assert_error(response: requests.Response, status: int, code: str) -> dict:
    """The contract's JSON error with this status and code; returns the ``error`` object."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json", response.headers
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["details"], dict)
    return body["error"]


# Metrics reference.series does not compute (reference.computes: issue 16's ratio, derived,
# cumulative and filtered ones) come from reference_metrics over the shipped YAML.
_METRIC_REFERENCES: dict[int, Any] = {}


def metric_type_series(
    api: SampleApi,
    entity: str,
    client: str,
    entity_id: str,
    metric: str,
    start: date,
    end: date,
    granularity: str,
) -> list[tuple[date, Any]]:
    """A shipped metric's series from ``reference_metrics`` over the sample's rows."""
    from reference_metrics import MetricReference
    from semantic.metric_types import DEVICES, FACT, shipped_spec

    key = id(api.reference)
    if key not in _METRIC_REFERENCES:
        fact = [
            {"client_id": c, "activity_date": d, "user_id": u, "device_id": v, **values}
            for (c, d, u, v), values in api.reference.activity.items()
        ]
        devices = [
            {k: row[k] for k in ("device_id", "client_id", "platform")} for row in api.devices
        ]
        _METRIC_REFERENCES[key] = MetricReference(shipped_spec(), {FACT: fact, DEVICES: devices})
    return _METRIC_REFERENCES[key].series(
        metric=metric.replace("-", "_"),
        entity=entity,
        tenant_id=client,
        entity_id=None if entity == "client" else entity_id,
        start=start,
        end=end,
        granularity=granularity,
    )


def expected_body(
    api: SampleApi,
    entity: str,
    client: str,
    entity_id: str,
    metric: str,
    start: date,
    end: date,
    granularity: str,
) -> dict:
    """The contract's answer to one activity request, from the reference over the raw rows."""
    from daybook.semantic import load_catalog

    if not computes(metric):  # dbt's other metric types: tests/reference_metrics.py
        points = metric_type_series(api, entity, client, entity_id, metric, start, end, granularity)
    elif entity == "client":
        points = client_series(
            api.reference,
            client_id=client,
            metric=metric,
            start=start,
            end=end,
            granularity=granularity,
        )
    else:
        points = series(
            api.reference,
            entity=entity,
            client_id=client,
            entity_id=entity_id,
            metric=metric,
            start=start,
            end=end,
            granularity=granularity,
        )
    return {
        "metric": metric,
        "label": load_catalog().metrics[metric].label,
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "data": [{"date": day.isoformat(), "value": value} for day, value in points],
    }

"""An API started before the warehouse's first build: it says it is not ready, answers data
requests with the contract's 500 naming the cause, never holds a DuckDB build file (which
would lock that build out), and serves the first publish at once."""

from __future__ import annotations

import shutil
import subprocess
import sys

from served_api import EXAMPLE_CLIENT, EXAMPLE_USER, activity_path

from api.app import create_app
from daybook.tokens import open_token_store

PARAMS = {"metric": "activity-count", "start_date": "2026-01-01", "end_date": "2026-01-31"}


def _get(client, path: str, token: str):
    return client.get(path, query_string=PARAMS, headers={"Authorization": f"Bearer {token}"})


def test_an_api_before_the_first_build_is_not_ready_and_says_why(backend, make_warehouse, api):
    warehouse = make_warehouse(backend)
    app = create_app({"warehouse": warehouse})
    client = app.test_client()
    path = activity_path(EXAMPLE_CLIENT, "user", EXAMPLE_USER)
    try:
        token = open_token_store(warehouse).create(None)[1]  # as `daybook token create`
        ready = client.get("/readyz")
        assert ready.status_code == 503, ready.get_data(as_text=True)
        assert ready.get_json()["error"]["code"] == "not_ready"
        answer = _get(client, path, token)
        assert answer.status_code == 500
        error = answer.get_json()["error"]
        assert error["code"] == "internal_error" and "daybook build" in error["message"]
        if backend != "duckdb":
            return
        # the build the API waits for can open the file: the API never did
        opened = subprocess.run(
            [
                sys.executable,
                "-c",
                f"import duckdb; duckdb.connect({str(warehouse.duckdb_path)!r}).close()",
            ],
            capture_output=True,
            text=True,
        )
        assert opened.returncode == 0, opened.stderr
        # a build publishes (here: the session's built sample, published): served at once
        from daybook.serving import publish_snapshot

        shutil.copyfile(api.warehouse.duckdb_path, warehouse.duckdb_path)
        publish_snapshot(warehouse)
        assert client.get("/readyz").status_code == 200
        served = _get(client, path, token)
        assert served.status_code == 200, served.get_data(as_text=True)
        assert served.get_json() == api.get(path, api.token(), PARAMS).json()
    finally:
        app.extensions["daybook"].reader.close()

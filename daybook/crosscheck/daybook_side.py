"""Daybook's answers: the API app in process, through Flask's test client.

The same seam the fast API tests use (``tests/in_process_api.py``): a private copy of
the built file, a published serving snapshot, a token, ``create_app``. So what is
compared is what a client of the API receives (dense series, nulls, labels), not an
internal function.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from daybook.config import Warehouse, parse_database_url
from daybook.crosscheck.sample import CrosscheckError

Value = int | float | None


def api_name(dbt_name: str) -> str:
    """A metric's API name: its dbt name with ``_`` written as ``-`` (issue 16)."""
    return dbt_name.replace("_", "-")


class DaybookApi:
    """The API over one warehouse; :meth:`series` asks the client-wide endpoint."""

    def __init__(self, app: Any, token: str) -> None:
        self._client = app.test_client()
        self._token = token

    def series(
        self, client_id: str, metric: str, granularity: str, start: date, end: date
    ) -> dict[date, Value]:
        """Bucket start -> value of ``metric`` (dbt name) for the whole client."""
        response = self._client.get(
            f"/v2/clients/{client_id}/analytics/activity",
            query_string={
                "metric": api_name(metric),
                "start_date": start.isoformat(),
                "end_date": end.isoformat(),
                "granularity": granularity,
            },
            headers={"Authorization": f"Bearer {self._token}"},
        )
        body = response.get_json(silent=True)
        if response.status_code != 200 or not isinstance(body, dict):
            raise CrosscheckError(
                f"Daybook answered {response.status_code} for {metric} {granularity}: "
                f"{response.get_data(as_text=True)[:500]}"
            )
        return {date.fromisoformat(point["date"]): point["value"] for point in body["data"]}


@contextmanager
def daybook_api(warehouse: Warehouse, folder: Path, max_range_days: int) -> Iterator[DaybookApi]:
    """The API app over a private copy of ``warehouse`` (so MetricFlow may read the
    original at the same time), allowing ranges of ``max_range_days``."""
    from api.app import create_app
    from daybook.serving import publish_snapshot
    from daybook.tokens import open_token_store

    assert warehouse.duckdb_path is not None
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / "served.duckdb"
    shutil.copyfile(warehouse.duckdb_path, copy)
    served = parse_database_url(f"duckdb://{copy}")
    publish_snapshot(served)
    _, token = open_token_store(served).create(None, label="crosscheck")
    app = create_app({"warehouse": served, "max_range_days": max_range_days})
    logging.getLogger("daybook.api").setLevel(logging.WARNING)  # one log line per request
    try:
        yield DaybookApi(app, token)
    finally:
        app.extensions["daybook"].reader.close()

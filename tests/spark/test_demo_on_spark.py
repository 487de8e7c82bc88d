"""``daybook demo`` on a Spark URL: the whole product, end to end, on the third backend.

The demo is what a new user runs first: it generates a sample, loads it into ``raw``
through the Spark Connect session, builds the marts with dbt-spark and publishes a Spark
snapshot, runs the Great Expectations suites, creates a token and serves the API under
gunicorn. The test runs the real command against the session's (emptied) Spark server,
waits until it serves, and asks with the token the demo printed: the contract's example
request and random requests for users, devices and whole clients must equal what the
independent reference (``tests/reference.py``) computes from the generated files, read
by DuckDB. Ctrl-C then stops it cleanly.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from reference import compute
from served_api import Served, activity_path, expected_body, wait_until_serving
from spark_marts import answers_like_the_reference
from support import generated_rows

from daybook.config import Warehouse

pytestmark = pytest.mark.build  # a Spark server and a dbt build of its own

DAYBOOK = str(Path(sys.executable).with_name("daybook"))
SERVE_DEADLINE_SECONDS = 1200  # load, dbt build, checks and publish on a local[2] server
TOKEN_LINE = re.compile(r"^Demo token \(all clients\): (\S+)$", re.MULTILINE)


def test_the_demo_on_spark_serves_the_reference_answers(
    spark_warehouse: Warehouse, tmp_path: Path
) -> None:
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith("SPARK_")},
        "DAYBOOK_DATABASE_URL": spark_warehouse.url,
        "DAYBOOK_STATE_DIR": str(tmp_path / "state"),
        "DAYBOOK_MAX_RANGE_DAYS": "90",
    }
    env.pop("DAYBOOK_SERVING_URL", None)
    log_path = tmp_path / "demo.log"
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen(
            [DAYBOOK, "demo", "--heartbeats", "2000", "--port", "0"],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a terminal's foreground job
        )
    try:
        url = wait_until_serving(process, log_path, seconds=SERVE_DEADLINE_SECONDS)
        output = log_path.read_text(encoding="utf-8")
        assert "Checking data quality" in output and "Published" in output, output[-4000:]
        token_match = TOKEN_LINE.search(output)
        assert token_match, output[-4000:]

        raw_dir = tmp_path / ".daybook" / "demo-data"
        raw = {
            table: generated_rows(raw_dir, table)
            for table in ("clients", "users", "devices", "heartbeats")
        }
        served = Served(
            backend="spark",
            warehouse=spark_warehouse,
            url=url,
            process=process,
            log_path=log_path,
            env=env,
            reference=compute(raw["clients"], raw["users"], raw["devices"], raw["heartbeats"]),
            clients=raw["clients"],
            users=raw["users"],
            devices=raw["devices"],
        )
        served.use_token(token_match.group(1))  # every request uses the demo's token

        # the contract's example shape: one user's activity-count, daily, two weeks
        client, user = served.active_entities("user")[0]
        start = min(
            day
            for (c, day, u, _), _ in served.reference.activity.items()
            if (c, u) == (client, user)
        )
        end = start + timedelta(days=13)
        params = {"metric": "activity-count", "start_date": str(start), "end_date": str(end)}
        answer = served.get(activity_path(client, "user", user), served.token(), params=params)
        assert answer.status_code == 200, answer.text
        want = expected_body(served, "user", client, user, "activity-count", start, end, "daily")
        assert answer.json() == want
        answers_like_the_reference(served, random.Random(29), per_entity=3)

        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(timeout=60) == 0, log_path.read_text()[-3000:]
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert "Traceback" not in log_path.read_text(encoding="utf-8", errors="replace")

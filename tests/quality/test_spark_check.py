"""``run_checks`` and ``daybook check`` on a Spark warehouse (``sc://``, issue 15).

The same suites run through GX's Spark datasource on Spark Connect. Checked as on
DuckDB and PostgreSQL (``test_quality_checks``), against the independent reference
(``tests/reference.py``) or the rows a test changes itself: a clean build has no error
finding, quarantine and raw findings count what the reference counts, a broken mart
or raw row is reported by the expectation meant for it, the marts missing before the
first build are named without SQL, and Data Docs are written.

One small generated warehouse is loaded and built once for the module on the process's
Spark server; the tests that break it run after those that read it clean.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from reference import compute, invalid_reasons
from support import read_table, reset_spark_warehouse

from daybook.cli import main
from daybook.config import Warehouse
from daybook.quality import CheckReport, run_checks
from daybook.quality.spark_sql import to_spark
from daybook.quality.suites import (
    SuiteFileError,
    load_settings,
    load_suites,
    render_query,
    runtime_parameters,
)
from daybook.warehouse import connection

from .helpers import execute, problem_counts

# a Spark server and a dbt build of its own: the build tier
pytestmark = pytest.mark.build

RAW_SUITES = ("raw.heartbeats", "raw.clients", "raw.users", "raw.devices")
RECONCILIATION = {
    "activity_reconciles_with_raw",
    "heartbeats_accounted_for",
    "fct_activity_daily_matches_valid_heartbeats",
    "user_daily_reconciles",
    "device_daily_reconciles",
}


@dataclass
class SparkSample:
    warehouse: Warehouse
    before_build: CheckReport  # the marts suite with raw tables only
    clean: CheckReport  # every suite on the clean build
    raw: dict[str, list[dict]]


@pytest.fixture(scope="module")
def sample(spark_server, tmp_path_factory: pytest.TempPathFactory) -> SparkSample:
    from daybook.build import run_build
    from daybook.build.raw_tables import ensure_raw_tables
    from daybook.generate import generate_dataset
    from daybook.load import load_files

    warehouse = reset_spark_warehouse(spark_server)
    folder = tmp_path_factory.mktemp("spark-check")
    ensure_raw_tables(warehouse)
    before_build = run_checks(warehouse, docs_dir=folder / "docs-empty", suites=["marts"])
    # 45 days: a Spark build writes one partition per local day, each costing time alone
    files = generate_dataset(
        folder / "raw", heartbeats=2_000, seed=11, days=45, file_format="parquet"
    )
    for table in ("clients", "users", "devices", "heartbeats"):
        load_files(warehouse, table, files[table])
    # the models alone: dbt's data tests on Spark are test_marts' (16 s of this setup's 113)
    result = run_build(warehouse, exclude=["resource_type:test"])
    assert result.success, result.summary()
    clean = run_checks(warehouse, docs_dir=folder / "docs-clean")
    raw = {
        table: read_table(warehouse, f"select * from raw.{table}")
        for table in ("clients", "users", "devices", "heartbeats")
    }
    return SparkSample(warehouse, before_build, clean, raw)


def _present(value: object) -> bool:
    return value is not None and value != ""


def test_clean_spark_build_has_no_error_finding(sample: SparkSample) -> None:
    report = sample.clean
    assert report.ok, [f.summary() for f in report.errors]
    assert [f.name for f in report.findings if f.error_message] == []
    marts = [f for f in report.findings if f.suite == "marts"]
    assert len(marts) >= 20 and all(f.success for f in marts)
    assert {f.suite for f in report.findings} == {*RAW_SUITES, "quarantine", "marts"}


def test_quarantine_counts_by_reason_match_the_reference(sample: SparkSample) -> None:
    raw = sample.raw
    reference = compute(raw["clients"], raw["users"], raw["devices"], raw["heartbeats"])
    expected = Counter(reason for _, reasons in reference.quarantined for reason in reasons)
    assert expected, "the generator is meant to include invalid heartbeats"
    assert sample.clean.counts_by_reason("quarantine") == dict(expected)


def test_raw_heartbeat_findings_count_the_rows_the_reference_finds_invalid(
    sample: SparkSample,
) -> None:
    clients = {row["client_id"]: row for row in sample.raw["clients"]}
    users = {row["user_id"]: row for row in sample.raw["users"]}
    devices = {row["device_id"]: row for row in sample.raw["devices"]}
    heartbeats = sample.raw["heartbeats"]
    reasons = [invalid_reasons(hb, clients, users, devices) for hb in heartbeats]

    def rows_with(reason: str) -> int:
        return sum(reason in found for found in reasons)

    expected = {
        "heartbeat_id_present": sum(not _present(hb["heartbeat_id"]) for hb in heartbeats),
        "client_id_present": sum(not _present(hb["client_id"]) for hb in heartbeats),
        "user_id_present": sum(not _present(hb["user_id"]) for hb in heartbeats),
        "device_id_present": sum(not _present(hb["device_id"]) for hb in heartbeats),
        "generated_at_present": rows_with("missing_generated_at"),
        "counts_are_non_negative_integers": rows_with("invalid_count"),
        "total_equals_sum_of_sources": rows_with("total_mismatch"),
        "client_exists": rows_with("unknown_client"),
        "user_exists": rows_with("unknown_user"),
        "user_belongs_to_client": rows_with("user_client_mismatch"),
        "device_exists": rows_with("unknown_device"),
        "device_belongs_to_client": rows_with("device_client_mismatch"),
    }
    report = sample.clean
    observed = {name: report.finding("raw.heartbeats", name).count for name in expected}
    assert observed == expected
    for name, count in expected.items():
        finding = report.finding("raw.heartbeats", name)
        assert finding.success == (count == 0) and finding.severity == "warning"
    ids = [hb["heartbeat_id"] for hb in heartbeats if _present(hb["heartbeat_id"])]
    share = report.finding("raw.heartbeats", "duplicate_share_within_bound").observed_value
    assert share == pytest.approx(1 - len(set(ids)) / len(ids))


def test_data_docs_are_written_for_every_suite(sample: SparkSample) -> None:
    index = sample.clean.docs_index
    assert index is not None and index.is_file()
    html = index.read_text()
    for suite in (*RAW_SUITES, "quarantine", "marts"):
        assert suite in html
    pages = list((index.parent / "validations").rglob("*.html"))
    batches = {(f.suite, f.batch) for f in sample.clean.findings}
    assert len(pages) == len(batches)


def test_checking_before_the_build_names_the_missing_marts(sample: SparkSample) -> None:
    report = sample.before_build
    assert not report.ok
    assert {f.severity for f in report.errors} == {"error"}
    grain = report.finding("marts", "fct_activity_daily_grain_unique")
    message = grain.error_message or ""
    assert grain.failed and "fct_activity_daily" in message
    assert "[SQL" not in message and "select " not in message.lower()
    docs = report.docs_index
    assert docs is not None and "marts" in docs.read_text()
    # none of its expectations could be evaluated: the check could not run it (exit 2)
    assert all(f.error_message for f in report.findings)
    assert [s.suite for s in report.unevaluated_suites()] == ["marts"]


def test_fractional_test_means_the_same_on_spark_as_on_duckdb(sample: SparkSample) -> None:
    """``x <> floor(x)`` is rewritten for Spark (its floor fails beyond bigint): same answer."""
    texts = ("2.5", "3.0", "-1.0", "-0.5", "1e300", "Infinity", "-Infinity", "NaN")
    values = ", ".join(f"('{text}')" for text in texts) + ", (null)"
    query = (
        "select x, x <> floor(x) as fractional"
        f" from (select cast(v as double precision) as x from (values {values}) as t(v)) as c"
    )
    with duckdb.connect() as con:
        expected = sorted(map(str, con.execute(query).fetchall()))
    actual = read_table(sample.warehouse, to_spark(query))
    assert sorted(str((row["x"], row["fractional"])) for row in actual) == expected


def test_every_batch_query_translates_for_spark() -> None:
    settings = load_settings()
    params = runtime_parameters(settings)
    for suite in load_suites():
        for batch in suite.batches:
            sql = to_spark(render_query(batch.query, settings, params))
            assert "FLOOR(" not in sql.upper() and "DOUBLE PRECISION" not in sql.upper()


def test_a_query_spark_sql_cannot_express_is_a_suite_file_error() -> None:
    """``daybook check`` exits 2 on a SuiteFileError, with sqlglot's one-line reason."""
    with pytest.raises(SuiteFileError, match="cannot read the batch query") as caught:
        to_spark("select (")
    assert "\n" not in str(caught.value) and "\x1b" not in str(caught.value)


# --------------------------------------------------------------------- broken (run last)


def _insert_rows(warehouse: Warehouse, table: str, rows: list[dict]) -> None:
    """Insert dict rows one statement each, values bound by Spark (its cursor has no
    ``executemany``)."""
    columns = list(rows[0])
    sql = f"insert into {table} ({', '.join(columns)}) values ({', '.join('?' for _ in columns)})"
    with connection(warehouse) as con:
        cursor = con.cursor()
        for row in rows:
            cursor.execute(sql, [row[column] for column in columns])


@pytest.fixture(scope="module")
def bad_raw_rows(sample: SparkSample) -> dict[str, int]:
    """Bad heartbeats appended to raw (the marts stay as built): the count each must add."""
    raw = sample.raw
    reference = compute(raw["clients"], raw["users"], raw["devices"], raw["heartbeats"])
    template = dict(sorted(reference.valid, key=lambda hb: hb["heartbeat_id"])[0])
    rows = [
        {**template, "heartbeat_id": None},
        {**template, "heartbeat_id": str(uuid.uuid4()), "chrome_activity_count": 2.5},
        {**template, "heartbeat_id": str(uuid.uuid4()), "user_id": str(uuid.uuid4())},
    ]
    _insert_rows(sample.warehouse, "raw.heartbeats", rows)
    return {
        "heartbeat_id_present": 1,
        "counts_are_non_negative_integers": 1,
        "user_exists": 1,
    }


def test_a_bad_raw_row_is_a_warning_of_the_expectation_meant_for_it(
    sample: SparkSample, bad_raw_rows: dict[str, int], tmp_path: Path
) -> None:
    report = run_checks(sample.warehouse, docs_dir=tmp_path / "docs", suites=["raw.heartbeats"])
    before = problem_counts(sample.clean, ["raw.heartbeats"])
    after = problem_counts(report, ["raw.heartbeats"])
    increase = {key[1]: after[key] - before[key] for key in after if after[key] != before[key]}
    assert increase == bad_raw_rows
    delivered = report.finding("raw.heartbeats", "heartbeats_delivered").count
    # each bad row raises one count by one: the rows delivered grew by as many
    assert delivered == len(sample.raw["heartbeats"]) + sum(bad_raw_rows.values())
    assert all(report.finding("raw.heartbeats", name).failed for name in bad_raw_rows)
    assert report.ok  # warnings never fail the check


@pytest.fixture(scope="module")
def duplicated_grain_row(sample: SparkSample, bad_raw_rows: dict[str, int]) -> dict:
    """A second copy of one fct_activity_daily row (after the raw rows' test); that row."""
    (row,) = read_table(
        sample.warehouse,
        "select client_id, activity_date, user_id, device_id from fct_activity_daily"
        " order by client_id, activity_date, user_id, device_id limit 1",
    )
    execute(
        sample.warehouse,
        "insert into fct_activity_daily select * from (select * from fct_activity_daily"
        " order by client_id, activity_date, user_id, device_id limit 1) as one_row",
    )
    return row


def test_a_duplicated_grain_row_fails_the_check_by_name(
    sample: SparkSample, duplicated_grain_row: dict, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    result = CliRunner().invoke(
        main,
        ["check", "--docs-dir", str(docs), "--suite", "marts"],
        env={"DAYBOOK_DATABASE_URL": sample.warehouse.url},
    )
    assert result.exit_code == 1, result.output
    assert (docs / "index.html").is_file()
    # both copies break the grain, and the raw rows appended earlier are neither counted
    # nor quarantined: the reconciliations fail too, and nothing else
    output = " ".join(result.output.split())  # rich wraps long lines
    must_fail = {"fct_activity_daily_grain_unique"} | RECONCILIATION
    assert f"{len(must_fail)} errors" in output
    assert all(f"error marts: {name}:" in output for name in must_fail)
    assert "error marts: fct_activity_daily_grain_unique: 2 rows" in output
    # the per-key checks name the doubled row's key (client, entity, day) and what differs
    row = duplicated_grain_row
    key = ", ".join(f"{c}={row[c]}" for c in ("client_id", "activity_date", "user_id", "device_id"))
    user_day = f"client_id={row['client_id']}, user_id={row['user_id']}"
    user_day += f", activity_date={row['activity_date']}"
    assert f"error marts: fct_activity_daily_matches_valid_heartbeats: 1 rows, e.g. '{key}: " in (
        output
    )
    assert f"error marts: user_daily_reconciles: 1 rows, e.g. '{user_day}: " in output


def test_daybook_check_without_a_spark_server_says_so(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = CliRunner().invoke(
        main,
        ["check", "--docs-dir", str(tmp_path / "docs")],
        env={"DAYBOOK_DATABASE_URL": f"sc://127.0.0.1:{port}"},
    )
    assert result.exit_code == 2, result.output
    assert "Cannot open the warehouse spark" in result.output
    assert f"127.0.0.1:{port}" in result.output and "Traceback" not in result.output

"""The benchmark end to end at a tiny size: it runs, it records everything, nothing failed.

No timing is asserted (the machine is shared); the test proves the harness:
generation, load, the build's floor and the build in measured child processes
(the floor under the build's DuckDB memory limit, its table dropped before the
build), refreshes of new heartbeats, the API and its floors under wrk (and beside
64 slow connections), the API by metric kind (simple, ratio, rolling 28d, offset) for
users, devices and whole clients (which metrics are of which kind and served on which
endpoint checked against semantic/*.yml read here; the client-wide runs answer 200 for
every request, so they asked about clients that exist), the JSON record with issue 14's
verdicts and the markdown table.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from daybook.bench.cli import bench
from daybook.semantic.loader import load_registry
from daybook.warehouse import DUCKDB_MEMORY_LIMIT_ENV

pytestmark = pytest.mark.skipif(
    shutil.which("wrk") is None, reason="wrk is not installed (apt-get install -y wrk)"
)

SEMANTIC = Path(__file__).resolve().parents[2] / "semantic"
# every dbt model of the project: what a refresh cycle's `dbt run` runs
MODELS = {path.stem for path in (SEMANTIC.parent / "models").rglob("*.sql")}
KINDS = ("simple", "ratio", "rolling 28d", "offset")
SIMPLE_AGGS = {"sum", "count", "count_distinct", "min", "max"}
DAYS = {"day": 1, "week": 7}


def _name(item: object) -> str:
    """A metric or measure reference: a bare name or ``{name: ...}``."""
    return item["name"] if isinstance(item, dict) else str(item)


def _kinds_from_yaml() -> dict[str, dict[str, set[str]]]:
    """{entity: {kind: API names of its metrics of that kind}}, from the YAML files alone.

    A metric is served for an entity when every semantic model it reads has the entity;
    simple = dbt type simple without a filter over a sum/count/count_distinct/min/max
    measure; ratio = type ratio; rolling 28d = cumulative with a window of 28 days;
    offset = derived with an input carrying ``offset_window``.
    """
    models, metrics = [], {}
    for path in sorted(SEMANTIC.rglob("*.yml")):
        data = yaml.safe_load(path.read_text()) or {}
        models += data.get("semantic_models") or []
        metrics.update({metric["name"]: metric for metric in data.get("metrics") or []})
    owner = {m["name"]: model for model in models for m in model.get("measures") or []}

    def entities(name: str) -> set[str]:
        metric, params = metrics[name], metrics[name].get("type_params", {})
        if "measure" in params:
            model = owner[_name(params["measure"])]
            found = {entity["name"] for entity in model["entities"]}
            return found | {model.get("primary_entity")} - {None}
        reads = [params["numerator"], params["denominator"]] if metric["type"] == "ratio" else []
        reads += params.get("metrics", [])
        return set.intersection(*(entities(_name(item)) for item in reads))

    def kind(metric: dict) -> str | None:
        params = metric.get("type_params", {})
        if metric["type"] == "simple":
            measure = params["measure"]
            agg = next(
                m["agg"] for m in owner[_name(measure)]["measures"] if m["name"] == _name(measure)
            )
            unfiltered = "filter" not in metric and not (
                isinstance(measure, dict) and "filter" in measure
            )
            return "simple" if unfiltered and agg in SIMPLE_AGGS else None
        if metric["type"] == "ratio":
            return "ratio"
        if metric["type"] == "cumulative":
            window = (params.get("cumulative_type_params") or {}).get("window") or params.get(
                "window"
            )
            if window:
                count, unit = str(window).split()
                if int(count) * DAYS.get(unit.lower().removesuffix("s"), 0) == 28:
                    return "rolling 28d"
            return None
        if metric["type"] == "derived" and any("offset_window" in m for m in params["metrics"]):
            return "offset"
        return None

    found: dict[str, dict[str, set[str]]] = {}
    for name, metric in metrics.items():
        metric_kind = kind(metric)
        for entity in entities(name):
            by_kind = found.setdefault(entity, {k: set() for k in KINDS})
            if metric_kind:
                by_kind[metric_kind].add(name.replace("_", "-"))
    return found


def _check_metric_kinds(record: dict, backend: str, table: str) -> None:
    """Every kind the catalogue has per endpoint (users, devices and the client-wide series)
    measured, clean, with its floors; a kind an endpoint has no metric of named in the notes;
    the metrics are those the YAML says."""
    expected = _kinds_from_yaml()
    # the catalogue of issue 16 has all four kinds, so the check below is not vacuous; the
    # client-wide series has every kind, so each of its runs is checked below
    endpoints = ("user", "device", "client")
    assert {kind for e in endpoints for kind, names in expected[e].items() if names} == set(KINDS)
    assert all(expected["client"][kind] for kind in KINDS)
    kinds = record["backends"][backend]["http"]["by_metric_kind"]
    assert kinds["granularity"] == "weekly"
    assert set(kinds["entities"]) == set(endpoints)
    for entity, by_kind in kinds["entities"].items():
        want = {kind: names for kind, names in expected[entity].items() if names}
        assert set(by_kind) == set(want), entity
        for kind, found in by_kind.items():
            assert set(found["metrics"]) == want[kind], (entity, kind)
            assert found["driver"]["requests"] > 0
            for server in ("api", "api_uncached", "bare"):
                assert set(found[server]) == {"4"}  # kinds are compared at 4 clients
                for run in found[server].values():
                    assert run["requests"] > 0 and run["errors"] == 0, (entity, kind, server)
            assert f"| {backend} | {entity} | {kind} | 4 | off |" in table
        for kind in set(KINDS) - set(want):
            why = f"the {kind} run for {entity}: no {entity} metric is"
            assert any(
                note.startswith(f"{backend}: skipped ") and why in note for note in record["notes"]
            )
            assert why in table
    assert "## API latency by metric type" in table


def _duckdb_reads_back(limit: str) -> str:
    """How DuckDB itself states ``limit`` once set (``1GB`` reads back as ``953.6 MiB``)."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"set memory_limit = '{limit}'")
    return con.execute("select current_setting('memory_limit')").fetchone()[0]


def test_bench_runs_end_to_end_and_records_every_section(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend == "postgres":
        from support import require_postgres

        require_postgres()
    # An unusual limit, so the floor's reading it back shows it ran under the build's.
    monkeypatch.setenv(DUCKDB_MEMORY_LIMIT_ENV, "1500MB")
    results = tmp_path / "results"
    outcome = CliRunner().invoke(
        bench,
        [
            "--heartbeats",
            "2000",
            "--backend",
            backend,
            "--duration",
            "1",
            "--no-small-history",
            "--refresh-cycles",
            "1",
            "--granularity",
            "weekly",
            "--results-dir",
            str(results),
            "--work-dir",
            str(tmp_path / "work"),
        ],
        catch_exceptions=False,
    )
    assert outcome.exit_code == 0, outcome.output
    (json_path,) = results.glob("*.json")
    (md_path,) = results.glob("*.md")
    record = json.loads(json_path.read_text())
    data = record["backends"][backend]
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=SEMANTIC.parent, capture_output=True, text=True
    ).stdout.strip()
    assert record["code"]["commit"] == head  # the result names the code it measured
    assert f"Code: commit {head[:12]}" in md_path.read_text()

    assert list(data["phases"]) == ["generate", "load", "floor", "build"]
    assert all(
        phase["seconds"] > 0 and phase["peak_rss_mb"] > 0 for phase in data["phases"].values()
    )
    registry = load_registry(check_manifest=False)
    activity = registry.activity.model
    assert set(data["mart_rows"]) == {activity} | {
        entity.daily_model for entity in registry.entities.values() if entity.daily_model
    }
    assert all(count > 0 for count in data["mart_rows"].values())

    floor, build = data["floor"], data["build"]
    assert 0 < floor["statement_seconds"] < data["phases"]["floor"]["seconds"]
    assert floor["rows"] == data["mart_rows"][activity]  # the same facts as the build's
    if backend == "duckdb":
        assert floor["settings"]["memory_limit"] == _duckdb_reads_back("1500MB")
    else:
        assert floor["settings"] == {}
    assert 0 < build["build_seconds"] < data["phases"]["build"]["seconds"]
    # dbt's own time per node, slowest first: every mart and the data tests are there
    timed = {node["name"]: node for node in build["nodes"]}
    assert set(data["mart_rows"]) <= set(timed)
    assert {node["type"] for node in build["nodes"]} >= {"model", "test"}
    seconds = [node["seconds"] for node in build["nodes"]]
    assert seconds == sorted(seconds, reverse=True) and seconds[0] > 0
    assert data["load"]["table_seconds"]["heartbeats"] > 0
    verdicts = record["targets"][backend]
    assert verdicts[0]["target"].startswith("full build / floor <=")
    assert verdicts[0]["measured"] == f"{build['build_seconds'] / floor['statement_seconds']:.2f}x"
    assert {check["verdict"] for check in verdicts} <= {"met", "NOT met"}
    assert len(verdicts) == 2
    histories = {run["history_heartbeats"] for run in data["refresh"]}
    assert histories == {2000}
    for run in data["refresh"]:
        arrivals = run["cycle"]["arrivals"]
        assert run["cycle"]["built"] and arrivals["heartbeats"] == run["new_heartbeats"] > 0
        # where the cycle's dbt run went: every model it ran, slowest first
        seconds = [node["seconds"] for node in run["nodes"]]
        assert seconds == sorted(seconds, reverse=True)
        models = [node["name"] for node in run["nodes"] if node["type"] == "model"]
        # each model at most once (the run's hooks are nodes too), the views left alone
        # after the build (daybook/build/views.py), the heartbeats deduplicated again
        assert len(models) == len(set(models)) and set(models) < MODELS
        assert "int_heartbeats_deduplicated" in models

    http = data["http"]
    for server, client_counts in (
        ("api", {"1", "4"}),
        ("api_uncached", {"4"}),
        ("bare", {"1", "4"}),
    ):
        assert set(http[server]) == {"user/weekly", "device/weekly"}
        for by_clients in http[server].values():
            assert set(by_clients) == client_counts
            for run in by_clients.values():
                assert run["requests"] > 0 and run["errors"] == 0
    for run in http["saturation"].values():
        for server in ("api", "api_uncached", "bare"):
            assert run[server]["requests"] > 0 and run[server]["errors"] == 0
    assert http["trivial"]["requests"] > 0 and http["trivial"]["errors"] == 0
    assert set(http["slow_clients"]) == {"user", "device"}
    for slow in http["slow_clients"].values():
        assert slow["slow_connections"] == 64 and slow["min_open"] == 64
        for run in (slow["with"], slow["without"]):
            assert run["requests"] > 0 and run["errors"] == 0
    assert all(group["requests"] > 0 for group in data["driver"].values())
    assert data["worker_rss_mb"]["api"] > 0

    table = md_path.read_text()
    for heading in (
        "Generation, load, full build",
        "Full build against its floor (issue 14)",
        "indicative only",
        "Incremental refresh",
        "answer cache off",
        "Throughput at",
        "64 slow connections held open",
    ):
        assert heading in table
    assert "| p50 / bare | p99 / bare | req/s / bare | p50 / driver |" in table
    slowest = data["refresh"][0]["nodes"][0]
    assert f"cold: {slowest['name']} {slowest['seconds']:.2f}" in table
    assert f"| {backend} | user | weekly | 4 |" in table
    assert f"| {backend} | user | 4 | 64 |" in table
    assert f"| {backend} | floor | {data['phases']['floor']['seconds']:.1f} |" in table
    for check in verdicts:
        assert (
            f"| {backend} | {check['target']} | {check['measured']} | {check['verdict']} |" in table
        )
    assert table.strip() in outcome.stdout
    _check_metric_kinds(record, backend, table)

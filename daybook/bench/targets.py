"""Issue 14's build targets judged on one bench record: the full build against its floor,
DuckDB's peak memory and PostgreSQL's load rate, with the report's section for them.

The ratio's numerator is ``dbt build`` as ``daybook build`` runs it (every mart, the
quarantine, data tests, dbt's start-up and parse included) and its
denominator the floor statement alone (:mod:`daybook.bench.floor`), both on the same
loaded data in the same run; the snapshot publish is shown apart, and with it a
second ratio, so nothing is hidden. The targets are set at 25M and 100M heartbeats:
a smaller run still gets a verdict, marked as indicative, because fixed costs (dbt's
start-up) weigh more there.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

TARGET_SIZES = (25_000_000, 100_000_000)
BUILD_RATIO = {"duckdb": 1.5, "postgres": 2.0}  # full build at most this times its floor
DUCKDB_PEAK_MB = 4 * 1024  # "4 GB": peak resident memory of the whole build, in MiB
POSTGRES_LOAD_RATE = 300_000  # heartbeats per second, over the whole load phase


@dataclass(frozen=True)
class Check:
    """One target on one backend: what it asks, what was measured, whether it holds."""

    backend: str
    target: str
    measured: str
    met: bool | None  # None: a figure it needs is missing from the record

    @property
    def verdict(self) -> str:
        return {True: "met", False: "NOT met", None: "not measured"}[self.met]


def _ratio(value: float | None, floor: float | None) -> float | None:
    return value / floor if value and floor else None


def build_failed(data: dict[str, Any]) -> bool:
    """Whether the build phase failed: its time and memory then judge nothing."""
    return bool(data.get("build", {}).get("failed"))


def build_ratio(data: dict[str, Any]) -> float | None:
    """``dbt build`` seconds over the floor statement's seconds (None when either is missing
    or the build failed)."""
    if build_failed(data):
        return None
    return _ratio(
        data.get("build", {}).get("build_seconds"), data.get("floor", {}).get("statement_seconds")
    )


def checks(backend: str, data: dict[str, Any], heartbeats: int) -> list[Check]:
    """Issue 14's build targets for one backend's bench data."""
    found: list[Check] = []
    limit = BUILD_RATIO.get(backend)
    ratio = build_ratio(data)
    build_phase = data.get("phases", {}).get("build")
    failed = build_failed(data)
    missing = f"build failed after {build_phase['seconds']:.0f}s" if failed else "-"
    if limit is not None:
        found.append(
            Check(
                backend,
                f"full build / floor <= {limit:g}x",
                missing if ratio is None else f"{ratio:.2f}x",
                None if ratio is None else ratio <= limit,
            )
        )
    if backend == "duckdb":
        peak = build_phase["peak_rss_mb"] if build_phase and not failed else None
        found.append(
            Check(
                backend,
                f"peak memory of the whole build <= {DUCKDB_PEAK_MB:,} MB (4 GB)",
                missing if peak is None else f"{peak:,.0f} MB",
                None if peak is None else peak <= DUCKDB_PEAK_MB,
            )
        )
    if backend == "postgres":
        load_phase = data.get("phases", {}).get("load")
        rate = heartbeats / load_phase["seconds"] if load_phase else None
        found.append(
            Check(
                backend,
                f"load >= {POSTGRES_LOAD_RATE:,} heartbeats/s (whole load phase)",
                "-" if rate is None else f"{rate:,.0f}/s",
                None if rate is None else rate >= POSTGRES_LOAD_RATE,
            )
        )
    return found


def record(results: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Every backend's checks as plain dicts, for the JSON record."""
    heartbeats = results["config"]["heartbeats"]
    return {
        backend: [
            asdict(check) | {"verdict": check.verdict}
            for check in checks(backend, data, heartbeats)
        ]
        for backend, data in results["backends"].items()
    }


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


# The settings a report shows of those the floor recorded (DuckDB's and Spark's).
SHOWN_SETTINGS = {
    "memory_limit": "memory_limit",
    "threads": "threads",
    "spark.master": "master",
    "spark.driver.memory": "driver memory",
    "spark.sql.shuffle.partitions": "shuffle partitions",
}


def _settings(floor: dict[str, Any]) -> str:
    settings = floor.get("settings") or {}
    shown = [
        f"{label} {settings[name]}" for name, label in SHOWN_SETTINGS.items() if name in settings
    ]
    return ", ".join(shown) or "server defaults"


def markdown_lines(results: dict[str, Any]) -> list[str]:
    """The report's section: floor, build and their ratio per backend, then the verdicts."""
    heartbeats = results["config"]["heartbeats"]
    lines = [
        "",
        "## Full build against its floor (issue 14)",
        "",
        "Floor = one hand-written statement from `raw` to the daily activity facts "
        "(earliest copy per heartbeat id, validity, client-local day, sums; "
        "`daybook/bench/floor.py`), run after the load and before the build on the same "
        "data, in its own child process, under the build's DuckDB settings (Spark: on the "
        "server the build uses). Build = "
        "`dbt build` as `daybook build` runs it (every mart, the quarantine, data "
        "tests, dbt's start-up); the snapshot publish is shown apart. Peak memory is the "
        "child process's peak resident set (on Spark the client's; the work runs in the "
        "server). Issue 14 sets targets for DuckDB and PostgreSQL only: Spark's ratio is "
        "reported without a verdict.",
        "",
        "| backend | floor s | floor peak MB | floor ran under | build s | publish s "
        "| build peak MB | build / floor | (build + publish) / floor |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for backend, data in results["backends"].items():
        floor, build = data.get("floor"), data.get("build", {})
        phases = data.get("phases", {})
        if not floor:
            continue
        statement = floor.get("statement_seconds")
        build_seconds, publish = build.get("build_seconds"), build.get("publish_seconds")
        both = (build_seconds or 0) + (publish or 0)
        ratio = build_ratio(data)
        with_publish = None if ratio is None else _ratio(both, statement)
        lines.append(
            f"| {backend} | {_seconds(statement)} "
            f"| {phases.get('floor', {}).get('peak_rss_mb', 0):,.0f} | {_settings(floor)} "
            f"| {_seconds(build_seconds)} | {_seconds(publish)} "
            f"| {phases.get('build', {}).get('peak_rss_mb', 0):,.0f} "
            f"| {'-' if ratio is None else f'{ratio:.2f}x'} "
            f"| {'-' if with_publish is None else f'{with_publish:.2f}x'} |"
        )
    lines += build_time_lines(results)
    lines += ["", "### Targets", ""]
    if heartbeats not in TARGET_SIZES:
        lines += [
            f"The targets are set at 25M and 100M heartbeats; this run has {heartbeats:,}, "
            "so its verdicts are indicative only (fixed costs such as dbt's start-up weigh "
            "more on a small history).",
            "",
        ]
    lines += ["| backend | target | measured | verdict |", "|---|---|---:|---|"]
    for backend, data in results["backends"].items():
        for check in checks(backend, data, heartbeats):
            lines.append(f"| {backend} | {check.target} | {check.measured} | {check.verdict} |")
    return lines


SLOWEST_NODES = 8  # the dbt nodes each backend's report lists by name


def build_time_lines(results: dict[str, Any]) -> list[str]:
    """Where each backend's full build spends its time: dbt's own time per node, summed
    by node type, and the slowest nodes by name (records from before the bench kept
    node timings have none, and get no section)."""
    timed = {
        backend: data["build"]["nodes"]
        for backend, data in results["backends"].items()
        if data.get("build", {}).get("nodes")
    }
    if not timed:
        return []
    lines = [
        "",
        "### Where the build's time goes",
        "",
        "dbt's execution time per node (`run_results`), from the full build above. dbt runs "
        "two nodes at a time, so node times add up to more than the build's wall time; the "
        "rest of the wall time is dbt's start-up, parse and scheduling.",
        "",
        "| backend | node | type | seconds | share of node time |",
        "|---|---|---|---:|---:|",
    ]
    for backend, nodes in timed.items():
        total = sum(node["seconds"] for node in nodes) or 1.0
        by_type: dict[str, float] = {}
        counts: dict[str, int] = {}
        for node in nodes:
            by_type[node["type"]] = by_type.get(node["type"], 0.0) + node["seconds"]
            counts[node["type"]] = counts.get(node["type"], 0) + 1
        for node in nodes[:SLOWEST_NODES]:
            lines.append(
                f"| {backend} | {node['name']} | {node['type']} | {node['seconds']:.1f} "
                f"| {node['seconds'] / total:.0%} |"
            )
        for node_type, seconds in sorted(by_type.items(), key=lambda item: -item[1]):
            count = counts[node_type]
            lines.append(
                f"| {backend} | all {count} {node_type} nodes | {node_type} | {seconds:.1f} "
                f"| {seconds / total:.0%} |"
            )
    return lines

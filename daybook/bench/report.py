"""Benchmark results: the machine, a JSON record and a markdown table with ratios to floors
(the build's floor and issue 14's targets: :mod:`daybook.bench.targets`; the API's
sections: :mod:`daybook.bench.report_api`)."""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from daybook.bench import targets
from daybook.bench.report_api import api_lines


def log(message: str) -> None:
    """One progress line on stderr, stamped with the time."""
    click.echo(f"[bench {datetime.now(UTC):%H:%M:%S}] {message}", err=True)


def describe_machine() -> dict[str, Any]:
    """CPU, cores, memory and versions, so a result can be compared with another machine's."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    import duckdb

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
    }


def describe_code() -> dict[str, Any]:
    """The commit the bench ran (and whether tracked files had changes: new result files
    are not code), so a result names the code it measured; empty outside a git checkout."""
    import subprocess

    from daybook.config import project_dir

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=project_dir(), capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        changed = git("status", "--porcelain", "--untracked-files=no")
        return {"commit": git("rev-parse", "HEAD"), "changed": bool(changed)}
    except (OSError, subprocess.CalledProcessError):
        return {}


def write_results(results: dict[str, Any], folder: Path) -> tuple[Path, Path]:
    """``<folder>/<timestamp>.json`` and ``.md``; returns both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.fromisoformat(results["started_at"]).strftime("%Y%m%dT%H%M%SZ")
    json_path = folder / f"{stamp}.json"
    md_path = folder / f"{stamp}.md"
    json_path.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    md_path.write_text(markdown(results), encoding="utf-8")
    return json_path, md_path


def _code_line(code: dict[str, Any]) -> list[str]:
    if not code:
        return []
    changed = " with uncommitted changes" if code.get("changed") else ""
    return [f"Code: commit {code['commit'][:12]}{changed}."]


def markdown(results: dict[str, Any]) -> str:
    """The human summary: setup, build, refresh, latency with floors, saturation, memory."""
    machine = results["machine"]
    config = results["config"]
    lines = [
        f"# Daybook benchmark, {results['started_at']}",
        "",
        f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gb']} GB; "
        f"{machine['os']}; Python {machine['python']}; DuckDB {machine['duckdb']}.",
        *_code_line(results.get("code", {})),
        f"Size: {config['heartbeats']:,} heartbeats generated; load runs "
        f"{config['duration']:g}s each; gunicorn {config['workers']} workers x "
        f"{config['threads']} app threads (uvicorn workers, as `daybook serve`) for the API "
        "and the floors; wrk on loopback.",
    ]
    days = config.get("days")
    if days:
        lines.append(
            f"Shape: {days} days, one user per {config['heartbeats_per_user']:,} heartbeats, "
            f"about {config['heartbeats_per_active_day']:g} heartbeats per active user-day."
        )
    for backend, data in results["backends"].items():
        rows = data.get("mart_rows")
        if rows:
            lines.append(
                f"Marts built on {backend}: "
                + ", ".join(f"{name} {count:,} rows" for name, count in rows.items())
                + "."
            )
    lines += [
        "",
        "## Generation, load, full build",
        "",
        "| backend | step | seconds | peak memory (MB) |",
        "|---|---|---:|---:|",
    ]
    for backend, data in results["backends"].items():
        for step, phase in data.get("phases", {}).items():
            lines.append(
                f"| {backend} | {step} | {phase['seconds']:.1f} | {phase['peak_rss_mb']:.0f} |"
            )
    lines += targets.markdown_lines(results)
    lines += [
        "",
        "## Incremental refresh of five minutes of new heartbeats",
        "",
        "End to end = load the new file + incremental dbt run + publish (DuckDB snapshot; "
        "Spark: a snapshot database; PostgreSQL: nothing to publish), "
        "cycles in one process as `daybook refresh --every` runs them; the cold cycle "
        "includes importing dbt.",
        "",
        "| backend | history (heartbeats) | cycle | new heartbeats | load s | build s "
        "| publish s | end to end s |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for backend, data in results["backends"].items():
        for run in data.get("refresh", []):
            cycle = run["cycle"]
            lines.append(
                f"| {backend} | {run['history_heartbeats']:,} "
                f"| {'cold' if run.get('cold') else 'warm'} | {run['new_heartbeats']:,} "
                f"| {run['load_seconds']:.2f} | {cycle['build_seconds']:.2f} "
                f"| {cycle['publish_seconds']:.2f} | {run['end_to_end_seconds']:.2f} |"
            )
    lines += _refresh_node_lines(results)
    lines += api_lines(results)
    if results.get("notes"):
        lines += ["", "## Notes", ""] + [f"- {note}" for note in results["notes"]]
    return "\n".join(lines) + "\n"


SLOWEST_REFRESH_NODES = 6  # the dbt models each refresh cycle's report names


def _refresh_node_lines(results: dict[str, Any]) -> list[str]:
    """Where each refresh cycle spent its dbt run: its slowest models by name, in seconds
    (records from before the bench kept refresh node timings have none)."""
    lines = []
    for backend, data in results["backends"].items():
        for run in data.get("refresh", []):
            nodes = run.get("nodes") or []
            slowest = ", ".join(
                f"{node['name']} {node['seconds']:.2f}" for node in nodes[:SLOWEST_REFRESH_NODES]
            )
            if slowest:
                lines.append(
                    f"- {backend}, {run['history_heartbeats']:,} heartbeats of history, "
                    f"{'cold' if run.get('cold') else 'warm'}: {slowest}"
                )
    if not lines:
        return []
    return ["", "Slowest models of each cycle's dbt run (seconds; two run at a time):", "", *lines]

"""``python -m daybook.crosscheck --mf .venv-crosscheck/bin/mf`` (``make crosscheck``).

Builds the sample, asks both sides every shipped metric at every grain for the UTC
client over whole periods, prints the tables, and exits 1 only when a difference has
no known cause (2 when the cross-check could not run at all).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from daybook.config import parse_database_url
from daybook.crosscheck import metricflow, report
from daybook.crosscheck.compare import Comparison, Metric, compare, unexplained
from daybook.crosscheck.daybook_side import daybook_api
from daybook.crosscheck.periods import GRAINS, Grain, bucket_start, whole_periods
from daybook.crosscheck.sample import CrosscheckError, Sample, build_sample, describe

VERSIONED = ("dbt-metricflow", "metricflow", "dbt-core", "dbt-duckdb", "duckdb")


def shipped_metrics(semantic_manifest: Path) -> list[Metric]:
    """Every metric of the semantic manifest (semantic/metrics/*.yml), in file order."""
    manifest = json.loads(semantic_manifest.read_text(encoding="utf-8"))
    return [
        Metric(
            m["name"],
            m["type"],
            (m["type_params"].get("cumulative_type_params") or {}).get("period_agg"),
            tuple(
                i["name"]
                for i in m["type_params"].get("metrics") or []
                if not i.get("offset_window") and not i.get("offset_to_grain")
            ),
        )
        for m in manifest["metrics"]
    ]


def versions(mf: Path) -> dict[str, str]:
    """The crosscheck environment's package versions (read by its own Python)."""
    code = (
        "import json, importlib.metadata as m; "
        f"print(json.dumps({{n: m.version(n) for n in {list(VERSIONED)!r}}}))"
    )
    python = mf.with_name("python")
    result = subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    if result.returncode != 0:
        return {"error": result.stderr.strip()[-300:]}
    return json.loads(result.stdout)


def run(args: argparse.Namespace, workdir: Path) -> int:
    """The whole cross-check in ``workdir``; the exit status (0, or 1 if unexplained)."""
    started = time.perf_counter()
    mf = Path(args.mf).resolve()
    if not mf.is_file():
        raise CrosscheckError(f"no mf at {mf}: run `make crosscheck` (it installs it)")
    built = workdir / "sample" / "warehouse.duckdb"
    if args.reuse and built.is_file():
        print(f"==> reusing the sample warehouse {built}", flush=True)
        first = args.start
        sample = describe(
            parse_database_url(f"duckdb://{built}"), first, first + timedelta(days=args.days - 1)
        )
    else:
        print(f"==> building the sample warehouse in {workdir}", flush=True)
        sample = build_sample(
            workdir / "sample",
            heartbeats=args.heartbeats,
            users=args.users,
            seed=args.seed,
            start=args.start,
            days=args.days,
        )
    assert sample.warehouse.duckdb_path is not None
    metrics = shipped_metrics(sample.semantic_manifest)
    cut = {g: whole_periods(g, sample.first_day, sample.last_day) for g in GRAINS}
    ranges = {g: period for g, period in cut.items() if period is not None}
    print(
        f"==> client {sample.client_id} (UTC), window {sample.first_day}..{sample.last_day}; "
        f"{len(metrics)} metrics x {len(ranges)} grains",
        flush=True,
    )
    project, profiles = metricflow.write_project(
        workdir / "metricflow", sample.semantic_manifest, sample.warehouse.duckdb_path
    )
    tasks = [(m, g) for m in metrics for g in ranges]
    answers = _ask_metricflow(
        mf, project, profiles, sample, tasks, ranges, workdir, args.jobs, args.reuse
    )
    comparisons: list[Comparison] = []
    with daybook_api(sample.warehouse, workdir / "daybook", max_range_days=400) as api:
        for metric, grain in tasks:
            start, end = ranges[grain]  # type: ignore[misc]
            mine = api.series(sample.client_id, metric.name, grain.daybook, start, end)
            daily = api.series(
                sample.client_id, metric.name, "daily", sample.first_day, sample.last_day
            )
            answer = answers[(metric.name, grain.metricflow)]
            comparisons.append(
                compare(
                    metric,
                    grain.metricflow,
                    mine,
                    answer.rows,
                    metricflow_error=answer.error,
                    daily=daily,
                    input_gaps=_input_gaps(metric, grain, answers, start, end),
                )
            )
    open_ = unexplained(comparisons)
    found = [d for c in comparisons for d in c.differences]
    for metric, grain in {(d.metric, d.grain) for d in open_}:
        _explain(mf, project, profiles, sample, metric, grain, ranges, workdir)
    print()
    print(report.summary(comparisons))
    print()
    print(report.grouped(found))
    (workdir / "differences.txt").write_text(report.differences(found) + "\n", encoding="utf-8")
    if args.show:
        print()
        print(report.differences(found, limit=args.show))
    print()
    print(report.causes(found))
    meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "versions": versions(mf),
        "client": sample.client_id,
        "ranges": {g.metricflow: f"{s}..{e}" for g, (s, e) in ranges.items()},  # type: ignore[misc]
        "sample": f"{args.heartbeats} heartbeats, {args.users} users, seed {args.seed}",
        "window": f"{sample.first_day}..{sample.last_day}",
        "seconds": round(time.perf_counter() - started),
    }
    print(f"\n{json.dumps(meta)}")
    if args.markdown:
        Path(args.markdown).write_text(_markdown(meta, comparisons, found), encoding="utf-8")
        print(f"==> wrote {args.markdown}")
    if open_:
        print(f"\n{len(open_)} unexplained difference(s); MetricFlow's SQL is in {workdir}/explain")
        return 1
    print(f"\nno unexplained difference ({len(found)} explained; each: {workdir}/differences.txt)")
    return 0


def _input_gaps(metric: Metric, grain: Grain, answers, start: date, end: date) -> frozenset:
    """Buckets of ``start..end`` where MetricFlow has no row for one of ``metric``'s
    unshifted inputs (its own answer for that input, same grain and range)."""
    buckets = {
        bucket_start(grain, start + timedelta(days=n)) for n in range((end - start).days + 1)
    }
    gaps: set[date] = set()
    for name in metric.inputs:
        answer = answers.get((name, grain.metricflow))
        if answer is not None and answer.error is None:
            gaps |= buckets - {bucket for bucket, _ in answer.rows}
    return frozenset(gaps)


def _ask_metricflow(
    mf, project, profiles, sample: Sample, tasks, ranges, workdir: Path, jobs, reuse
):
    """Every (metric, grain) through ``mf query``, ``jobs`` at a time (``reuse``: read the
    CSV a previous run left instead, where there is one)."""
    out = workdir / "metricflow" / "csv"
    out.mkdir(parents=True, exist_ok=True)

    def ask(task: tuple[Metric, Grain]):
        metric, grain = task
        start, end = ranges[grain]
        saved = out / f"{metric.name}-{grain.metricflow}.csv"
        if reuse and saved.is_file():
            rows = metricflow.read_csv(saved, f"metric_time__{grain.metricflow}", metric.name)
            return (metric.name, grain.metricflow), metricflow.MfAnswer(rows)
        answer = metricflow.query(
            mf,
            project,
            profiles,
            metric=metric.name,
            grain=grain.metricflow,
            client_id=sample.client_id,
            start=start,
            end=end,
            out_csv=out / f"{metric.name}-{grain.metricflow}.csv",
        )
        status = answer.error or f"{len(answer.rows)} rows"
        print(f"    mf query {metric.name} by {grain.metricflow}: {status}", flush=True)
        return (metric.name, grain.metricflow), answer

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return dict(pool.map(ask, tasks))


def _explain(mf, project, profiles, sample: Sample, metric: str, grain: str, ranges, workdir):
    """Keep MetricFlow's SQL for a metric with an unexplained difference."""
    chosen = next(g for g in ranges if g.metricflow == grain)
    start, end = ranges[chosen]
    answer = metricflow.query(
        mf,
        project,
        profiles,
        metric=metric,
        grain=grain,
        client_id=sample.client_id,
        start=start,
        end=end,
        out_csv=Path("/dev/null"),
        explain=True,
    )
    folder = workdir / "explain"
    folder.mkdir(exist_ok=True)
    (folder / f"{metric}-{grain}.sql").write_text(answer.sql or "(no SQL)", encoding="utf-8")


def _markdown(meta: dict, comparisons: list[Comparison], found: list) -> str:
    lines = [
        f"Run: {meta['date']}, {meta['seconds']} s. Versions: "
        + ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
        + ".",
        f"Sample: {meta['sample']}; client `{meta['client']}` (UTC), "
        f"generated window {meta['window']}.",
        "Ranges (whole periods): " + ", ".join(f"{g} {r}" for g, r in meta["ranges"].items()) + ".",
        "",
        "### Every metric at every grain",
        "",
        report.summary(comparisons, markdown=True),
        "",
        "### The differences, per metric, grain and cause",
        "",
        report.grouped(found, markdown=True) if found else "None.",
        "",
        "### Their causes",
        "",
        report.causes(found, markdown=True) if found else "None.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m daybook.crosscheck", description=__doc__)
    parser.add_argument("--mf", required=True, help="the mf executable (dbt-metricflow 0.15)")
    parser.add_argument("--workdir", help="keep the sample and MetricFlow's files here")
    parser.add_argument("--heartbeats", type=int, default=120_000)
    parser.add_argument("--users", type=int, default=240)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--start", type=date.fromisoformat, default=date(2025, 10, 1), help="first day generated"
    )
    parser.add_argument("--days", type=int, default=182, help="days generated")
    parser.add_argument("--jobs", type=int, default=2, help="mf queries at once")
    parser.add_argument(
        "--show", type=int, default=0, help="also print the first N differences one by one"
    )
    parser.add_argument(
        "--reuse", action="store_true", help="reuse the sample and mf's CSVs already in --workdir"
    )
    parser.add_argument("--markdown", help="also write the tables as Markdown to this file")
    args = parser.parse_args(argv)
    try:
        if args.workdir:
            Path(args.workdir).mkdir(parents=True, exist_ok=True)
            return run(args, Path(args.workdir).resolve())
        with tempfile.TemporaryDirectory(prefix="daybook-crosscheck-") as folder:
            return run(args, Path(folder))
    except CrosscheckError as error:
        print(f"crosscheck: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

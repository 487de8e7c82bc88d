"""Issue 14's build targets as the bench report judges them, on hand-made records.

The verdicts are plain comparisons of recorded figures with the issue's limits;
these tests pin their wording and their boundaries (a figure at the limit meets
it), and that a missing figure is reported as such, never as met.
"""

from __future__ import annotations

from daybook.bench.targets import (
    BUILD_RATIO,
    DUCKDB_PEAK_MB,
    POSTGRES_LOAD_RATE,
    build_time_lines,
    checks,
    markdown_lines,
    record,
)


def _data(build: float, floor: float, peak: float, load: float) -> dict:
    return {
        "phases": {
            "load": {"seconds": load, "peak_rss_mb": 100.0},
            "floor": {"seconds": floor + 1, "peak_rss_mb": 200.0},
            "build": {"seconds": build + 5, "peak_rss_mb": peak},
        },
        "floor": {"statement_seconds": floor, "rows": 10, "settings": {}},
        "build": {"build_seconds": build, "publish_seconds": 2.0},
    }


def test_duckdb_targets_at_and_beyond_their_limits() -> None:
    limit = BUILD_RATIO["duckdb"]
    at_limit = checks("duckdb", _data(limit * 40, 40, DUCKDB_PEAK_MB, 10), 25_000_000)
    assert [check.met for check in at_limit] == [True, True]
    beyond = checks("duckdb", _data(limit * 40 + 1, 40, DUCKDB_PEAK_MB + 1, 10), 25_000_000)
    assert [check.verdict for check in beyond] == ["NOT met", "NOT met"]
    assert beyond[0].measured == f"{(limit * 40 + 1) / 40:.2f}x"


def test_postgres_targets_include_the_load_rate() -> None:
    heartbeats = 25_000_000
    seconds = heartbeats / POSTGRES_LOAD_RATE
    met = checks("postgres", _data(70, 40, 1, seconds), heartbeats)
    assert [check.met for check in met] == [True, True]
    slow = checks("postgres", _data(90, 40, 1, seconds * 1.01), heartbeats)
    assert [check.met for check in slow] == [False, False]


def test_missing_figures_are_not_measured_and_small_runs_are_marked() -> None:
    results = {
        "config": {"heartbeats": 2_000},
        "backends": {"duckdb": {"phases": {}}, "postgres": _data(60, 40, 1, 1)},
    }
    verdicts = record(results)
    assert [check["verdict"] for check in verdicts["duckdb"]] == ["not measured"] * 2
    lines = "\n".join(markdown_lines(results))
    assert "indicative only" in lines
    assert "| postgres | full build / floor <= 2x | 1.50x | met |" in lines
    assert "| postgres | 40.0 | 200 | server defaults | 60.0 | 2.0 | 1 | 1.50x | 1.55x |" in lines


def test_build_time_section_lists_the_slowest_nodes_and_sums_by_type() -> None:
    nodes = [
        {"name": f"model_{index}", "type": "model", "seconds": float(index)} for index in range(12)
    ] + [{"name": "unique_key", "type": "test", "seconds": 30.0}]
    data = _data(100, 40, 1, 1)
    data["build"]["nodes"] = sorted(nodes, key=lambda node: -node["seconds"])
    results = {"config": {"heartbeats": 2_000}, "backends": {"duckdb": data}}
    assert "### Where the build's time goes" in markdown_lines(results)
    rows = [line for line in build_time_lines(results) if line.startswith("| duckdb | ")]
    total = 30.0 + sum(range(12))
    named = [row.split(" | ")[1] for row in rows if not row.split(" | ")[1].startswith("all ")]
    assert named == ["unique_key", "model_11", "model_10", "model_9", "model_8", "model_7",
                     "model_6", "model_5"]  # fmt: skip
    assert f"| duckdb | all 12 model nodes | model | {sum(range(12)):.1f} |" in "\n".join(rows)
    assert f"| {30 / total:.0%} |" in rows[0]
    # a record without node timings (older results) gets no section
    del data["build"]["nodes"]
    assert "### Where the build's time goes" not in "\n".join(markdown_lines(results))

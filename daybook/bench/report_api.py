"""The benchmark report's API sections: each latency against its floors (the bare
Flask view on the same stack, the driver in process), so a reader sees what the API
costs on top of the query; the rest of the report is :mod:`daybook.bench.report`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def _ratio(value: float | None, floor: float | None) -> str:
    if not value or not floor:
        return "-"
    return f"{value / floor:.2f}x"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _latency_rows(results: dict[str, Any], server: str) -> Iterator[tuple]:
    """(backend, backend data, group, clients, run, bare run at the same load) per row."""
    for backend, data in results["backends"].items():
        http = data.get("http", {})
        for group, by_clients in http.get(server, {}).items():
            for clients, run in by_clients.items():
                bare = http.get("bare", {}).get(group, {}).get(clients, {})
                yield backend, data, group, clients, run, bare


def _latency_cells(run: dict[str, Any]) -> str:
    """p50, p95, p99 and req/s cells of one load run."""
    return (
        f"| {_ms(run['p50_ms'])} | {_ms(run['p95_ms'])} | {_ms(run['p99_ms'])} | {run['rps']:.0f}"
    )


def _against(run: dict[str, Any], bare: dict[str, Any]) -> str:
    """p50, p99 and req/s of a run as ratios to the bare handler's at the same load."""
    return (
        f" | {_ratio(run['p50_ms'], bare.get('p50_ms'))} "
        f"| {_ratio(run['p99_ms'], bare.get('p99_ms'))} "
        f"| {_ratio(run['rps'], bare.get('rps'))}"
    )


def _spark_api_lines(results: dict[str, Any]) -> list[str]:
    """The API on Spark: straight from Spark and from a DuckDB serving store published from it."""
    measured = [
        (backend, data["spark_api"])
        for backend, data in results["backends"].items()
        if data.get("spark_api")
    ]
    if not measured:
        return []
    lines = [
        "",
        "## The API on Spark, answer cache off",
        "",
        "*Spark*: `daybook serve` on the `sc://` warehouse, each request queried on the "
        "current Spark snapshot database. *DuckDB store*: the same API with "
        "`DAYBOOK_SERVING_URL` naming a DuckDB file, after one publish from Spark into it. "
        "Few sampled requests per endpoint and granularity (every metric in rotation); "
        "driver = the same compiled SQL through one connection in process, one at a time.",
        "",
        "| backend | served from | endpoint | granularity | clients | p50 | p95 | p99 | req/s "
        "| driver p50 | p50 / driver | errors |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    notes = []
    for backend, spark_api in measured:
        for served, found in spark_api.items():
            if not isinstance(found, dict) or "api_uncached" not in found:
                continue
            for group, by_clients in found["api_uncached"].items():
                entity, granularity = group.split("/")
                driver = found.get("driver", {}).get(group, {})
                for clients, run in by_clients.items():
                    lines.append(
                        f"| {backend} | {served} | {entity} | {granularity} | {clients} "
                        f"{_latency_cells(run)} | {_ms(driver.get('p50_ms'))} "
                        f"| {_ratio(run['p50_ms'], driver.get('p50_ms'))} | {run['errors']} |"
                    )
            rss = found.get("worker_rss_mb")
            if rss:
                notes.append(
                    f"{backend}: peak API worker memory serving from {served}: {rss:.0f} MB"
                )
        publish = spark_api.get("store_publish")
        if publish:
            notes.append(
                f"{backend}: publish into the DuckDB serving store: {publish['seconds']:.1f} s "
                f"in its child process ({publish['publish_seconds']:.1f} s publishing), "
                f"peak {publish['peak_rss_mb']:.0f} MB"
            )
    if notes:
        lines += [""] + [f"- {note}" for note in notes]
    return lines


def _metric_kind_lines(results: dict[str, Any]) -> list[str]:
    """The API by metric kind (``http.by_metric_kind``): each kind's runs beside its floors."""
    measured = [
        (backend, data["http"]["by_metric_kind"])
        for backend, data in results["backends"].items()
        if data.get("http", {}).get("by_metric_kind")
    ]
    if not measured:
        return []
    first = measured[0][1]
    lines = [
        "",
        "## API latency by metric type",
        "",
        f"One run per endpoint and metric type at {first['granularity']} granularity "
        f"({first['seconds_per_run']:g}s each), rotating through the endpoint's metrics of "
        "that type over the same sampled ids and 90-day ranges for every type; endpoint "
        "*client* is the client-wide series (`/v2/clients/{client_id}/analytics/activity`, "
        "every user and device of a client with activity), its floors the same compiled "
        "client-wide SQL. Types are "
        "read from the catalogue: *simple* = one aggregation over one mart, no filter; "
        "*ratio* = dbt ratio; *rolling 28d* = cumulative over a trailing 28-day window; "
        "*offset* = derived with an `offset_window` input. Answer cache on (repeated "
        "questions) and off (every request queries the warehouse); floors and ratios as "
        "above, at the same clients; latencies in ms.",
        "",
        "| backend | endpoint | type | clients | answer cache | p50 | p99 | req/s "
        "| bare p50 | bare p99 | bare req/s | driver p50 | p50 / bare | p99 / bare "
        "| req/s / bare | p50 / driver | errors |",
        "|---|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    notes = []
    for backend, kinds in measured:
        for entity, by_kind in kinds["entities"].items():
            for kind, found in by_kind.items():
                notes.append(f"{backend} {entity} {kind}: {', '.join(found['metrics'])}")
                driver = found.get("driver", {})
                for server, cache in (("api", "on"), ("api_uncached", "off")):
                    for clients, run in found.get(server, {}).items():
                        bare = found.get("bare", {}).get(clients, {})
                        lines.append(
                            f"| {backend} | {entity} | {kind} | {clients} | {cache} "
                            f"| {_ms(run['p50_ms'])} | {_ms(run['p99_ms'])} | {run['rps']:.0f} "
                            f"| {_ms(bare.get('p50_ms'))} | {_ms(bare.get('p99_ms'))} "
                            f"| {bare.get('rps', 0):.0f} | {_ms(driver.get('p50_ms'))}"
                            f"{_against(run, bare)} "
                            f"| {_ratio(run['p50_ms'], driver.get('p50_ms'))} "
                            f"| {run['errors'] + bare.get('errors', 0)} |"
                        )
        notes += [f"{backend}: not measured: {why}" for why in kinds.get("skipped", [])]
    lines += ["", "Metrics per type:", ""] + [f"- {note}" for note in notes]
    return lines


def api_lines(results: dict[str, Any]) -> list[str]:
    """The API sections: latency with its floors (answer cache on and off), by metric
    type, on Spark, at saturation, beside slow clients, and a worker's memory."""
    config = results["config"]
    lines: list[str] = []
    lines += [
        "",
        "## API latency (ms) with its floors",
        "",
        "Each row rotates through every metric of the endpoint over sampled ids and 90-day "
        "ranges. Floors: *bare* = the same compiled SQL in a minimal Flask view on the same "
        "gunicorn stack; *driver* = the same SQL through the raw driver in process, one at a "
        "time. Ratios are API / floor.",
        "",
        "| backend | endpoint | granularity | clients | API p50 | p95 | p99 | req/s "
        "| bare p50 | bare p99 | bare req/s | driver p50 | p50 / bare | p99 / bare "
        "| req/s / bare | p50 / driver | errors |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for backend, data, group, clients, api, bare in _latency_rows(results, "api"):
        entity, granularity = group.split("/")
        driver = data.get("driver", {}).get(group, {})
        lines.append(
            f"| {backend} | {entity} | {granularity} | {clients} {_latency_cells(api)} "
            f"| {_ms(bare.get('p50_ms'))} | {_ms(bare.get('p99_ms'))} "
            f"| {bare.get('rps', 0):.0f} | {_ms(driver.get('p50_ms'))}"
            f"{_against(api, bare)} | {_ratio(api['p50_ms'], driver.get('p50_ms'))} "
            f"| {api['errors'] + bare.get('errors', 0)} |"
        )
    lines += [
        "",
        "### The API with its answer cache off, 4 clients",
        "",
        "The mix above repeats its sampled requests, so after the warm-up the API answers "
        "them from its answer cache (keyed on the data version; see `api/answer_cache.py`). "
        "Here every request queries the warehouse: the cost of a first-time question.",
        "",
        "| backend | endpoint | granularity | p50 | p95 | p99 | req/s | p50 / bare "
        "| p99 / bare | req/s / bare | errors |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for backend, _, group, _, api, bare in _latency_rows(results, "api_uncached"):
        entity, granularity = group.split("/")
        lines.append(
            f"| {backend} | {entity} | {granularity} {_latency_cells(api)}"
            f"{_against(api, bare)} | {api['errors']} |"
        )
    lines += _metric_kind_lines(results)
    lines += _spark_api_lines(results)
    lines += [
        "",
        "## Throughput at saturation",
        "",
        "| backend | endpoint | clients | API req/s | API p50 ms | uncached API req/s "
        "| bare req/s | API / bare | uncached / bare | trivial JSON req/s | API / trivial "
        "| errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for backend, data in results["backends"].items():
        http = data.get("http", {})
        trivial = http.get("trivial", {})
        for entity, run in http.get("saturation", {}).items():
            api, bare = run["api"], run["bare"]
            uncached = run.get("api_uncached", {})
            lines.append(
                f"| {backend} | {entity} | {api['connections']} | {api['rps']:.0f} "
                f"| {_ms(api['p50_ms'])} | {uncached.get('rps', 0):.0f} | {bare['rps']:.0f} "
                f"| {_ratio(api['rps'], bare['rps'])} "
                f"| {_ratio(uncached.get('rps'), bare['rps'])} "
                f"| {trivial.get('rps', 0):.0f} | {_ratio(api['rps'], trivial.get('rps'))} "
                f"| {api['errors'] + bare['errors'] + uncached.get('errors', 0)} |"
            )
    lines += [
        "",
        f"## API latency with {config.get('slow_connections', 64)} slow connections held open",
        "",
        "The same load (every metric and granularity of the endpoint, answer cache on) "
        "without, then with, slow clients beside it: connections that sent a request line "
        "and a header and then trickle a header line a second, never finishing (reopened "
        "at once when the server's request-read deadline closes them).",
        "",
        "| backend | endpoint | clients | slow connections | p50 | p99 | req/s "
        "| p50 without | p99 without | req/s without | errors | slow reopened |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for backend, data in results["backends"].items():
        for entity, slow in data.get("http", {}).get("slow_clients", {}).items():
            beside, alone = slow["with"], slow["without"]
            lines.append(
                f"| {backend} | {entity} | {slow['clients']} | {slow['min_open']} "
                f"| {_ms(beside['p50_ms'])} | {_ms(beside['p99_ms'])} | {beside['rps']:.0f} "
                f"| {_ms(alone['p50_ms'])} | {_ms(alone['p99_ms'])} | {alone['rps']:.0f} "
                f"| {beside['errors'] + alone['errors']} | {slow['reopened']} |"
            )
    lines += [
        "",
        "## Memory of a serving worker (peak resident, MB)",
        "",
        "| backend | API worker | uncached API worker | bare worker |",
        "|---|---:|---:|---:|",
    ]
    for backend, data in results["backends"].items():
        if "worker_rss_mb" not in data:
            continue  # Spark's API workers are in its own section
        rss = data["worker_rss_mb"]
        cells = [rss.get(name) for name in ("api", "api_uncached", "bare")]
        lines.append(
            f"| {backend} | "
            + " | ".join("-" if mb is None else f"{mb:.0f}" for mb in cells)
            + " |"
        )
    return lines

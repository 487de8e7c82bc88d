"""What one ``daybook bench`` invocation runs with, passed as one value to every backend's
phases instead of the same seven arguments threaded through each function."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class BenchSettings:
    """The command's options that every backend's measurement reads.

    ``heartbeats``: size of the generated history; ``work``: scratch folder for data,
    warehouses and logs; ``duration``: seconds per load-tool run; ``workers`` and
    ``threads``: the gunicorn command line of the API and its floors;
    ``refresh_cycles``: five-minute refreshes measured per history; ``granularities``:
    those load-tested; ``keep``: leave the warehouses behind afterwards; ``spark_url``: a
    running Spark Connect server with an empty warehouse to bench on, instead of a local
    server the bench starts and stops (a cluster, or a server already warm).
    """

    heartbeats: int
    work: Path
    duration: float
    workers: int
    threads: int
    refresh_cycles: int
    granularities: tuple[str, ...]
    keep: bool = False
    spark_url: str | None = None

"""Throughput check: ``python -m daybook.generate [HEARTBEATS] [csv|parquet]``.

Writes into a temporary folder and prints heartbeats per second, by wall
clock and by CPU time (the second is the fairer figure on a shared machine).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from daybook.generate.dataset import generate_dataset


def main(argv: list[str]) -> None:
    heartbeats = int(argv[0]) if argv else 5_000_000
    file_format = argv[1] if len(argv) > 1 else "parquet"
    with tempfile.TemporaryDirectory() as folder:
        wall, cpu = time.perf_counter(), time.process_time()
        files = generate_dataset(
            Path(folder), heartbeats=heartbeats, seed=1, file_format=file_format, progress=True
        )
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        size = sum(path.stat().st_size for paths in files.values() for path in paths)
    print(
        f"{heartbeats:,} heartbeats ({file_format}, {size / 1e6:,.0f} MB, "
        f"{len(files['heartbeats'])} files): {wall:.1f}s wall = {heartbeats / wall:,.0f}/s, "
        f"{cpu:.1f}s CPU = {heartbeats / cpu:,.0f}/s"
    )


if __name__ == "__main__":
    main(sys.argv[1:])

"""``generate_dataset``: a seeded, reproducible raw dataset of a chosen size.

Memory stays bounded at any size: the plan (user-days) is small, and
heartbeats are produced one batch of planned user-days at a time (about half
a million rows, small enough for the allocator to reuse memory), each batch
from its own seeded random stream, so the result depends only on the seed and
the size, never on timing or machine. Batches are appended to files of about
two million rows by a background thread while the next batch is generated.
"""

from __future__ import annotations

import itertools
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from daybook.generate.activity import MEAN_HEARTBEATS_PER_ACTIVE_DAY, plan_activity
from daybook.generate.entities import build_entities
from daybook.generate.heartbeats import DUPLICATE_SHARE, IdTables, build_chunk
from daybook.generate.writer import FORMATS, TableWriter, write_table

DEFAULT_START = date(2025, 10, 1)
DEFAULT_DAYS = 182
BATCH_ROWS = 500_000
FILE_BATCHES = 4
MIN_INVALID_PER_KIND = 3


def generate_dataset(
    out_dir: Path,
    *,
    heartbeats: int,
    seed: int,
    file_format: str = "parquet",
    start: date | None = None,
    days: int | None = None,
    users: int | None = None,
    per_active_day: float = MEAN_HEARTBEATS_PER_ACTIVE_DAY,
    progress: bool = False,
) -> dict[str, list[Path]]:
    """Write clients, users, devices and ``heartbeats`` heartbeat rows; return the files per table.

    The window defaults to 2025-10-01 for 182 days (covering the spec's example
    dates); ``users`` defaults to one per 5,000 heartbeats, and a user's active
    day carries about ``per_active_day`` heartbeats (busier when the window is
    too short to spread them). Heartbeats are split into files of about two million rows
    (``heartbeats-00000.<format>``, ...); each file's rows come in order of
    local activity day.
    """
    if file_format not in FORMATS:
        raise ValueError(f"Unknown file format {file_format!r}: use one of {', '.join(FORMATS)}")
    if heartbeats < 0:
        raise ValueError("heartbeats must be >= 0")
    start = start or DEFAULT_START
    days = days or DEFAULT_DAYS
    if days < 1:
        raise ValueError("days must be >= 1")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob(f"heartbeats-*.{file_format}"):
        old.unlink()

    streams = np.random.SeedSequence(seed).spawn(3)
    entity_rng, plan_rng = (np.random.default_rng(s) for s in streams[:2])
    entities = build_entities(entity_rng, heartbeats, start, days, users)
    duplicates = round(heartbeats * DUPLICATE_SHARE)
    plan = plan_activity(plan_rng, entities, heartbeats - duplicates, start, days, per_active_day)
    ids = IdTables.build(entity_rng, entities)

    files: dict[str, list[Path]] = {}
    for name in ("clients", "users", "devices"):
        table = getattr(entities, name)
        files[name] = [write_table(table, out_dir / name, file_format)]

    bounds = _batch_bounds(plan.count)
    base_rows = np.array([plan.count[a:b].sum() for a, b in bounds], dtype=np.int64)
    dup_rows = _split(duplicates, base_rows)
    batch_seeds = streams[2].spawn(len(bounds))
    files["heartbeats"] = []
    writer: TableWriter | None = None
    pending: Future | None = None
    with ThreadPoolExecutor(max_workers=1) as pool, _progress(progress, heartbeats) as advance:
        for index, ((a, b), dups) in enumerate(zip(bounds, dup_rows, strict=True)):
            table = build_chunk(
                np.random.default_rng(batch_seeds[index]),
                entities,
                ids,
                plan,
                slice(a, b),
                int(dups),
                MIN_INVALID_PER_KIND if index == 0 else 0,
            )
            if pending is not None:
                pending.result()
            if index % FILE_BATCHES == 0:
                if writer is not None:
                    files["heartbeats"].append(writer.close())
                path = out_dir / f"heartbeats-{index // FILE_BATCHES:05d}"
                writer = TableWriter(path, file_format)
            pending = pool.submit(_write, writer, table, advance)
        if pending is not None:
            pending.result()
        assert writer is not None
        files["heartbeats"].append(writer.close())
    return files


def window(start: date | None = None, days: int | None = None) -> tuple[date, date]:
    """First and last local day of the generated window."""
    start = start or DEFAULT_START
    return start, start + timedelta(days=(days or DEFAULT_DAYS) - 1)


def _write(writer: TableWriter, table, advance) -> None:
    writer.write(table)
    advance(table.num_rows)


def _batch_bounds(counts: np.ndarray) -> list[tuple[int, int]]:
    """Contiguous user-day ranges of about ``BATCH_ROWS`` heartbeats each (at least one range)."""
    if len(counts) == 0:
        return [(0, 0)]
    ends = np.cumsum(counts)
    cuts = np.searchsorted(ends, np.arange(BATCH_ROWS, ends[-1], BATCH_ROWS), side="left") + 1
    edges = [0, *sorted(set(int(c) for c in cuts if 0 < c < len(counts))), len(counts)]
    return list(itertools.pairwise(edges))


def _split(total: int, weights: np.ndarray) -> np.ndarray:
    """``total`` split in proportion to ``weights``, summing exactly to ``total``."""
    if weights.sum() == 0:
        out = np.zeros(len(weights), dtype=np.int64)
        out[0] = total
        return out
    share = np.floor(total * weights / weights.sum()).astype(np.int64)
    share[-1] += total - share.sum()
    return share


class _progress:
    """A rich progress bar over heartbeat rows, or nothing when ``enabled`` is false."""

    def __init__(self, enabled: bool, total: int) -> None:
        self.enabled, self.total = enabled, total

    def __enter__(self):
        if not self.enabled:
            return lambda rows: None
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(
            TextColumn("generating heartbeats"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            transient=False,
        )
        self.bar.__enter__()
        task = self.bar.add_task("heartbeats", total=self.total)
        return lambda rows: self.bar.advance(task, rows)

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self.bar.__exit__(*exc)

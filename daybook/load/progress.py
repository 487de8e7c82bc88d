"""A rich progress bar over the files of a load, or a no-op when progress is off."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def load_progress(enabled: bool, table: str, files: int) -> Iterator[Callable[[], None]]:
    """Yield ``advance()``, called once per file staged."""
    if not enabled:
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn(f"loading raw.{table}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    ) as bar:
        task = bar.add_task(table, total=files)
        try:
            yield lambda: bar.advance(task)
        except BaseException:
            # a refused or interrupted load: its one line alone, without the bar (erased
            # from a terminal; elsewhere the bar is only printed when it stops)
            bar.live.transient = True
            if not bar.console.is_terminal:
                bar.console.quiet = True
            raise

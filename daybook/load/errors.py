"""The one error the loader raises for anything wrong with a file or a load."""

from __future__ import annotations


class LoadError(ValueError):
    """A load was refused; the message names the file and, for bad data, the row and column.

    When it is raised the warehouse is unchanged: every file of the call was
    loaded in one transaction, which was rolled back.
    """


class LoadInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a load before it committed: its transaction was rolled back, so the
    warehouse is as it was (a ``KeyboardInterrupt``, so whatever stops on Ctrl-C stops)."""

    def __init__(self) -> None:
        super().__init__("interrupted; the warehouse is unchanged")

"""What a load did: ``LoadResult`` and the entity changes it reports as notices."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class EntityChanges:
    """What an entity load changed in rows already loaded (all zero for heartbeats).

    ``replaced``: rows that replaced an earlier row with the same id and other
    values; ``moved``: of those, users or devices now under another client;
    ``rezoned``: clients with another time zone; ``repeated``: rows of this call
    whose id appeared earlier in the same call (only the last one was kept).
    """

    replaced: int = 0
    moved: int = 0
    rezoned: int = 0
    repeated: int = 0


@dataclass(frozen=True)
class LoadResult:
    """What one ``load_files`` call did: rows read from the files and rows new to the table."""

    table: str
    files: tuple[Path, ...]
    rows_read: int
    rows_added: int
    changes: EntityChanges = EntityChanges()

    def notices(self) -> list[str]:
        """Warnings for the user: earlier entity rows replaced, ids repeated within the call."""
        changes, singular = self.changes, self.table.removesuffix("s")
        out = []
        if changes.replaced:
            line = f"{_rows(changes.replaced, singular)} replaced earlier rows with other values"
            if changes.moved:
                line += f"; {changes.moved:,} moved to another client"
            if changes.rezoned:
                line += f"; {changes.rezoned:,} changed time zone"
            out.append(
                line + " (applies to all their heartbeats, old ones included, from the next build)"
            )
        if changes.repeated:
            out.append(
                f"{_rows(changes.repeated, 'row')} repeated an id given earlier in these files; "
                "the last row of each id was kept"
            )
        return out


def _rows(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")

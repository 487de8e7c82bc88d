"""Writing a small JSON file so that readers see the old contents or the new, never a part.

Why one helper: the serving pointer, the refresh state and the views record are each
read by another process (the API, the next refresh cycle) while they may be rewritten.
The new contents go to a uniquely named file in the same folder, are flushed to disk,
and replace the old file in one ``os.replace`` (atomic on POSIX within a file system);
a unique name keeps two writers from sharing a half-written temporary.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any


def write_json_atomically(path: Path, data: Any) -> None:
    """Replace ``path`` with ``data`` as JSON, creating its folder when missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(3)}"
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)

"""``daybook demo`` takes its port before it builds anything.

A taken port used to be found only at the end, when gunicorn bound it after
minutes of generating, loading and building; and a free port picked first
could be taken by another program meanwhile. The demo binds the port first
and hands that very socket to ``daybook serve``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

DAYBOOK = str(Path(sys.executable).with_name("daybook"))


def test_a_taken_port_fails_the_demo_at_once_and_builds_nothing(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {
            **os.environ,
            "DAYBOOK_DATABASE_URL": f"duckdb:///{tmp_path / 'demo.duckdb'}",
            "DAYBOOK_STATE_DIR": str(tmp_path / "state"),
        }
        result = subprocess.run(
            [DAYBOOK, "demo", "--heartbeats", "2000", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode != 0
    assert f"cannot serve on 127.0.0.1:{port}" in result.stderr, result.stderr
    assert "--port" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / ".daybook").exists()  # nothing generated
    assert not (tmp_path / "demo.duckdb").exists()  # nothing loaded or built

"""Driving load with ``wrk`` from a separate process, on loopback, bounded in time.

A generated Lua script rotates through a list of request paths (each wrk
thread starting at a different offset), adds the bearer token, and prints
one JSON line of results in ``done()`` so nothing has to parse wrk's text.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

INSTALL_HINT = "install it with `apt-get install -y wrk` (Debian/Ubuntu package `wrk`)"

_SCRIPT = r"""
local paths = {%(paths)s}
local headers = {%(headers)s}
local counter = 0
local index = 1

function setup(thread)
  counter = counter + 1
  thread:set("offset", counter)
end

function init(args)
  index = ((offset or 1) * 7919) %% #paths + 1
end

function request()
  local path = paths[index]
  index = index %% #paths + 1
  return wrk.format("GET", path, headers)
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%%d,"duration_us":%%d,"connect_errors":%%d,"read_errors":%%d,' ..
    '"write_errors":%%d,"status_errors":%%d,"timeouts":%%d,"p50_us":%%d,"p95_us":%%d,' ..
    '"p99_us":%%d,"mean_us":%%.1f,"max_us":%%d}\n',
    summary.requests, summary.duration, errors.connect, errors.read, errors.write,
    errors.status, errors.timeout, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.mean, latency.max))
end
"""


class WrkError(RuntimeError):
    """wrk is missing or did not report results."""


@dataclass(frozen=True)
class WrkResult:
    """One bounded wrk run: throughput, latency percentiles (ms) and failed requests."""

    connections: int
    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise WrkError(f"the load tool wrk is not installed: {INSTALL_HINT}")
    return path


def _lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_script(paths: list[str], headers: dict[str, str], folder: Path) -> Path:
    """A wrk Lua script rotating through ``paths`` with ``headers`` on every request."""
    if not paths:
        raise WrkError("no request paths to rotate through")
    script = _SCRIPT % {
        "paths": ", ".join(_lua_string(path) for path in paths),
        "headers": ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items()),
    }
    target = Path(tempfile.mkstemp(suffix=".lua", dir=folder)[1])
    target.write_text(script, encoding="utf-8")
    return target


def run_wrk(
    base_url: str,
    paths: list[str],
    *,
    connections: int,
    seconds: float,
    headers: dict[str, str] | None = None,
    threads: int | None = None,
    work_dir: Path,
) -> WrkResult:
    """Run wrk against ``base_url`` (loopback) for ``seconds`` with ``connections`` clients."""
    if not base_url.startswith(("http://127.0.0.1", "http://localhost", "http://[::1]")):
        raise WrkError(f"benchmark load stays on loopback, not {base_url}")
    script = write_script(paths, headers or {}, work_dir)
    threads = threads or min(2, connections)
    command = [
        wrk_path(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        base_url,
    ]
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    script.unlink(missing_ok=True)
    line = next((row for row in completed.stdout.splitlines() if row.startswith("WRKJSON ")), None)
    if completed.returncode != 0 or line is None:
        raise WrkError(
            f"wrk failed ({completed.returncode}): {completed.stderr or completed.stdout}"
        )
    data = json.loads(line.removeprefix("WRKJSON "))
    errors = sum(
        data[key]
        for key in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")
    )
    return WrkResult(
        connections=connections,
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p95_ms=data["p95_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        mean_ms=data["mean_us"] / 1000,
        errors=errors,
    )

"""Metrics added or changed while ``daybook serve`` runs are served without a restart.

Data teams add metrics by editing YAML; the workers read the catalogue once, when they
start. A watcher process beside gunicorn's master therefore looks at what the catalogue is
made from (the semantic folder and the dbt files it is parsed with, by content: a file
merely touched changes nothing) every few seconds. On a change it loads the catalogue as
a worker would, so the YAML is parsed once, there, and then:

- YAML the API accepts: the watcher sends the master ``SIGHUP``. gunicorn starts new
  workers, which read the new catalogue, and stops the old ones gracefully, so requests
  in flight finish and none is refused on the way.
- YAML the API refuses: the watcher logs the refusal, naming the file and key, and the
  workers go on serving the catalogue they have. A later edit that fixes it is served.

``DAYBOOK_METRICS_RELOAD_SECONDS`` sets the interval (``Settings``; default 2, 0 turns
watching off).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from api.logs import configure_logging
from api.settings import Settings

log = logging.getLogger("daybook.api")


def catalogue_fingerprint(semantic_dir: Path | None) -> str:
    """A hash of everything the catalogue of ``semantic_dir`` is made from."""
    from daybook.semantic.dbt_parse import yaml_fingerprint
    from daybook.semantic.loader import default_semantic_dir

    return yaml_fingerprint(semantic_dir or default_semantic_dir())


class MetricReloader:
    """Watches the catalogue's sources for gunicorn's master (see the module)."""

    def __init__(self, settings: Settings, reload: Callable[[], None]) -> None:
        self.settings = settings
        self.reload = reload
        self.served = catalogue_fingerprint(settings.semantic_dir)  # what workers start with
        self.refused: str | None = None  # the last fingerprint refused, logged once

    def check(self) -> bool:
        """Load a changed catalogue and reload the workers if it loads; True if reloaded."""
        from daybook.semantic import SemanticError, load_catalog

        current = catalogue_fingerprint(self.settings.semantic_dir)
        if current in (self.served, self.refused):
            return False
        try:
            catalog = load_catalog(
                semantic_dir=self.settings.semantic_dir, manifest_path=self.settings.manifest_path
            )
        except Exception as error:  # the master must outlive any one load
            self.refused = current  # said once, until the YAML changes again
            reason = str(error) if isinstance(error, SemanticError) else repr(error)
            log.error(
                "semantic YAML changed, and the API refuses it; the metrics served stay "
                "as they were: %s",
                reason,
                extra={"fields": {"event": "metrics_refused"}},
            )
            return False
        self.served, self.refused = current, None
        log.warning(
            "semantic YAML changed: new workers serve %d metrics, the old ones finish",
            len(catalog.metrics),
            extra={"fields": {"event": "metrics_reloaded"}},
        )
        self.reload()
        return True

    def watch(self, every_seconds: float, master_pid: int) -> None:
        """``check`` every ``every_seconds`` while gunicorn's master (this process's parent)
        runs; never raises (a file that cannot be read is logged once, then tried again)."""
        failed = None
        while os.getppid() == master_pid:
            time.sleep(every_seconds)
            try:
                self.check()
                failed = None
            except Exception as error:  # a file being replaced or unreadable: keep watching
                if repr(error) != failed:
                    failed = repr(error)
                    log.error("cannot read the semantic YAML to look for changes: %s", error)


def server_hooks(settings: Settings) -> dict[str, Callable[[Any], None]]:
    """gunicorn's ``when_ready`` and ``on_exit`` hooks that run the watcher beside the
    master, or none when ``settings.metrics_reload_seconds`` is 0.

    The watcher is a child process, not a thread of the master: gunicorn forks workers
    from the master, and a fork taken while another thread held a lock (loading YAML,
    parsing with dbt) would give the worker that lock for ever. It ignores Ctrl-C (the
    terminal sends it to the whole process group) and stops with the master."""
    every = settings.metrics_reload_seconds
    if every <= 0:
        return {}
    watchers: list[subprocess.Popen] = []

    def when_ready(server: Any) -> None:
        command = [sys.executable, "-m", "api.metric_reload", str(os.getpid()), str(every)]
        watchers.append(subprocess.Popen(command))

    def on_exit(server: Any) -> None:
        for watcher in watchers:
            watcher.terminate()
            try:
                watcher.wait(timeout=10)
            except subprocess.TimeoutExpired:
                watcher.kill()
                watcher.wait()

    return {"when_ready": when_ready, "on_exit": on_exit}


def _main(master_pid: int, every_seconds: float) -> int:
    """The watcher process: settings from the environment ``daybook serve`` was given.

    It always exits 0: gunicorn's master reaps every child it has and reports any other
    end as a failed worker (exit codes 3 and 4 would even stop the server)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the master stops it (``on_exit``)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    configure_logging()  # JSON lines on stderr, as the workers write them
    try:
        reloader = MetricReloader(
            Settings.from_config({}), reload=lambda: os.kill(master_pid, signal.SIGHUP)
        )
        reloader.watch(every_seconds, master_pid)
    except Exception:
        log.exception("the semantic YAML watcher stopped; metrics change on a restart only")
    return 0


if __name__ == "__main__":
    sys.exit(_main(int(sys.argv[1]), float(sys.argv[2])))

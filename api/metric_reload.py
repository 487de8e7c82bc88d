"""Metrics added or changed while ``daybook serve`` runs are served without a restart.

Data teams add metrics by editing YAML; the workers read the catalogue once, when they
start. gunicorn's master therefore watches what the catalogue is made from (the semantic
folder and the dbt files it is parsed with, by content: a file merely touched changes
nothing) every few seconds. On a change it loads the catalogue as a worker would, so
the YAML is parsed once, here, and then:

- YAML the API accepts: the master sends itself ``SIGHUP``. gunicorn starts new
  workers, which read the new catalogue, and stops the old ones gracefully, so requests
  in flight finish and none is refused on the way.
- YAML the API refuses: the master logs the refusal, naming the file and key, and the
  workers go on serving the catalogue they have. A later edit that fixes it is served.

``DAYBOOK_METRICS_RELOAD_SECONDS`` sets the interval (``Settings``; default 2, 0 turns
watching off).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
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
    """Watches the catalogue's sources from gunicorn's master (see the module)."""

    def __init__(self, settings: Settings, reload: Callable[[], None] | None = None) -> None:
        self.settings = settings
        self.reload = reload or (lambda: os.kill(os.getpid(), signal.SIGHUP))
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

    def watch(self, every_seconds: float, stop: threading.Event) -> None:
        """``check`` every ``every_seconds`` until ``stop`` is set; never raises (a file
        that cannot be read is logged once, and the next check tries again)."""
        failed = None
        while not stop.wait(every_seconds):
            try:
                self.check()
                failed = None
            except Exception as error:  # a file being replaced or unreadable: the thread lives
                if repr(error) != failed:
                    failed = repr(error)
                    log.error("cannot read the semantic YAML to look for changes: %s", error)


def when_ready_hook(settings: Settings) -> Callable[[Any], None] | None:
    """gunicorn's ``when_ready`` hook that watches on a daemon thread of the master, or
    ``None`` when ``settings.metrics_reload_seconds`` is 0."""
    every = settings.metrics_reload_seconds
    if every <= 0:
        return None

    def start_watching(server: Any) -> None:
        configure_logging()  # the master's lines in the workers' JSON form
        reloader = MetricReloader(settings)
        threading.Thread(
            target=reloader.watch,
            args=(every, threading.Event()),
            name="daybook-metric-reload",
            daemon=True,
        ).start()

    return start_watching

"""MetricFlow's answers: ``mf query`` (dbt-metricflow's CLI) on the build's semantic manifest.

``mf`` runs in its own environment (``make crosscheck`` installs it in
``.venv-crosscheck``), so this module only writes files and starts processes; it never
imports MetricFlow. ``mf`` reads ``<project>/target/semantic_manifest.json`` and nothing
else of the project's artifacts, so a scratch project folder links the checkout's dbt
sources and holds a copy of the manifest Daybook's build wrote: both sides compile the
same file. Its profile attaches the built DuckDB file read-only under the catalogue name
the manifest's relations carry (``daybook``), so several ``mf`` processes can read it at
once.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from daybook.config import project_dir
from daybook.crosscheck.sample import CrosscheckError

# What mf needs of the checkout besides dbt_project.yml (`mf` runs `dbt debug` on it).
PROJECT_LINKS = ("models", "semantic", "dbt_project", ".dbtignore")
TIMEOUT_SECONDS = 600

Value = int | float | None


@dataclass(frozen=True)
class MfAnswer:
    """What one ``mf query`` returned: its rows in order (bucket start, value), or why not."""

    rows: list[tuple[date, Value]]
    error: str | None = None
    sql: str | None = None  # the query MetricFlow ran (from --explain), when asked for


def write_project(folder: Path, semantic_manifest: Path, duckdb_file: Path) -> tuple[Path, Path]:
    """A scratch dbt project for ``mf`` and its profiles folder; returns both paths."""
    project = folder / "project"
    profiles = folder / "profiles"
    (project / "target").mkdir(parents=True, exist_ok=True)
    profiles.mkdir(parents=True, exist_ok=True)
    source = project_dir()
    shutil.copyfile(source / "dbt_project.yml", project / "dbt_project.yml")
    for name in PROJECT_LINKS:
        link = project / name
        if not link.exists():
            link.symlink_to(source / name)
    shutil.copyfile(semantic_manifest, project / "target" / "semantic_manifest.json")
    catalogue = _catalogue_of(semantic_manifest)
    # JSON is YAML: no quoting of paths by hand.
    profile = {
        "daybook": {
            "target": "crosscheck",
            "outputs": {
                "crosscheck": {
                    "type": "duckdb",
                    "path": ":memory:",
                    "attach": [{"path": str(duckdb_file), "alias": catalogue, "read_only": True}],
                    "database": catalogue,
                    "schema": "main",
                    "threads": 1,
                }
            },
        }
    }
    (profiles / "profiles.yml").write_text(json.dumps(profile, indent=2), encoding="utf-8")
    return project, profiles


def _catalogue_of(semantic_manifest: Path) -> str:
    """The database name the manifest's relations carry (Daybook's build: ``daybook``)."""
    manifest = json.loads(semantic_manifest.read_text(encoding="utf-8"))
    names = {model["node_relation"]["database"] for model in manifest["semantic_models"]}
    if len(names) != 1:
        raise CrosscheckError(f"expected one database in {semantic_manifest}, found {names}")
    return names.pop()


def mf_version(mf: Path) -> str:
    """``mf --version``'s line, for the record."""
    result = subprocess.run(
        [str(mf), "--version"], capture_output=True, text=True, timeout=120, check=False
    )
    return (result.stdout or result.stderr).strip()


def query(
    mf: Path,
    project: Path,
    profiles: Path,
    *,
    metric: str,
    grain: str,
    client_id: str,
    start: date,
    end: date,
    out_csv: Path,
    explain: bool = False,
) -> MfAnswer:
    """``mf query`` for one metric at one grain, for one client (a ``where`` on the
    ``client`` entity), over ``start..end`` inclusive."""
    group_by = f"metric_time__{grain}"
    command = [
        str(mf),
        "query",
        "--quiet",
        "--metrics",
        metric,
        "--group-by",
        group_by,
        "--where",
        "{{ Entity('client') }} = '" + client_id + "'",
        "--start-time",
        start.isoformat(),
        "--end-time",
        end.isoformat(),
        "--order",
        group_by,
    ]
    command += ["--explain"] if explain else ["--csv", str(out_csv)]
    environment = {**os.environ, "DBT_PROFILES_DIR": str(profiles)}
    try:
        result = subprocess.run(
            command,
            cwd=project,
            env=environment,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return MfAnswer([], error=f"mf query timed out after {TIMEOUT_SECONDS} s")
    if explain:
        return MfAnswer([], sql=result.stdout.strip() or None)
    if result.returncode != 0 or not out_csv.is_file():
        tail = (result.stderr or result.stdout).strip().splitlines()[-8:]
        return MfAnswer([], error=f"mf query exited {result.returncode}: " + " | ".join(tail))
    return MfAnswer(read_csv(out_csv, group_by, metric))


def read_csv(path: Path, time_column: str, metric: str) -> list[tuple[date, Value]]:
    """The rows of ``mf query --csv``, duplicates kept (they are a finding, not noise)."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or {time_column, metric} - set(reader.fieldnames):
            raise CrosscheckError(f"{path}: expected columns {time_column}, {metric}")
        return [(_day(row[time_column]), parse_value(row[metric])) for row in reader]


def _day(text: str) -> date:
    return datetime.fromisoformat(text.strip()).date()


def parse_value(text: str) -> Value:
    """A CSV cell as a number: empty is null, a whole number stays an integer."""
    text = text.strip()
    if text == "" or text.lower() in {"none", "null", "nan"}:
        return None
    try:
        return int(text)
    except ValueError:
        return float(text)

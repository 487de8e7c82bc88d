"""dbt's semantic manifest for a ``semantic/`` folder: the last build's, or a fresh ``dbt parse``.

Metrics are written in dbt's semantic-layer spec and dbt validates them, so Daybook reads
what dbt wrote (``semantic_manifest.json``) rather than parsing the YAML itself. Which
manifest (the rule ``semantic/README.md`` documents):

1. For the project's own ``semantic/``: the one the warehouse's last dbt invocation wrote
   (``DbtArtifacts.semantic_manifest_path``, so ``daybook build`` refreshes it), when it is
   newer than every file it is made from (``semantic/``, ``models/`` YAML, ``dbt_project.yml``).
2. Otherwise (the YAML changed since, no build yet, or another folder such as a test's
   copy): ``dbt parse`` of the project with that folder as ``semantic/``, in a child process
   (dbt's imports stay out of API workers), against the offline ``lint`` target. Its
   output is kept under ``.daybook/semantic-manifests/<content hash>/``, so the same YAML is
   parsed once. What dbt refuses is a :class:`SemanticError` naming the file. Each parse
   starts from the last one's ``partial_parse.msgpack`` (dbt's partial parsing: it
   compares every file's checksum, with dbt's version, the profile and the variables,
   and reads again only what differs, or everything when one of those changed), which
   halves the time of a parse after a YAML edit (5.0 s to 2.7 s here).

So the API and the CLI always serve the YAML as it is now, and never need a build for a
metric change; ``daybook build`` refuses what ``dbt parse`` refuses.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from daybook.config import project_dir
from daybook.semantic.dbt_refusal import refusal
from daybook.semantic.errors import SemanticError

SEMANTIC_MANIFEST = "semantic_manifest.json"
PARTIAL_PARSE = "partial_parse.msgpack"
ENV_SEMANTIC_MANIFEST = "DAYBOOK_SEMANTIC_MANIFEST"
# Project files the scratch project reuses as they are (the semantic folder is swapped in).
_COPIED_DIRS = ("models", "dbt_project")
_COPIED = ("dbt_project.yml", ".dbtignore")


def semantic_manifest_for(semantic_dir: Path) -> Path:
    """The ``semantic_manifest.json`` describing ``semantic_dir`` as it is now (see module)."""
    override = os.environ.get(ENV_SEMANTIC_MANIFEST)
    if override:
        return Path(override)
    folder = Path(semantic_dir).resolve()
    project = project_dir()
    inputs = _inputs(project, folder)
    if folder == (project / "semantic").resolve():
        built = _built_manifest()
        if built is not None and built.is_file():
            newest = max((path.stat().st_mtime for path in inputs), default=0.0)
            if built.stat().st_mtime >= newest:
                return built
    cache = project / ".daybook" / "semantic-manifests" / _content_key(project, folder, inputs)
    manifest = cache / SEMANTIC_MANIFEST
    if not manifest.is_file():
        _parse_into(project, folder, cache)
    return manifest


def yaml_fingerprint(semantic_dir: Path) -> str:
    """A hash of every file the semantic manifest of ``semantic_dir`` is made from: it
    changes exactly when a parse could give another manifest (``api.metric_reload``)."""
    folder = Path(semantic_dir).resolve()
    project = project_dir()
    return _content_key(project, folder, _inputs(project, folder))


def _built_manifest() -> Path | None:
    """The semantic manifest of the configured warehouse's last dbt invocation, if any."""
    from daybook.config import ConfigError, warehouse_from_env
    from daybook.dbt_artifacts import DbtArtifacts

    try:
        return DbtArtifacts.of(warehouse_from_env()).semantic_manifest_path
    except ConfigError:
        return None


def _inputs(project: Path, folder: Path) -> list[Path]:
    """Every file dbt's semantic manifest of ``folder`` depends on, in a stable order."""
    files = [project / name for name in _COPIED if (project / name).is_file()]
    files += sorted(p for p in (project / "models").rglob("*") if p.suffix in {".yml", ".yaml"})
    files += sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix != ".md")
    return files


def _content_key(project: Path, folder: Path, inputs: Iterable[Path]) -> str:
    """A hash of dbt's version and the inputs' names and bytes (and the models' names)."""
    from importlib.metadata import version

    digest = hashlib.sha256(version("dbt-core").encode())
    for path in inputs:
        base = folder if path.is_relative_to(folder) else project
        digest.update(b"\0" + path.relative_to(base).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    for path in sorted((project / "models").rglob("*.sql")):
        digest.update(b"\0" + path.relative_to(project).as_posix().encode())
    return digest.hexdigest()[:20]


def _parse_into(project: Path, folder: Path, cache: Path) -> None:
    """``dbt parse`` of the project with ``folder`` as ``semantic/``; artifacts into ``cache``."""
    cache.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".parse-", dir=cache.parent) as scratch_dir:
        scratch = Path(scratch_dir)
        root = scratch / "project"
        root.mkdir()
        # Copies, not links: dbt does not follow linked folders when it looks for files.
        skip = shutil.ignore_patterns("target", "logs", "__pycache__", ".*")
        for name in _COPIED_DIRS:
            shutil.copytree(project / name, root / name, ignore=skip)
        for name in _COPIED:
            if (project / name).is_file():
                shutil.copyfile(project / name, root / name)
        shutil.copytree(folder, root / "semantic", ignore=skip)
        target = scratch / "target"
        seed = cache.parent / PARTIAL_PARSE
        if seed.is_file():  # dbt re-reads only the files that differ from the last parse's
            target.mkdir()
            shutil.copyfile(seed, target / PARTIAL_PARSE)
        child = subprocess.run(
            [sys.executable, "-m", "daybook.semantic.dbt_parse", str(root), str(target)],
            capture_output=True,
            text=True,
            check=False,
        )
        if child.returncode != 0:
            raise SemanticError(refusal(child.stdout, child.stderr, folder))
        if (target / PARTIAL_PARSE).is_file():  # the next parse's seed (an atomic move)
            os.replace(target / PARTIAL_PARSE, seed)
        try:
            target.rename(cache)
        except OSError:  # another process parsed the same YAML first: theirs is the same
            if not (cache / SEMANTIC_MANIFEST).is_file():
                raise


def _main(root: str, target: str) -> int:
    """The child process: ``dbt parse`` and, on failure, dbt's error messages as JSON."""
    from dbt.cli.main import dbtRunner

    from daybook.build.invoke import QUIET_DBT
    from daybook.build.profile import profiles_dir

    errors: list[str] = []

    def collect(event: object) -> None:
        info = getattr(event, "info", None)
        if getattr(info, "level", "") == "error" and getattr(info, "msg", ""):
            errors.append(str(info.msg))

    os.environ.update(QUIET_DBT)
    command = ["parse", "--project-dir", root, "--profiles-dir", str(profiles_dir())]
    command += ["--target", "lint", "--target-path", target, "--log-path", f"{target}/logs"]
    command += ["--quiet"]  # partial parsing: the seed ``_parse_into`` put in ``target``
    result = dbtRunner(callbacks=[collect]).invoke(command)
    if result.success and (Path(target) / SEMANTIC_MANIFEST).is_file():
        return 0
    useful = [e for e in errors if not e.startswith("Encountered an error")]
    if result.exception is not None and str(result.exception) not in " ".join(useful):
        exception = str(result.exception)
        if "validation failed" not in exception or not useful:
            useful.append(exception)
    print(json.dumps({"errors": useful}))
    return 1


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1], sys.argv[2]))

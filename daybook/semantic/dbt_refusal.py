"""dbt's refusal of semantic YAML, told as lines naming the file, line and metric.

dbt names a file for some problems and only the project for others: a value its parser
cannot take (a metric ``type`` it does not know: a traceback), a window it cannot read
(``7 fortnights``), a name too short (``alias: a``), or a derived metric that refers to
itself (dbt recurses until Python stops it: ``RecursionError``). Daybook's users edit
YAML, so each message is tied back to the YAML here: the file a path or a semantic model
or metric named in it points to, else the line holding a value it quotes, else, for a
recursion, the cycle of metrics found in the YAML itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from daybook.semantic.errors import unknown_name

_IN_SEMANTIC = re.compile(r"(?<![\w/])semantic/([\w./-]+\.ya?ml)")
# pydantic's words for a value outside an enumeration (a metric type, an aggregation)
_BAD_ENUM = re.compile(r"Invalid enum value: `([^`]*)` in enum (\w+)")
_FILE_PATH = re.compile(r"FilePath\(searched_path='([^']*)', relative_path='([^']*)'[^)]*\)")
# a quoted value: its quotes not inside words, so an apostrophe ("metric's") starts none
_QUOTED = re.compile(r"(?<!\w)'([^'\n]{1,200})'(?!\w)|`([^`\n]{1,200})`")
_MEASURE = re.compile(r"\bMeasure: (\w+)")  # as a conversion metric's refusal names one
# a metric naming a measure no semantic model has (dbt names the file, not the line)
_UNKNOWN_MEASURE = re.compile(r"a measure `(\w+)` does not exist")
# the keys of a metric's ``type_params`` that name other metrics
_INPUT_KEYS = ("metrics", "numerator", "denominator")


def refusal(stdout: str, stderr: str, folder: Path) -> str:
    """dbt's refusal (the child's JSON line of messages on ``stdout``) as lines naming files
    under ``folder`` (see module)."""
    try:
        messages = json.loads(stdout.strip().splitlines()[-1])["errors"]
    except (ValueError, LookupError, IndexError):
        tail = (stderr or stdout).strip().splitlines()[-3:]
        return f"{folder}: dbt parse failed: {' '.join(tail) or 'no output'}"
    owners = _owners(folder)
    taken: set[str] = set()  # places named so far (_where_value)
    lines = []
    for message in messages:
        message = _without_traceback(message)
        text = _FILE_PATH.sub(
            lambda m: str(folder / m[2]) if m[1] == "semantic" else f"{m[1]}/{m[2]}", message
        )
        text = _IN_SEMANTIC.sub(lambda m: str(folder / m[1]), " ".join(text.split()))
        lines.append(f"dbt refused the semantic YAML: {_placed(text, folder, owners, taken)}")
    return "\n".join(lines) or f"{folder}: dbt parse failed"


def _placed(text: str, folder: Path, owners: dict[str, Path], taken: set[str]) -> str:
    """``text`` led by where in ``folder`` its problem is, when it does not say already."""
    unknown = _UNKNOWN_MEASURE.search(text)
    if unknown is not None:
        where = _where_value(folder, unknown[1], taken)
        if where is not None:
            measures = [m["name"] for m in _measures(folder)]
            return f"{where}: unknown measure {unknown_name(unknown[1], measures)} ({text})"
    if str(folder) in text:
        return text
    enum = _BAD_ENUM.search(text)
    if enum is not None:
        where = _where_value(folder, enum[1], taken)
        if where is not None:
            return f"{where}: not a valid {enum[2]} ({text})"
    if "RecursionError" in text:
        cycle = _metric_cycle(folder)
        if cycle is not None:
            path, names = cycle
            return (
                f"{path}: metric {names[0]} refers to itself ({' -> '.join(names)}): "
                "a derived or ratio metric cannot be its own input"
            )
    named = [file for name, file in owners.items() if re.search(rf"\b{name}\b", text)]
    if named:
        return f"{named[0]}: {text}"
    values = [m[1] or m[2] for m in _QUOTED.finditer(text)] + _MEASURE.findall(text)
    for value in values:
        where = _where_value(folder, value, taken)
        if where is not None:
            return f"{where}: {text}"
    return f"{folder}: {text}"


def _without_traceback(message: str) -> str:
    """A message holding a Python traceback (dbt's, for a value its parser cannot take, such
    as a metric ``type`` it does not know) reduced to its last line, the error itself."""
    if "Traceback (most recent call last)" not in message:
        return message
    return next((line for line in reversed(message.splitlines()) if line.strip()), message)


def _yaml_files(folder: Path) -> Iterator[tuple[Path, str]]:
    """Each YAML file under ``folder``, in order, with its text (unreadable ones skipped)."""
    for path in sorted(folder.rglob("*.y*ml")):
        try:
            yield path, path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue


def _where_value(folder: Path, value: str, taken: set[str]) -> str | None:
    """``file: line N, key`` (and the metric, where the line is in one) of the YAML line
    under ``folder`` holding ``key: value`` whole, in block or flow style (dbt names a bad
    value, not where it is): the first in a metric, else the first; None where none does.
    A place already in ``taken`` (named for an earlier message of the same refusal: dbt
    says the same words for each metric with the bad value) is passed over while another
    holds the value; the place returned is added to ``taken``."""
    pattern = re.compile(
        rf"(?:^|[{{,]|-\s)\s*([\w.]+):\s*['\"]?{re.escape(value)}['\"]?\s*(?=[,}}\]#]|$)"
    )
    in_metrics: list[str] = []
    elsewhere: list[str] = []
    for path, text in _yaml_files(folder):
        for number, line in enumerate(text.splitlines(), start=1):
            found = pattern.search(line)
            if found is None:
                continue
            metric = _metric_at(text, number)
            if metric is not None:
                in_metrics.append(f"{path}: line {number}, {found[1]} (metric {metric})")
            else:
                elsewhere.append(f"{path}: line {number}, {found[1]}")
    places = in_metrics + elsewhere
    place = next((p for p in places if p not in taken), places[0] if places else None)
    if place is not None:
        taken.add(place)
    return place


def _metric_at(text: str, line_number: int) -> str | None:
    """The name of the metric whose YAML spans ``line_number`` (1-based) of ``text``."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return None
    if not isinstance(root, yaml.MappingNode):
        return None
    for key, value in root.value:
        if key.value != "metrics" or not isinstance(value, yaml.SequenceNode):
            continue
        for item in value.value:
            if not isinstance(item, yaml.MappingNode):
                continue
            line, start, end = line_number - 1, item.start_mark, item.end_mark
            # a block item ends where the next begins (column 0 or the next "- "): that
            # line is not the item's unless the item ends after text on it
            ends_after = line < end.line or (line == end.line and not _only_indent(text, end))
            if start.line <= line and ends_after:
                names = [v.value for k, v in item.value if k.value == "name"]
                return str(names[0]) if names else None
    return None


def _only_indent(text: str, mark: yaml.Mark) -> bool:
    """Whether only spaces and a "- " stand before ``mark`` on its line."""
    lines = text.splitlines()
    before = lines[mark.line][: mark.column] if mark.line < len(lines) else ""
    return before.strip() in ("", "-")


def _metric_cycle(folder: Path) -> tuple[Path, list[str]] | None:
    """A cycle of metrics naming each other as inputs (``[a, b, a]``) with the file of its
    first metric, or None."""
    inputs: dict[str, list[str]] = {}
    files: dict[str, Path] = {}
    for path, metric in _metrics(folder):
        name = metric["name"]
        files.setdefault(name, path)
        inputs.setdefault(name, []).extend(_input_names(metric.get("type_params")))
    done: set[str] = set()

    def visit(name: str, trail: list[str]) -> list[str] | None:
        if name in trail:
            return [*trail[trail.index(name) :], name]
        if name in done or name not in inputs:
            return None
        for child in inputs[name]:
            found = visit(child, [*trail, name])
            if found:
                return found
        done.add(name)
        return None

    for name in inputs:
        cycle = visit(name, [])
        if cycle:
            return files[cycle[0]], cycle
    return None


def _input_names(params: Any) -> list[str]:
    """The metric names a metric's ``type_params`` takes as inputs."""
    if not isinstance(params, dict):
        return []
    names = []
    for key in _INPUT_KEYS:
        value = params.get(key)
        for item in value if isinstance(value, list) else [value]:
            name = item.get("name") if isinstance(item, dict) else item
            if isinstance(name, str):
                names.append(name)
    return names


def _metrics(folder: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Each named metric of the YAML under ``folder`` with its file."""
    for path, text in _yaml_files(folder):
        for item in _items(text, "metrics"):
            yield path, item


def _measures(folder: Path) -> Iterator[dict[str, Any]]:
    """Each named measure of the semantic models under ``folder``."""
    for _, text in _yaml_files(folder):
        for model in _items(text, "semantic_models"):
            measures = model.get("measures")
            if isinstance(measures, list):
                yield from (m for m in measures if isinstance(m, dict) and "name" in m)


def _items(text: str, key: str) -> list[dict[str, Any]]:
    """The named mappings listed under top-level ``key`` of a YAML text."""
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        return []
    if not isinstance(data, dict):
        return []
    items = data.get(key) or []
    if not isinstance(items, list):
        return []
    return [item for item in items if isinstance(item, dict) and isinstance(item.get("name"), str)]


def _owners(folder: Path) -> dict[str, Path]:
    """Semantic model and metric names -> the file under ``folder`` defining them, longest
    name first (so ``activity_count_7d`` is found before ``activity_count``)."""
    owners: dict[str, Path] = {}
    for path, text in _yaml_files(folder):
        for key in ("semantic_models", "metrics"):
            for item in _items(text, key):
                owners.setdefault(item["name"], path)
    return dict(sorted(owners.items(), key=lambda item: -len(item[0])))

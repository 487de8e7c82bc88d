"""Macros rendered by dbt (``compile --inline``, the offline ``lint`` target) and evaluated
by DuckDB; what they must give is counted here in plain Python.

``days_in_months``: the predicate a Spark refresh selects the days of the months it rewrites
by (dense facts and ``fct_activity_daily``). It must hold for exactly the days of the
months named, whatever their order or repeats, and name each run of consecutive months as
one range: one term a month made a refresh over a long span (1,572 months for a device
clock at 1970 and another at 2100) test every day against every month.

``within_years``: the instants Python can read, the same in dbt's models
(``fct_client_freshness``) as in Daybook's own queries (``daybook.raw_schema``).
"""

from __future__ import annotations

import random
import re
import tempfile
from datetime import date, timedelta

import duckdb
from dbt.cli.main import dbtRunner

from daybook.build.profile import profiles_dir
from daybook.config import project_dir
from daybook.raw_schema import within_years

FIRST, LAST = date(1999, 1, 1), date(2002, 12, 31)


def _month_lists(rng: random.Random) -> list[list[str]]:
    """Month lists as a refresh finds them: first days as text, in any order, repeated."""
    months = [date(year, month, 1) for year in range(1999, 2003) for month in range(1, 13)]
    run = months[10:27]  # November 1999 to March 2001: a run across two year ends
    scattered = rng.sample(months, 9)
    lists = [[], run, scattered, run + scattered + run[:3], [months[11], months[12]], months]
    for chosen in lists:
        rng.shuffle(chosen)
    return [[month.isoformat() for month in chosen] for chosen in lists]


def _runs(months: list[str]) -> int:
    """How many runs of consecutive months ``months`` holds."""
    indexes = sorted({int(m[:4]) * 12 + int(m[5:7]) for m in months})
    return sum(1 for i, index in enumerate(indexes) if i == 0 or indexes[i - 1] != index - 1)


def _rendered(predicates: list[str]) -> list[str]:
    """Each Jinja expression rendered by dbt with the project's macros."""
    columns = ", ".join(f"({p}) as p{i}" for i, p in enumerate(predicates))
    with tempfile.TemporaryDirectory() as scratch:
        command = [
            "compile", "--inline", f"select {columns} from days",
            "--project-dir", str(project_dir()), "--profiles-dir", str(profiles_dir()),
            "--target", "lint", "--target-path", scratch, "--log-path", scratch,
            "--quiet", "--no-partial-parse",
        ]  # fmt: skip
        result = dbtRunner().invoke(command)
    assert result.success, result.exception
    sql = result.result.results[0].node.compiled_code
    body = sql.removeprefix("select ").removesuffix(" from days")
    # split at the aliases, not at commas: a rendered expression may hold one
    return re.split(r" as p\d+(?:, |$)", body)[:-1]


def test_the_days_of_the_months_named_and_one_range_per_run(rng: random.Random) -> None:
    lists = _month_lists(rng)
    rendered = _rendered([f"{{{{ days_in_months('day', {months!r}) }}}}" for months in lists])

    days = [FIRST + timedelta(n) for n in range((LAST - FIRST).days + 1)]
    connection = duckdb.connect()
    connection.execute("create table days (day date)")
    connection.executemany("insert into days values (?)", [(day,) for day in days])
    for months, predicate in zip(lists, rendered, strict=True):
        rows = connection.execute(f"select day from days where {predicate}").fetchall()
        got = {row[0] for row in rows}
        named = {(int(m[:4]), int(m[5:7])) for m in months}
        assert got == {day for day in days if (day.year, day.month) in named}, predicate
        assert predicate.count(" or ") == max(_runs(months) - 1, 0), predicate


def test_the_instants_macro_and_the_python_predicate_agree() -> None:
    instants = [
        "0001-01-01 00:00:00",
        "0001-12-31 (BC) 23:59:59",
        "2026-03-01 12:00:00",
        "9999-12-31 23:59:59.999999",
        "10000-01-01 00:00:00",
    ]
    # in the years 1 to 9999: a four-digit year of the common era
    expected = [len(at.split("-")[0]) == 4 and "(BC)" not in at for at in instants]
    (rendered,) = _rendered(["{{ within_years('t') }}"])
    connection = duckdb.connect()
    connection.execute("create table days as select cast(unnest(?) as timestamp) as t", [instants])
    by_macro = [row[0] for row in connection.execute(f"select {rendered} from days").fetchall()]
    by_python = [
        row[0] for row in connection.execute(f"select {within_years('t')} from days").fetchall()
    ]
    assert by_macro == by_python == expected

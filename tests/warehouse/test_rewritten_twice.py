"""A heartbeat the validated model rewrites twice before the facts run again still
leaves the partition the facts last counted it in.

``int_heartbeats_validated`` records on a rewritten row the (client, local day) it
counted in before; the facts rebuild those partitions. When the facts did not run
between two rewrites (a killed run, or facts skipped after a failing test), the row
kept only the state just before the second rewrite, and the partition the facts still
counted it in was never rebuilt. Here a client's time zone changes twice and a user
moves twice with only the intermediate models run in between; then a normal
incremental run must give the marts a full build of the same raw data gives.
"""

from __future__ import annotations

from daybook.build import run_dbt

from .deliveries import apply, build_models, marts
from .scenario import CLIENTS, USERS, batch1, insert_raw

UPSTREAM_ONLY = ["run", "--quiet", "--select", "+int_heartbeats_validated"]


def _client(client_id: str, zone: str) -> dict:
    return next(c for c in CLIENTS if c["client_id"] == client_id) | {"timezone": zone}


def _user(user_id: str, client_id: str) -> dict:
    return next(u for u in USERS if u["user_id"] == user_id) | {"client_id": client_id}


def test_two_rewrites_between_fact_runs_reach_the_facts(backend, make_warehouse):
    incremental, full = make_warehouse(backend), make_warehouse(backend)
    for warehouse in (incremental, full):
        insert_raw(warehouse, batch1())
    build_models(incremental, full=True)

    rewrites = [
        [
            ("replace", ("clients", _client("c-ny", "Asia/Tokyo"))),
            ("replace", ("users", _user("u-kir-1", "c-ny"))),
        ],
        [
            ("replace", ("clients", _client("c-ny", "Pacific/Kiritimati"))),
            ("replace", ("users", _user("u-kir-1", "c-kir"))),
        ],
    ]
    for ops in rewrites:
        for warehouse in (incremental, full):
            apply(warehouse, ops)
        outcome = run_dbt(incremental, UPSTREAM_ONLY)  # the facts do not run
        assert outcome.success

    build_models(incremental, full=False)
    build_models(full, full=True)
    got, want = marts(incremental), marts(full)
    for table in want:
        assert got[table] == want[table], f"{table} differs"

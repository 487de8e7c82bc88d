"""The dense facts compare their whole table with the dimension only when an entity
that already had rows changed, not when a refresh merely delivers a new id.

The pre-hook ``prune_dense_rows`` deletes dense rows a full build would not have; that
anti-join reads the whole dense table, so it must run only when such rows can exist.
A row planted under an id no dimension knows shows whether it ran: a refresh
delivering a brand-new user leaves it (no anti-join), a refresh moving an existing
user to another client removes it (the anti-join ran), and the marts equal the
reference over all raw rows (the planted row aside).
"""

from __future__ import annotations

from datetime import timedelta

from daybook.warehouse import connection

from .deliveries import apply, build_models
from .scenario import (
    BATCH1_RECEIVED_UNTIL,
    batch1,
    heartbeat,
    insert_raw,
    query,
)

GHOST = "u-ghost"


def _plant_ghost_row(warehouse) -> None:
    """A copy of the oldest dense user row under an id no dimension has."""
    (row,) = query(
        warehouse,
        "select * from fct_user_activity_daily order by activity_date, client_id, user_id limit 1",
    )
    columns = list(row)
    placeholder = "?" if warehouse.backend == "duckdb" else "%s"
    with connection(warehouse) as con:
        cursor = con.cursor()
        cursor.execute(
            "select table_schema from information_schema.tables "
            "where table_name = 'fct_user_activity_daily'"
        )
        (schema,) = cursor.fetchone()
        cursor.execute(
            f"insert into {schema}.fct_user_activity_daily ({', '.join(columns)}) "
            f"values ({', '.join([placeholder] * len(columns))})",
            [GHOST if column == "user_id" else row[column] for column in columns],
        )
        con.commit()


def _ghost_rows(warehouse) -> int:
    (row,) = query(
        warehouse,
        f"select count(*) as n from fct_user_activity_daily where user_id = '{GHOST}'",
    )
    return row["n"]


def test_a_new_user_does_not_make_the_dense_facts_compare_everything(backend, make_warehouse):
    warehouse = make_warehouse(backend)
    insert_raw(warehouse, batch1())
    build_models(warehouse, full=True)
    _plant_ghost_row(warehouse)
    assert _ghost_rows(warehouse) == 1

    received = BATCH1_RECEIVED_UNTIL + timedelta(hours=1)
    newcomer = {
        "user_id": "u-ny-new",
        "client_id": "c-ny",
        "email": "new@example.com",
        "display_name": "NEW",
        "created_at": received - timedelta(hours=3),
    }
    insert_raw(
        warehouse,
        {
            "users": [newcomer],
            "heartbeats": [
                heartbeat("new-1", "c-ny", "u-ny-new", "d-ny-2", received, received),
            ],
        },
    )
    build_models(warehouse, full=False)
    assert _ghost_rows(warehouse) == 1  # no anti-join over the whole table
    (newcomer_rows,) = query(
        warehouse,
        "select count(*) as n from fct_user_activity_daily where user_id = 'u-ny-new'",
    )
    assert newcomer_rows["n"] >= 1

    # an existing user moved to another client: now the anti-join runs
    moved = newcomer | {"user_id": "u-kol-1", "client_id": "c-ny", "created_at": None}
    apply(warehouse, [("replace", ("users", moved))])
    build_models(warehouse, full=False)
    assert _ghost_rows(warehouse) == 0

"""Fixtures of the load tests: generated files and warehouses that already hold rows, so that
'a refused load changes nothing' is a real check."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import create_postgres_database, drop_postgres_database, require_postgres

from daybook.config import Warehouse, parse_database_url
from daybook.generate import generate_dataset
from load.cli_rows import CLIENT, DEVICE, USER, client, heartbeat, run_load, write_csv
from load.rows import load_all


@pytest.fixture(scope="module", params=["parquet", "csv"])
def generated(request, tmp_path_factory) -> dict[str, list[Path]]:
    folder = tmp_path_factory.mktemp(f"raw-{request.param}")
    return generate_dataset(folder, heartbeats=3000, seed=21, file_format=request.param)


@pytest.fixture(scope="module")
def csv_files(tmp_path_factory) -> dict[str, list[Path]]:
    return generate_dataset(
        tmp_path_factory.mktemp("raw-csv"), heartbeats=1200, seed=4, file_format="csv"
    )


@pytest.fixture(scope="module")
def shared_warehouses() -> dict[str, Warehouse]:
    """Warehouses shared by the refusal tests: a refused load must leave them unchanged anyway."""
    made: dict[str, Warehouse] = {}
    yield made
    for warehouse in made.values():
        if warehouse.backend == "postgres":
            drop_postgres_database(warehouse)


@pytest.fixture
def preloaded(backend, shared_warehouses, csv_files, tmp_path_factory) -> Warehouse:
    """A warehouse already holding every raw table, so 'unchanged' is a real check."""
    if backend not in shared_warehouses:
        if backend == "duckdb":
            folder = tmp_path_factory.mktemp("refusals")
            warehouse = parse_database_url(f"duckdb://{folder / 'warehouse.duckdb'}")
        else:
            require_postgres()
            warehouse = create_postgres_database()
        shared_warehouses[backend] = warehouse
        load_all(warehouse, csv_files)
    return shared_warehouses[backend]


@pytest.fixture
def loaded(empty_warehouse, tmp_path, monkeypatch) -> Warehouse:
    """A warehouse with some rows in every raw table, so 'nothing loaded' is a real check."""
    users = [
        {
            "user_id": USER,
            "client_id": CLIENT,
            "email": "a@example.com",
            "display_name": "Ana",
            "created_at": "2025-01-01 00:00:00",
        }
    ]
    devices = [
        {
            "device_id": DEVICE,
            "client_id": CLIENT,
            "hostname": "h",
            "platform": "windows",
            "created_at": "2025-01-01 00:00:00",
        }
    ]
    files = {
        "clients": write_csv(tmp_path / "seed_c.csv", [client()]),
        "users": write_csv(tmp_path / "seed_u.csv", users),
        "devices": write_csv(tmp_path / "seed_d.csv", devices),
        "heartbeats": write_csv(tmp_path / "seed_h.csv", [heartbeat(i) for i in range(3)]),
    }
    for table, path in files.items():
        assert run_load(empty_warehouse, table, path, monkeypatch=monkeypatch).exit_code == 0
    return empty_warehouse

"""Where the warehouse is, read once from the environment.

Every command and the API resolve the warehouse the same way, from
``DAYBOOK_DATABASE_URL`` (contract section 5), so a data engineer points the
whole product at another database with one variable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

DEFAULT_DUCKDB_PATH = Path(".daybook") / "daybook.duckdb"
Backend = Literal["duckdb", "postgres", "spark"]
SPARK_DEFAULT_PORT = 15002


class ConfigError(ValueError):
    """The configured warehouse URL cannot be understood."""


def project_dir() -> Path:
    """The checkout holding ``dbt_project.yml``, ``semantic/`` and ``expectations/``."""
    override = os.environ.get("DAYBOOK_PROJECT_DIR")
    return Path(override).resolve() if override else Path(__file__).resolve().parents[1]


def local_state_root() -> Path:
    """``DAYBOOK_STATE_DIR`` (default ``.daybook``): where Daybook keeps the local state of
    warehouses that have no folder of their own (PostgreSQL, Spark) and the local Spark
    server's folder."""
    return Path(os.environ.get("DAYBOOK_STATE_DIR", ".daybook")).resolve()


@dataclass(frozen=True)
class Warehouse:
    """A parsed warehouse location: an embedded DuckDB file, a PostgreSQL database, or a
    Spark Connect endpoint (``host``/``port``; ``url`` is what the Spark client dials)."""

    url: str
    backend: Backend
    duckdb_path: Path | None = None
    host: str = "127.0.0.1"
    port: int = 5432
    user: str = "postgres"
    password: str = ""
    dbname: str = "postgres"

    @property
    def state_dir(self) -> Path:
        """A private folder for this warehouse's dbt artifacts, tokens and snapshots."""
        if self.backend == "duckdb":
            assert self.duckdb_path is not None
            return self.duckdb_path.parent / f"{self.duckdb_path.stem}.state"
        base = local_state_root()
        if self.backend == "spark":
            # local: dbt's artifacts and the token store (Spark is too slow and has no
            # transactions for a per-request token read; daybook/tokens/store.py)
            return base / f"spark-{self.host}-{self.port}"
        return base / f"pg-{self.host}-{self.port}-{self.dbname}"

    @property
    def pg_conninfo(self) -> str:
        """libpq keyword/value connection string (PostgreSQL only)."""
        parts = {
            "host": self.host,
            "port": str(self.port),
            "user": self.user,
            "dbname": self.dbname,
        }
        if self.password:
            parts["password"] = self.password
        return " ".join(f"{key}={value}" for key, value in parts.items())

    @property
    def dialect(self) -> str:
        """The sqlglot dialect name of this backend."""
        return self.backend


def parse_database_url(url: str) -> Warehouse:
    """Parse ``duckdb:///abs/path.duckdb``, ``duckdb://rel/path.duckdb``, ``postgresql://...``
    or ``sc://host:port`` (Spark Connect; parameters after ``/;`` are the client's).

    Everything after ``duckdb://`` is the file path, so the contract's
    ``duckdb:///path/to/file.duckdb`` is the absolute path ``/path/to/file.duckdb``
    and ``duckdb://.daybook/x.duckdb`` is relative to the working directory.
    """
    if url.startswith("duckdb://"):
        raw_path = url[len("duckdb://") :]
        if not raw_path:
            raise ConfigError(f"DAYBOOK_DATABASE_URL {url!r} names no DuckDB file")
        if raw_path.startswith("/"):
            raw_path = "/" + raw_path.lstrip("/")
        return Warehouse(url=url, backend="duckdb", duckdb_path=Path(raw_path).resolve())
    parts = urlsplit(url)
    if parts.scheme in {"postgresql", "postgres", "postgresql+psycopg"}:
        dbname = unquote(parts.path.lstrip("/")) or "postgres"
        return Warehouse(
            url=url,
            backend="postgres",
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password or ""),
            dbname=dbname,
        )
    if parts.scheme == "sc":
        return _spark_warehouse(url)
    raise ConfigError(
        f"DAYBOOK_DATABASE_URL {url!r} is not supported: use duckdb:///path/to/file.duckdb, "
        "postgresql://user@host:port/dbname or sc://host:port (Spark Connect)"
    )


def _spark_warehouse(url: str) -> Warehouse:
    """``sc://host[:port][/;key=value;...]``: Spark Connect's URL form, port 15002 by default."""
    address = url.split("/;", 1)[0]
    parts = urlsplit(address.rstrip("/"))
    try:
        port = parts.port or SPARK_DEFAULT_PORT
    except ValueError:
        raise ConfigError(f"DAYBOOK_DATABASE_URL {url!r} has an invalid port") from None
    if not parts.hostname or parts.path not in ("", "/"):
        raise ConfigError(
            f"DAYBOOK_DATABASE_URL {url!r} is not a Spark Connect URL: use sc://host:port"
        )
    spark_retry_seconds()  # a bad setting is refused with the URL, before any command runs
    return Warehouse(url=url, backend="spark", host=parts.hostname, port=port)


# How long a Spark Connect session keeps retrying a server that does not answer (seconds of
# waiting between attempts: ``daybook.spark.session.retry_policy``). pyspark's own budget is
# about 15 minutes: a server that died under a command held that command, and its process's
# exit, that long.
SPARK_RETRY_SECONDS_ENV = "DAYBOOK_SPARK_RETRY_SECONDS"
SPARK_DEFAULT_RETRY_SECONDS = 120.0


def spark_retry_seconds() -> float:
    """``DAYBOOK_SPARK_RETRY_SECONDS``, else :data:`SPARK_DEFAULT_RETRY_SECONDS`."""
    raw = os.environ.get(SPARK_RETRY_SECONDS_ENV, "").strip()
    if not raw:
        return SPARK_DEFAULT_RETRY_SECONDS
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:  # also refuses nan
        raise ConfigError(
            f"{SPARK_RETRY_SECONDS_ENV} must be a number of seconds >= 0, not {raw!r}"
        )
    return seconds


def warehouse_from_env() -> Warehouse:
    """The warehouse named by ``DAYBOOK_DATABASE_URL``, or the embedded DuckDB default.

    A DuckDB path must name a DuckDB database file, or nothing yet (the first load
    creates it): anything else is refused here, before any command writes beside it.
    """
    url = os.environ.get("DAYBOOK_DATABASE_URL") or f"duckdb://{DEFAULT_DUCKDB_PATH}"
    warehouse = parse_database_url(url)
    if warehouse.duckdb_path is not None:
        check_duckdb_path(warehouse.duckdb_path, url)
    return warehouse


# Every DuckDB database file starts with a block whose bytes 8 to 12 are this magic.
DUCKDB_MAGIC = b"DUCK"
DUCKDB_MAGIC_OFFSET = 8


def check_duckdb_path(path: Path, url: str) -> None:
    """Refuse a DuckDB warehouse path that is a folder, a file that is not a DuckDB
    database (DuckDB attached such a file as an empty in-memory database: every load was
    lost), or that lies under a file.

    Why: a mistyped URL pointing at a CSV file, a folder or a path under a file otherwise
    "worked" while keeping nothing, or failed deep inside a command.
    """
    rule = "a DuckDB warehouse path must name a DuckDB database file, or a file not created yet"
    if path.is_dir():
        raise ConfigError(
            f"DAYBOOK_DATABASE_URL {url!r} names the folder {path}: {rule} "
            f"(e.g. {path / 'daybook.duckdb'})"
        )
    if path.exists():
        try:
            with path.open("rb") as handle:
                head = handle.read(DUCKDB_MAGIC_OFFSET + len(DUCKDB_MAGIC))
        except OSError:
            return  # unreadable: DuckDB says why when a command opens it
        if head[DUCKDB_MAGIC_OFFSET:] != DUCKDB_MAGIC:
            raise ConfigError(
                f"DAYBOOK_DATABASE_URL {url!r}: {path} is not a DuckDB database file "
                f"(it lacks DuckDB's header); {rule}"
            )
        return
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ConfigError(
                    f"DAYBOOK_DATABASE_URL {url!r}: {parent} is a file, so no folder can "
                    f"hold the warehouse under it; {rule}"
                )
            return

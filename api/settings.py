"""What an API process is configured with: the factory's dict, else the environment."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from daybook.config import ConfigError, Warehouse, parse_database_url, warehouse_from_env
from daybook.serving.store import separate_store

DEFAULT_MAX_RANGE_DAYS = 90
DEFAULT_ANSWER_CACHE_MB = 32.0
# Far above what one token drives at this service's capacity (a few thousand requests/s,
# `make bench`); a minute-long window lets bursts through. Per worker with memory storage.
DEFAULT_RATE_LIMIT_PER_TOKEN = "600000 per minute"
# Failed authentications (401) per client address before its requests get 429.
DEFAULT_RATE_LIMIT_FAILED_AUTH = "300 per minute"
DEFAULT_RATE_LIMIT_STORAGE_URI = "memory://"
# Longest a warehouse statement of the API may run (PostgreSQL's statement_timeout): a read
# stuck behind a lock answers 500 then, instead of holding an app thread, and with enough
# stuck ones every other request too, for as long as the lock lasts. The API's reads take
# milliseconds (a 90-day series on one entity).
DEFAULT_QUERY_TIMEOUT_SECONDS = 10.0
# How often `daybook serve` looks for changed semantic YAML to serve (api.metric_reload).
DEFAULT_METRICS_RELOAD_SECONDS = 2.0


@dataclass(frozen=True)
class Settings:
    """API settings; ``max_range_days`` is the contract's configurable 90-day limit."""

    warehouse: Warehouse  # what the API reads: the serving store when one is configured
    semantic_dir: Path | None = None
    manifest_path: Path | None = None
    max_range_days: int = DEFAULT_MAX_RANGE_DAYS
    pool_size: int = 8
    answer_cache_mb: float = DEFAULT_ANSWER_CACHE_MB
    rate_limit_per_token: str = DEFAULT_RATE_LIMIT_PER_TOKEN
    rate_limit_failed_auth: str = DEFAULT_RATE_LIMIT_FAILED_AUTH
    rate_limit_storage_uri: str = DEFAULT_RATE_LIMIT_STORAGE_URI
    query_timeout_seconds: float = DEFAULT_QUERY_TIMEOUT_SECONDS  # 0: none
    metrics_reload_seconds: float = DEFAULT_METRICS_RELOAD_SECONDS  # 0: never

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> Settings:
        """Keys (any case): warehouse (Warehouse or URL; with ``DAYBOOK_SERVING_URL``, or a
        ``serving_url`` key, set, the API reads that serving store instead:
        ``daybook.serving.store``), semantic_dir, manifest_path,
        max_range_days (else ``DAYBOOK_MAX_RANGE_DAYS``, else 90), pool_size,
        answer_cache_mb (else ``DAYBOOK_ANSWER_CACHE_MB``, else 32; 0 turns the cache off),
        rate_limit_per_token, rate_limit_failed_auth (else ``DAYBOOK_RATE_LIMIT_PER_TOKEN`` /
        ``DAYBOOK_RATE_LIMIT_FAILED_AUTH``: limits such as ``"100 per second; 5000 per hour"``,
        ``off`` for none), rate_limit_storage_uri (else ``DAYBOOK_RATE_LIMIT_STORAGE_URI``,
        else ``memory://``), query_timeout_seconds (else ``DAYBOOK_QUERY_TIMEOUT_SECONDS``,
        else 10; 0 for none; PostgreSQL), metrics_reload_seconds (else
        ``DAYBOOK_METRICS_RELOAD_SECONDS``, else 2; 0 for never; ``daybook serve``)."""
        values = {key.lower(): value for key, value in (config or {}).items()}
        warehouse = values.get("warehouse") or warehouse_from_env()
        if isinstance(warehouse, str):
            warehouse = parse_database_url(warehouse)
        warehouse = separate_store(warehouse, values.get("serving_url")) or warehouse
        limit = values.get("max_range_days") or os.environ.get("DAYBOOK_MAX_RANGE_DAYS") or 90
        try:
            max_range_days = int(limit)
        except (TypeError, ValueError):
            raise ConfigError(f"max range days must be a whole number, got {limit!r}") from None
        if max_range_days < 1:
            raise ConfigError(f"max range days must be at least 1, got {max_range_days}")
        answer_cache_mb = _non_negative(
            values, "answer_cache_mb", DEFAULT_ANSWER_CACHE_MB, "answer cache size", "MB"
        )
        query_timeout = _non_negative(
            values,
            "query_timeout_seconds",
            DEFAULT_QUERY_TIMEOUT_SECONDS,
            "query timeout",
            "seconds",
        )
        metrics_reload = _non_negative(
            values,
            "metrics_reload_seconds",
            DEFAULT_METRICS_RELOAD_SECONDS,
            "metrics reload interval",
            "seconds",
        )
        semantic_dir = values.get("semantic_dir") or os.environ.get("DAYBOOK_SEMANTIC_DIR")
        manifest_path = values.get("manifest_path")
        return cls(
            warehouse=warehouse,
            semantic_dir=Path(semantic_dir) if semantic_dir else None,
            manifest_path=Path(manifest_path) if manifest_path else None,
            max_range_days=max_range_days,
            pool_size=int(values.get("pool_size") or os.environ.get("DAYBOOK_POOL_SIZE") or 8),
            answer_cache_mb=answer_cache_mb,
            rate_limit_per_token=_rate_limit(
                values, "rate_limit_per_token", DEFAULT_RATE_LIMIT_PER_TOKEN
            ),
            rate_limit_failed_auth=_rate_limit(
                values, "rate_limit_failed_auth", DEFAULT_RATE_LIMIT_FAILED_AUTH
            ),
            rate_limit_storage_uri=str(
                values.get("rate_limit_storage_uri")
                or os.environ.get("DAYBOOK_RATE_LIMIT_STORAGE_URI")
                or DEFAULT_RATE_LIMIT_STORAGE_URI
            ),
            query_timeout_seconds=query_timeout,
            metrics_reload_seconds=metrics_reload,
        )


def _non_negative(
    values: Mapping[str, Any], key: str, default: float, name: str, unit: str
) -> float:
    """A number of ``unit`` from the factory's dict, else ``DAYBOOK_<KEY>``, else ``default``."""
    value = values.get(key)
    if value is None:
        value = os.environ.get(f"DAYBOOK_{key.upper()}", default)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number of {unit}, got {value!r}") from None
    if not number >= 0:  # also refuses NaN
        raise ConfigError(f"{name} must not be negative, got {value!r}")
    if math.isinf(number):  # would fail in every worker (no timeout, no cache size)
        raise ConfigError(f"{name} must be a finite number of {unit}, got {value!r}")
    return number


def _rate_limit(values: Mapping[str, Any], key: str, default: str) -> str:
    """A checked limit string (``limits`` notation), or ``""`` for ``off``: fail at start-up,
    not on the first request."""
    from limits import parse_many

    value = values.get(key)
    if value is None:
        value = os.environ.get(f"DAYBOOK_{key.upper()}", default)
    text = str(value).strip()
    if text.lower() in {"", "off", "none", "0"}:
        return ""
    try:
        parse_many(text)
    except ValueError:
        raise ConfigError(
            f"{key}: not a rate limit: {text!r} (write e.g. '100 per second; 5000 per hour', "
            "or 'off')"
        ) from None
    return text

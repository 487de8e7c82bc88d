"""The session's generated sample warehouse (generate -> load -> build) matches the reference.

Thousands of synthetic heartbeats in varied time zones, with duplicates, late
arrivals and every kind of invalid row, compared mart by mart with the
plain-Python reading of the contract over the same raw rows.
"""

from __future__ import annotations

import pytest

from .scenario import expected_marts, query, read_marts


@pytest.fixture
def sample(built) -> tuple[dict, dict]:
    """(marts as built, marts the reference expects) for the parametrised backend."""
    raw = {table: built.raw_rows(table) for table in ("clients", "users", "devices", "heartbeats")}
    return read_marts(built.warehouse), expected_marts(raw)


@pytest.mark.parametrize("mart", ["activity", "users", "devices", "quarantine"])
def test_generated_sample_marts_match_reference(sample: tuple[dict, dict], mart: str) -> None:
    actual, expected = sample
    assert expected[mart], f"the generated sample must exercise {mart}"
    missing = sorted(set(expected[mart]) - set(actual[mart]), key=str)[:5]
    extra = sorted(set(actual[mart]) - set(expected[mart]), key=str)[:5]
    assert not missing and not extra, f"{mart}: missing {missing}, unexpected {extra}"
    wrong = [key for key in expected[mart] if actual[mart][key] != expected[mart][key]]
    assert not wrong, f"{mart}: {len(wrong)} rows differ, e.g. {wrong[:3]}"


def test_generated_sample_totals_match_reference(built, sample: tuple[dict, dict]) -> None:
    actual, expected = sample
    for mart in ("activity", "users", "devices"):
        for measure in ("total_activity_count", "heartbeat_count"):
            assert sum(row[measure] for row in actual[mart].values()) == sum(
                row[measure] for row in expected[mart].values()
            )
    (row,) = query(built.warehouse, "select count(*) as n from fct_heartbeats_quarantined")
    assert row["n"] == sum(expected["quarantine"].values())

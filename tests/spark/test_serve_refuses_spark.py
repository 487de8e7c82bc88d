"""`daybook serve` on a Spark warehouse without a serving store says what to do instead
of failing on a connection it cannot make (the API does not read Spark directly yet)."""

from __future__ import annotations

from click.testing import CliRunner

from daybook.cli import main


def test_serve_on_spark_without_a_serving_store_is_refused_with_the_way_out(monkeypatch):
    monkeypatch.setenv("DAYBOOK_DATABASE_URL", "sc://127.0.0.1:15999")
    monkeypatch.delenv("DAYBOOK_SERVING_URL", raising=False)
    result = CliRunner().invoke(main, ["serve", "--port", "0"])
    assert result.exit_code == 1
    assert "DAYBOOK_SERVING_URL" in result.output
    assert "Traceback" not in result.output

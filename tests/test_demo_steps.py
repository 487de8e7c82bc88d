"""``daybook demo`` marks each step by how it ended: ✗ for a build that failed or was
interrupted (it showed ✓, then "dbt build FAILED"), and it says, as ``daybook load`` does,
when a load replaced earlier rows (a re-run silently put back a changed client)."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from daybook.build.results import BuildResult
from daybook.cli import main
from daybook.pipeline import Outcome

BUILD_STEP = "Building the marts"
DEMO = ["demo", "--no-serve", "--heartbeats", "300"]


@pytest.fixture
def demo_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DAYBOOK_DATABASE_URL", f"duckdb://{tmp_path / 'demo.duckdb'}")
    monkeypatch.setenv("DAYBOOK_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("DAYBOOK_SERVING_URL", raising=False)
    return tmp_path


def failed_build(warehouse, **_: object) -> Outcome:
    return Outcome(BuildResult(success=False, error="broken on purpose"), None, 0.1, None)


def interrupted_build(warehouse, **_: object) -> Outcome:
    raise KeyboardInterrupt


def _marked(output: str, mark: str) -> bool:
    return any(line.startswith(f"{mark} {BUILD_STEP}") for line in output.splitlines())


def test_a_failed_build_step_is_marked_failed(demo_dir: Path, monkeypatch) -> None:
    monkeypatch.setattr("daybook.pipeline.build_and_publish", failed_build)
    result = CliRunner().invoke(main, DEMO)
    assert result.exit_code == 1
    assert _marked(result.output, "✗"), result.output
    assert not _marked(result.output, "✓"), result.output
    assert "✓ Loading raw.heartbeats" in result.output


def test_an_interrupted_build_step_is_marked_failed(demo_dir: Path, monkeypatch) -> None:
    monkeypatch.setattr("daybook.pipeline.build_and_publish", interrupted_build)
    result = CliRunner().invoke(main, DEMO)
    assert result.exit_code == 130
    assert _marked(result.output, "✗"), result.output
    assert not _marked(result.output, "✓"), result.output
    assert result.output.strip().splitlines()[-1] == "interrupted"
    assert "Traceback" not in result.output


def test_a_rerun_says_it_replaced_a_changed_client(demo_dir: Path, monkeypatch) -> None:
    monkeypatch.setattr("daybook.pipeline.build_and_publish", failed_build)  # loads alone
    runner = CliRunner()
    first = runner.invoke(main, DEMO)
    assert "replaced earlier rows" not in first.output
    # someone delivers a changed client between two demos
    [clients_file] = sorted((demo_dir / ".daybook" / "demo-data").glob("clients*"))
    clients = pq.read_table(clients_file).to_pylist()
    clients[0]["name"] = "Renamed by hand"
    changed = demo_dir / "changed_clients.csv"
    columns = list(clients[0])
    changed.write_text(
        ",".join(columns)
        + "\n"
        + "\n".join(",".join(str(row[name]) for name in columns) for row in clients[:1])
        + "\n"
    )
    loaded = runner.invoke(main, ["load", "clients", str(changed)])
    assert loaded.exit_code == 0, loaded.output
    second = runner.invoke(main, DEMO)
    notices = [line.strip() for line in second.output.splitlines() if "Notice:" in line]
    assert any(
        line.startswith("Notice: raw.clients: 1 client replaced earlier rows") for line in notices
    ), second.output

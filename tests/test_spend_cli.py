"""`sora-mcp spend`: the ledger a server wrote, read by the CLI (JSON and plain text)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client

from sora_mcp import Settings
from sora_mcp.cli import EXIT_FAILED, EXIT_OK, main
from sora_mcp.server import create_server
from tests.server.conftest import SMALL, structured

pytestmark = pytest.mark.anyio


def spend(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["spend", *args])
    return code, capsys.readouterr().out


async def test_spend_json_shows_today_the_month_and_each_model(
    settings: Settings, http_client: httpx2.AsyncClient, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    state = tmp_path / "state-of-the-server"
    configured = settings.model_copy(update={"state_dir": state, "prices": {"test-model": 0.1}})
    async with Client(create_server(configured, http_client=http_client)) as client:
        first = structured(await client.call_tool("generate_video", {"prompt": "a red kite", **SMALL, "seconds": 3}))
        structured(await client.call_tool("generate_video", {"prompt": "a red kite", **SMALL, "seconds": 3}))  # reused
        structured(await client.call_tool("generate_video", {"prompt": "a kite", **SMALL, "model": "other-model"}))

    code, out = spend(capsys, "--json", "--state-dir", str(state), "--daily-budget", "1", "--recent", "5")
    assert code == EXIT_OK
    document: dict[str, Any] = json.loads(out)
    assert document["ledger"] == str(state / "ledger.sqlite3")
    today = document["today"]
    assert today["spent_usd"] == pytest.approx(0.3) and today["jobs"] == 2 and today["unpriced_jobs"] == 1
    assert today["budget_usd"] == 1.0 and today["remaining_usd"] == pytest.approx(0.7)
    assert document["this_month"]["spent_usd"] == pytest.approx(0.3) and document["this_month"]["budget_usd"] is None
    models = {row["model"]: row for row in document["per_model"]}
    assert models["test-model"]["this_month_usd"] == pytest.approx(0.3)
    assert models["other-model"]["this_month_usd"] == 0 and models["other-model"]["unpriced_jobs_this_month"] == 1
    recent = document["recent"]
    assert [row["state"] for row in recent] == ["sent", "sent"]
    assert recent[1]["video_id"] == first["id"] and recent[0]["cost_usd"] is None
    assert document["limits"]["daily_budget_usd"] == 1.0

    code, out = spend(capsys, "--state-dir", str(state))
    assert code == EXIT_OK
    assert "today (" in out and "$0.30 in 2 jobs (1 with an unknown price" in out
    assert "set --price other-model=USD_PER_SECOND" in out and first["id"] in out


def test_spend_without_a_ledger_reports_nothing_and_creates_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out = spend(capsys, "--json", "--state-dir", str(tmp_path / "fresh"), "--backend", "emulator")
    assert code == EXIT_OK
    document = json.loads(out)
    assert document["ledger"].endswith("emulator-ledger.sqlite3")
    assert document["today"]["spent_usd"] == 0 and document["recent"] == []
    assert not (tmp_path / "fresh").exists()


def test_spend_on_an_unreadable_ledger_fails_plainly(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "ledger.sqlite3").write_bytes(b"this is not a database" * 100)
    code, out = spend(capsys, "--json", "--state-dir", str(tmp_path))
    assert code == EXIT_FAILED
    assert json.loads(out)["error"] == "StorageError"
    assert "--state-dir" in capsys.readouterr().err or "--state-dir" in out


def test_serve_and_spend_take_the_spending_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sora_mcp.cli import build_parser, settings_from_args

    monkeypatch.setenv("SORA_MCP_DAILY_BUDGET", "9")
    args = build_parser().parse_args(
        [
            "serve",
            *("--state-dir", str(tmp_path), "--price", "a=0.1", "--price", "b=0.2"),
            *("--max-cost-per-video", "2", "--monthly-budget", "50", "--confirm-above", "1", "--dedupe-window", "60"),
        ]
    )
    settings = settings_from_args(args)
    assert settings.state_dir == tmp_path and settings.prices == {"a": 0.1, "b": 0.2}
    assert (settings.max_cost_per_video, settings.daily_budget, settings.monthly_budget) == (2, 9, 50)
    assert (settings.confirm_above, settings.dedupe_window) == (1, 60)
    assert main(["serve", "--price", "nonsense"]) == 2

"""The spend guard over real transports, in both protocol eras: `sora-mcp serve` as a subprocess over stdio
(restarted on the same state folder; two processes racing for the last budget slot) and Streamable HTTP
(in-process `serving_http`). Elicitation here is the real thing: `elicitation/create` on 2025-11-25
sessions, the input_required round trip on 2026-07-28."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.types import ElicitRequestFormParams, ElicitResult

from sora_mcp import Settings
from sora_mcp.emulator import Emulator, serve_emulator
from sora_mcp.server import create_server, serving_http
from tests.conftest import TEST_KEY
from tests.server.conftest import SMALL, error_text, structured
from tests.server.test_spend_guard import HoldCreates
from tests.server.test_transports import child_env

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

SPENDING = ("--price", "test-model=0.1", "--confirm-above", "0.15")  # SMALL costs $0.10; 2 s cost $0.20
ERAS = ["auto", "legacy"]


class Answers:
    """Answers each question with the next of ``actions`` (accept = approve), remembering the questions."""

    def __init__(self, *actions: str) -> None:
        self.actions = list(actions)
        self.questions: list[str] = []

    async def __call__(self, context: Any, params: Any) -> ElicitResult:
        assert isinstance(params, ElicitRequestFormParams)
        self.questions.append(params.message)
        action = self.actions.pop(0)
        if action == "accept":
            return ElicitResult(action="accept", content={"approve": True})
        return ElicitResult(action="decline")


def serve_api(base_url: str, output_dir: Path, state_dir: Path, *extra: str) -> StdioServerParameters:
    """`sora-mcp serve` (stdio) against ``base_url``, its ledger in ``state_dir``."""
    args = ["-m", "sora_mcp", "serve", "--base-url", base_url, "--output-dir", str(output_dir)]
    args += ["--state-dir", str(state_dir), *extra]
    return StdioServerParameters(command=sys.executable, args=args, env=child_env(OPENAI_API_KEY=TEST_KEY))


@pytest.mark.parametrize("era", ERAS)
async def test_stdio_confirms_reuses_and_remembers_across_a_restart(
    live_base_url: str, emulator: Emulator, tmp_path: Path, era: str
) -> None:
    params = serve_api(live_base_url, tmp_path / "out", tmp_path / "state", *SPENDING)
    expensive = {"prompt": "a red kite", **SMALL, "seconds": 2}
    answers = Answers("accept", "decline")
    with anyio.fail_after(60):
        async with Client(params, mode=era, elicitation_callback=answers) as client:
            assert client.protocol_version == ("2026-07-28" if era == "auto" else "2025-11-25")
            made = structured(await client.call_tool("generate_video", expensive))
            again = structured(await client.call_tool("generate_video", expensive))  # the host retries
            declined = error_text(await client.call_tool("generate_video", {**expensive, "prompt": "a blue kite"}))
        async with Client(params, mode=era, elicitation_callback=answers) as restarted:
            after_restart = structured(await restarted.call_tool("generate_video", expensive))
            cheap = structured(await restarted.call_tool("generate_video", {"prompt": "a kite", **SMALL}))
    assert len(answers.questions) == 2 and "about $0.20" in answers.questions[0]
    assert made["reused"] is False and made["spend"]["needs_confirmation"] is True
    assert again["reused"] is True and again["id"] == made["id"]
    assert "did not approve" in declined
    assert after_restart["reused"] is True and after_restart["id"] == made["id"]
    assert cheap["reused"] is False and cheap["spend"]["spent_today_usd"] == pytest.approx(0.3)
    assert emulator.stats.count("POST", "/videos") == 2


@pytest.mark.parametrize("era", ERAS)
async def test_stdio_without_elicitation_refuses_then_takes_confirm_cost_usd(
    live_base_url: str, emulator: Emulator, tmp_path: Path, era: str
) -> None:
    params = serve_api(live_base_url, tmp_path / "out", tmp_path / "state", *SPENDING, "--daily-budget", "0.25")
    expensive = {"prompt": "a red kite", **SMALL, "seconds": 2}
    with anyio.fail_after(60):
        async with Client(params, mode=era) as client:
            refused = error_text(await client.call_tool("generate_video", expensive))
            made = structured(await client.call_tool("generate_video", {**expensive, "confirm_cost_usd": 0.2}))
            over = error_text(await client.call_tool("generate_video", {**expensive, "prompt": "b", "new_job": True}))
    assert "cannot ask the user" in refused and "confirm_cost_usd=0.2" in refused
    assert made["id"] and made["spend"]["daily_remaining_usd"] == pytest.approx(0.05)
    assert "daily budget of $0.25" in over and "SORA_MCP_DAILY_BUDGET" in over
    assert emulator.stats.count("POST", "/videos") == 1


async def test_two_processes_race_for_the_last_budget_slot_and_one_wins(tmp_path: Path) -> None:
    """Two `sora-mcp serve` processes (each with its own embedded emulator) share one ledger whose daily
    budget has room for one job: both create at once, exactly one is sent."""
    state = tmp_path / "state"
    outcomes: list[Any] = []

    def params(name: str) -> StdioServerParameters:
        args = ["-m", "sora_mcp", "serve", "--backend", "emulator", "--emulator-render-seconds", "0.3"]
        args += ["--output-dir", str(tmp_path / name), "--state-dir", str(state)]
        args += ["--price", "test-model=0.1", "--daily-budget", "0.15"]
        return StdioServerParameters(command=sys.executable, args=args, env=child_env())

    with anyio.fail_after(60):
        async with Client(params("a")) as first, Client(params("b")) as second:
            ready = anyio.Event()

            async def create(client: Client, prompt: str) -> None:
                await ready.wait()
                outcomes.append(await client.call_tool("generate_video", {"prompt": prompt, **SMALL}))

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(create, first, "a red kite")
                tasks.start_soon(create, second, "a blue kite")
                ready.set()
    made = [result for result in outcomes if not result.is_error]
    refused = [error_text(result) for result in outcomes if result.is_error]
    assert len(made) == 1 and len(refused) == 1
    assert "daily budget of $0.15" in refused[0] and "$0.10 of the daily budget" in refused[0]


@pytest.mark.parametrize("era", ERAS)
async def test_streamable_http_refuses_confirms_and_reuses(
    settings: Settings, http_client: httpx2.AsyncClient, emulator: Emulator, era: str
) -> None:
    configured = settings.model_copy(
        update={
            "transport": "streamable-http",
            "port": 0,
            "prices": {"test-model": 0.1},
            "confirm_above": 0.15,
            "max_cost_per_video": 0.25,
        }
    )
    answers = Answers("accept", "decline")
    expensive = {"prompt": "a red kite", **SMALL, "seconds": 2}
    with anyio.fail_after(60):
        async with (
            serving_http(create_server(configured, http_client=http_client), configured) as url,
            Client(url, mode=era, elicitation_callback=answers) as client,
        ):
            too_much = error_text(await client.call_tool("generate_video", {**expensive, "seconds": 3}))
            made = structured(await client.call_tool("generate_video", expensive))
            declined = error_text(await client.call_tool("generate_video", {**expensive, "prompt": "a blue kite"}))
            again = structured(await client.call_tool("generate_video", expensive))
            dry = structured(await client.call_tool("generate_video", {**expensive, "prompt": "c", "dry_run": True}))
    assert "per-video limit of $0.25" in too_much and "about $0.30" in too_much
    assert len(answers.questions) == 2 and "about $0.20" in answers.questions[0]
    assert made["reused"] is False and "did not approve" in declined
    assert again["reused"] is True and again["id"] == made["id"]
    assert dry["dry_run"] is True and dry["spend"]["needs_confirmation"] is True
    assert dry["spend"]["spent_today_usd"] == pytest.approx(0.2)
    assert emulator.stats.count("POST", "/videos") == 1


@pytest.mark.parametrize("era", ERAS)
async def test_stdio_host_that_gives_up_and_calls_again_gets_the_same_job(
    emulator: Emulator, tmp_path: Path, era: str
) -> None:
    """The host cancels the first call once the create reached the server (its tool-call timeout), then
    calls again: one job, and the second answer is that job, reused."""
    hold = HoldCreates(emulator.app)
    arguments = {"prompt": "a red kite", **SMALL}
    with anyio.fail_after(60):
        async with serve_emulator(emulator, app=hold) as base_url:
            params = serve_api(base_url, tmp_path / "out", tmp_path / "state")
            async with Client(params, mode=era) as client:
                async with anyio.create_task_group() as tasks:
                    gave_up = anyio.CancelScope()

                    async def first_call() -> None:
                        with gave_up:
                            await client.call_tool("generate_video", arguments)

                    tasks.start_soon(first_call)
                    await hold.reached.wait()
                    gave_up.cancel()  # notifications/cancelled goes out on the wire
                # A round trip behind the cancellation: once it is answered, the server has acted on it.
                structured(await client.call_tool("list_videos", {}))
                assert emulator.stats.count("POST", "/videos") == 1
                async with anyio.create_task_group() as tasks:
                    second: list[Any] = []

                    async def second_call() -> None:
                        second.append(await client.call_tool("generate_video", arguments))

                    tasks.start_soon(second_call)
                    hold.release.set()  # the first create's answer arrives after the host gave up
    again = structured(second[0])
    assert again["reused"] is True and again["id"] == next(iter(emulator.store.jobs))
    assert emulator.stats.count("POST", "/videos") == 1

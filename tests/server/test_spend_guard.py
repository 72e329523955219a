"""The spend guard of the create tools, in-process, in both protocol eras: priced before sending, refused
over a limit with nothing sent, confirmed by the user (elicitation) or by the model (confirm_cost_usd),
dry runs, and identical creates answered with the job already made (across a restart, and after the
host gave up on the first call)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.types import ElicitRequestFormParams, ElicitResult
from PIL import Image
from starlette.types import Message, Receive, Scope, Send

from sora_mcp import Settings
from sora_mcp.emulator import Emulator
from sora_mcp.server import create_server
from tests.server.conftest import SMALL, error_text, structured

pytestmark = pytest.mark.anyio

PRICED = {"prices": {"test-model": 0.1}}  # SMALL (1 s of test-model) costs $0.10
Answer = Callable[[str], ElicitResult]


class Asked:
    """An elicitation callback that answers with ``answer`` and remembers each question."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.questions: list[str] = []

    async def __call__(self, context: Any, params: Any) -> ElicitResult:
        assert isinstance(params, ElicitRequestFormParams)
        assert set(params.requested_schema["properties"]) == {"approve"}
        self.questions.append(params.message)
        return self.answer(params.message)


def approve(_message: str) -> ElicitResult:
    return ElicitResult(action="accept", content={"approve": True})


def decline(_message: str) -> ElicitResult:
    return ElicitResult(action="decline")


@asynccontextmanager
async def guarded(
    settings: Settings,
    http_client: httpx2.AsyncClient,
    era: str,
    *,
    elicitation: Asked | None = None,
    **spend: Any,
) -> AsyncIterator[Client]:
    configured = settings.model_copy(update={**PRICED, **spend})
    server = create_server(configured, http_client=http_client)
    async with Client(server, mode=era, elicitation_callback=elicitation) as client:
        yield client


def creates(emulator: Emulator) -> int:
    return emulator.stats.count("POST", "/videos")


async def test_a_create_over_the_daily_budget_is_refused_before_it_is_sent(
    settings: Settings, http_client: httpx2.AsyncClient, emulator: Emulator, era: str
) -> None:
    async with guarded(settings, http_client, era, daily_budget=0.15) as client:
        first = structured(await client.call_tool("generate_video", {"prompt": "a red kite", **SMALL}))
        assert first["estimated_cost_usd"] == 0.1 and first["reused"] is False
        assert first["spend"]["spent_today_usd"] == 0.1 and first["spend"]["daily_remaining_usd"] == pytest.approx(0.05)
        refused = error_text(await client.call_tool("generate_video", {"prompt": "a blue kite", **SMALL}))
    print(f"\n[refused over budget, {era}] {refused}")
    assert creates(emulator) == 1
    assert "Not sent" in refused and "nothing was spent" in refused
    assert "$0.10" in refused and "$0.15" in refused and "$0.05" in refused  # estimate, budget, spent, left
    assert "--daily-budget (or SORA_MCP_DAILY_BUDGET)" in refused


async def test_per_video_and_monthly_limits_name_their_settings(
    settings: Settings, http_client: httpx2.AsyncClient, emulator: Emulator, era: str
) -> None:
    async with guarded(settings, http_client, era, max_cost_per_video=0.05) as client:
        text = error_text(await client.call_tool("generate_video", {"prompt": "a red kite", **SMALL}))
    assert "per-video limit of $0.05" in text and "--max-cost-per-video (or SORA_MCP_MAX_COST_PER_VIDEO)" in text
    async with guarded(settings, http_client, era, monthly_budget=0.05) as client:
        text = error_text(await client.call_tool("generate_video", {"prompt": "a red kite", **SMALL}))
    assert "monthly budget of $0.05" in text and "--monthly-budget (or SORA_MCP_MONTHLY_BUDGET)" in text
    assert creates(emulator) == 0


async def test_an_unknown_price_with_a_limit_set_is_refused_with_advice(
    settings: Settings, http_client: httpx2.AsyncClient, emulator: Emulator, era: str
) -> None:
    async with guarded(settings, http_client, era, prices={}, daily_budget=100) as client:
        text = error_text(await client.call_tool("generate_video", {"prompt": "a red kite", **SMALL}))
    assert creates(emulator) == 0
    assert "no known price" in text and "nothing was spent" in text
    assert "--price test-model=USD_PER_SECOND" in text and "SORA_MCP_PRICES" in text


async def test_without_limits_an_unknown_price_is_recorded_as_unknown_not_zero(
    settings: Settings, http_client: httpx2.AsyncClient, emulator: Emulator, era: str
) -> None:
    async with guarded(settings, http_client, era, prices={}) as client:
        first = structured(await client.call_tool("generate_video", {"prompt": "a red kite", **SMALL}))
        dry = structured(await client.call_tool("generate_video", {"prompt": "a kite", **SMALL, "dry_run": True}))
    assert first["estimated_cost_usd"] is None and first["spend"]["price_source"] == "unknown"
    assert dry["spend"]["spent_today_usd"] == 0 and dry["spend"]["unpriced_today"] == 1
    assert creates(emulator) == 1


async def test_dry_run_prices_and_reports_the_limits_without_sending(
    settings: Settings, http_client: httpx2.AsyncClient, emulator: Emulator, era: str
) -> None:
    async with guarded(settings, http_client, era, daily_budget=1, confirm_above=0.5) as client:
        catalog = {"prompt": "a red kite", "model": "sora-2-pro", "size": "1792x1024", "seconds": 8, "dry_run": True}
        dry = structured(await client.call_tool("generate_video", catalog))
        small = structured(await client.call_tool("generate_video", {"prompt": "a kite", **SMALL, "dry_run": True}))
    assert creates(emulator) == 0
    assert dry["dry_run"] is True and dry["id"] is None and dry["status"] is None
    assert dry["estimated_cost_usd"] == 4.0 and dry["model"] == "sora-2-pro"
    spend = dry["spend"]
    assert spend["price_source"] == "catalog" and spend["price_per_second_usd"] == 0.5
    assert spend["allowed"] is False and "daily budget of $1.00" in spend["refusal"]
    assert spend["needs_confirmation"] is True and spend["daily_remaining_usd"] == 1.0
    assert "Nothing was sent" in dry["next_step"]
    assert small["spend"]["allowed"] is True and small["spend"]["price_source"] == "price_table"
    assert small["spend"]["needs_confirmation"] is False and small["estimated_cost_usd"] == 0.1


async def test_an_elicited_confirmation_accepted_starts_the_job(
    settings: Settings, http_client: httpx2.AsyncClient, emulator: Emulator, era: str
) -> None:
    asked = Asked(approve)
    async with guarded(settings, http_client, era, elicitation=asked, confirm_above=0.05) as client:
        created = structured(await client.call_tool("generate_video", {"prompt": "a red kite", **SMALL}))
    [question] = asked.questions
    print(f"\n[elicited confirmation, {era}] {question}")
    assert "about $0.10" in question and "threshold of $0.05" in question and "a red kite" in question
    assert created["status"] == "queued" and created["spend"]["needs_confirmation"] is True
    assert creates(emulator) == 1


@pytest.mark.parametrize(
    "answer",
    [
        decline,
        lambda _m: ElicitResult(action="cancel"),
        lambda _m: ElicitResult(action="accept", content={"approve": False}),
    ],
    ids=["decline", "cancel", "accept-unchecked"],
)
async def test_an_elicited_confirmation_declined_sends_nothing(
    settings: Settings, http_client: httpx2.AsyncClient, emulator: Emulator, era: str, answer: Answer
) -> None:
    asked = Asked(answer)
    async with guarded(settings, http_client, era, elicitation=asked, confirm_above=0.05) as client:
        text = error_text(await client.call_tool("generate_video", {"prompt": "a red kite", **SMALL}))
        dry = structured(await client.call_tool("generate_video", {"prompt": "a kite", **SMALL, "dry_run": True}))
    assert len(asked.questions) == 1
    assert "did not approve" in text and "nothing was spent" in text
    assert creates(emulator) == 0 and dry["spend"]["spent_today_usd"] == 0


async def test_below_the_threshold_nobody_is_asked(
    settings: Settings, http_client: httpx2.AsyncClient, emulator: Emulator, era: str
) -> None:
    asked = Asked(decline)
    async with guarded(settings, http_client, era, elicitation=asked, confirm_above=0.1) as client:
        structured(await client.call_tool("generate_video", {"prompt": "a red kite", **SMALL}))
    assert asked.questions == [] and creates(emulator) == 1


async def test_a_client_without_elicitation_confirms_with_confirm_cost_usd(
    settings: Settings, http_client: httpx2.AsyncClient, emulator: Emulator, era: str
) -> None:
    arguments = {"prompt": "a red kite", **SMALL}
    async with guarded(settings, http_client, era, confirm_above=0.05) as client:
        first = error_text(await client.call_tool("generate_video", arguments))
        too_low = error_text(await client.call_tool("generate_video", {**arguments, "confirm_cost_usd": 0.05}))
        assert creates(emulator) == 0
        created = structured(await client.call_tool("generate_video", {**arguments, "confirm_cost_usd": 0.1}))
    print(f"\n[no elicitation, {era}] {first}")
    assert "cannot ask the user" in first and "about $0.10" in first and "confirm_cost_usd=0.1" in first
    assert "cannot ask the user" in too_low
    assert created["status"] == "queued" and creates(emulator) == 1


async def test_an_identical_create_returns_the_same_job_across_a_restart(
    settings: Settings, http_client: httpx2.AsyncClient, emulator: Emulator, era: str
) -> None:
    arguments = {"prompt": "a red kite", **SMALL}
    async with guarded(settings, http_client, era) as first_server:
        first = structured(await first_server.call_tool("generate_video", arguments))
    async with guarded(settings, http_client, era) as restarted:  # a new server: same state folder, same emulator
        again = structured(await restarted.call_tool("generate_video", arguments))
        other = structured(await restarted.call_tool("generate_video", {**arguments, "seconds": 2}))
        forced = structured(await restarted.call_tool("generate_video", {**arguments, "new_job": True}))
    print(f"\n[reused job, {era}] {again['next_step']}")
    assert again["reused"] is True and again["id"] == first["id"] and "new_job=true" in again["next_step"]
    assert again["spend"]["spent_today_usd"] == 0.1, "a reused job costs nothing more"
    assert other["reused"] is False and other["id"] != first["id"]
    assert forced["reused"] is False and forced["id"] not in (first["id"], other["id"])
    assert creates(emulator) == 3


async def test_the_same_image_under_another_name_is_the_same_create(
    settings: Settings, http_client: httpx2.AsyncClient, emulator: Emulator, era: str
) -> None:
    folder = settings.input_roots[0]
    original, copy = folder / "frame.png", folder / "copy-of-frame.png"
    original.write_bytes(_png((200, 30, 30)))
    copy.write_bytes(original.read_bytes())
    arguments = {"prompt": "a red kite", **SMALL}
    async with guarded(settings, http_client, era) as client:
        first = structured(await client.call_tool("generate_video", {**arguments, "input_reference": str(original)}))
        same = structured(await client.call_tool("generate_video", {**arguments, "input_reference": str(copy)}))
        original.write_bytes(_png((30, 30, 200)))  # same path, other picture
        changed = structured(await client.call_tool("generate_video", {**arguments, "input_reference": str(original)}))
    assert same["reused"] is True and same["id"] == first["id"]
    assert changed["reused"] is False and changed["id"] != first["id"]
    assert creates(emulator) == 2


async def test_a_failed_job_is_not_reused(
    settings: Settings, http_client: httpx2.AsyncClient, emulator: Emulator, era: str
) -> None:
    from sora_mcp.emulator import Fault

    emulator.faults.add(Fault(kind="fail_job", error_code="server_overloaded"))
    arguments = {"prompt": "a red kite", **SMALL}
    async with guarded(settings, http_client, era) as client:
        failed = structured(await client.call_tool("generate_video", arguments))
        with anyio.fail_after(20):
            error_text(await client.call_tool("wait_for_video", {"video_id": failed["id"], "timeout_seconds": 15}))
        again = structured(await client.call_tool("generate_video", arguments))
    assert again["reused"] is False and again["id"] != failed["id"] and creates(emulator) == 2


async def test_a_remix_is_priced_from_its_source_video(
    settings: Settings, http_client: httpx2.AsyncClient, emulator: Emulator, era: str
) -> None:
    async with guarded(settings, http_client, era, max_cost_per_video=0.3) as client:
        source = structured(await client.call_tool("generate_video", {"prompt": "a kite", **SMALL, "seconds": 3}))
        with anyio.fail_after(20):
            await client.call_tool("wait_for_video", {"video_id": source["id"], "timeout_seconds": 15})
        remix = {"video_id": source["id"], "prompt": "make it night"}
        dry = structured(await client.call_tool("remix_video", {**remix, "dry_run": True}))
        made = structured(await client.call_tool("remix_video", remix))
        again = structured(await client.call_tool("remix_video", remix))
    assert dry["estimated_cost_usd"] == pytest.approx(0.3) and dry["seconds"] == "3" and dry["id"] is None
    assert dry["remixed_from_video_id"] == source["id"]
    assert made["remixed_from_video_id"] == source["id"] and made["spend"]["spent_today_usd"] == pytest.approx(0.6)
    assert again["reused"] is True and again["id"] == made["id"]
    assert emulator.stats.count("POST", "/videos/{video_id}/remix") == 1


async def test_a_remix_over_the_limit_is_not_sent(
    settings: Settings, http_client: httpx2.AsyncClient, emulator: Emulator, era: str
) -> None:
    async with guarded(settings, http_client, era) as client:
        source = structured(await client.call_tool("generate_video", {"prompt": "a kite", **SMALL}))
        with anyio.fail_after(20):
            await client.call_tool("wait_for_video", {"video_id": source["id"], "timeout_seconds": 15})
    async with guarded(settings, http_client, era, max_cost_per_video=0.05) as client:
        text = error_text(await client.call_tool("remix_video", {"video_id": source["id"], "prompt": "at night"}))
    assert "remix" in text and "per-video limit of $0.05" in text
    assert emulator.stats.count("POST", "/videos/{video_id}/remix") == 0


async def test_a_remix_of_an_unknown_video_says_so(
    settings: Settings, http_client: httpx2.AsyncClient, emulator: Emulator, era: str
) -> None:
    async with guarded(settings, http_client, era) as client:
        text = error_text(await client.call_tool("remix_video", {"video_id": "video_nope", "prompt": "at night"}))
    assert "not found" in text.lower() and "Error executing tool remix_video:" in text


class HoldCreates:
    """In front of the emulator: a create reaches it (the job exists), and its answer is held back until
    ``release`` is set; a host meanwhile gives up on the call."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app
        self.reached = anyio.Event()
        self.release = anyio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].endswith("/videos"):
            await self.app(scope, receive, send)
            return
        answer: list[Message] = []

        async def keep(message: Message) -> None:
            answer.append(message)

        await self.app(scope, receive, keep)
        self.reached.set()
        await self.release.wait()
        for message in answer:
            await send(message)


async def test_a_host_that_gives_up_and_calls_again_gets_the_same_job(
    settings: Settings, emulator: Emulator, era: str
) -> None:
    hold = HoldCreates(emulator.app)
    arguments = {"prompt": "a red kite", **SMALL}
    async with (
        httpx2.AsyncClient(transport=httpx2.ASGITransport(app=hold)) as http,
        guarded(settings, http, era) as client,
    ):
        async with anyio.create_task_group() as tasks:
            gave_up = anyio.CancelScope()

            async def first_call() -> None:
                with gave_up:
                    await client.call_tool("generate_video", arguments)

            tasks.start_soon(first_call)
            with anyio.fail_after(10):
                await hold.reached.wait()
            # The host's tool-call timeout: it cancels while the job already exists and its answer is on
            # the way.
            gave_up.cancel()
            structured(await client.call_tool("list_videos", {}))  # a round trip: the server acted on the cancel
            assert creates(emulator) == 1
            hold.release.set()
        with anyio.fail_after(10):
            again = structured(await client.call_tool("generate_video", arguments))
    assert again["reused"] is True and creates(emulator) == 1
    [video_id] = list(emulator.store.jobs)
    assert again["id"] == video_id


async def test_identical_calls_at_once_make_one_job(
    settings: Settings, http_client: httpx2.AsyncClient, emulator: Emulator, era: str
) -> None:
    results: list[dict[str, Any]] = []
    async with guarded(settings, http_client, era) as client:

        async def call() -> None:
            results.append(structured(await client.call_tool("generate_video", {"prompt": "a red kite", **SMALL})))

        with anyio.fail_after(20):
            async with anyio.create_task_group() as tasks:
                for _ in range(3):
                    tasks.start_soon(call)
    assert creates(emulator) == 1
    assert len({result["id"] for result in results}) == 1
    assert sorted(result["reused"] for result in results) == [False, True, True]


async def test_the_create_tools_describe_the_guard(settings: Settings, era: str) -> None:
    async with Client(create_server(settings), mode=era) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    for name in ("generate_video", "remix_video"):
        properties = tools[name].input_schema["properties"]
        assert {"dry_run", "new_job", "confirm_cost_usd"} <= properties.keys()
        assert "plan" not in properties and "approval" not in properties
        assert "15 minutes" in properties["new_job"]["description"]
        output = tools[name].output_schema
        assert output is not None and {"reused", "dry_run", "spend"} <= output["properties"].keys()


def _png(color: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (160, 96), color).save(buffer, format="PNG")
    return buffer.getvalue()


async def test_an_unusable_ledger_refuses_creates_and_says_where(
    settings: Settings, http_client: httpx2.AsyncClient, emulator: Emulator, era: str
) -> None:
    blocker = settings.output_dir.parent / "a-file-not-a-folder"
    blocker.write_text("the state folder cannot be made here")
    async with guarded(settings, http_client, era, state_dir=blocker) as client:
        text = error_text(await client.call_tool("generate_video", {"prompt": "a red kite", **SMALL}))
    assert "spend ledger" in text and "--state-dir" in text and "nothing was sent" in text
    assert creates(emulator) == 0


async def test_the_ledger_keeps_no_secret(
    settings: Settings, http_client: httpx2.AsyncClient, emulator: Emulator, era: str
) -> None:
    import sqlite3

    from sora_mcp.server._guard import _server_name
    from tests.conftest import TEST_KEY

    async with guarded(settings, http_client, era) as client:
        structured(await client.call_tool("generate_video", {"prompt": "a red kite", **SMALL}))
    with sqlite3.connect(settings.state_dir / "ledger.sqlite3") as db:
        dumped = repr(db.execute("SELECT * FROM creates").fetchall())
    assert "http://emulator.test/v1" in dumped and TEST_KEY not in dumped
    assert "a red kite" not in dumped, "prompts are not kept, only their fingerprint"
    assert _server_name("https://user:secret@[::1]:8443/openai/v1?api-key=k#x") == "https://[::1]:8443/openai/v1"


async def test_a_ledger_that_fails_after_the_create_was_sent_still_returns_the_job(
    settings: Settings, emulator: Emulator, era: str
) -> None:
    hold = HoldCreates(emulator.app)
    ledger = settings.state_dir / "ledger.sqlite3"
    async with (
        httpx2.AsyncClient(transport=httpx2.ASGITransport(app=hold)) as http,
        guarded(settings, http, era) as client,
    ):
        results: list[Any] = []

        async def create() -> None:
            results.append(await client.call_tool("generate_video", {"prompt": "a red kite", **SMALL}))

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(create)
            with anyio.fail_after(10):
                await hold.reached.wait()
            for path in settings.state_dir.iterdir():  # the ledger breaks while the answer is on its way
                path.unlink()
            ledger.write_bytes(b"not a database any more" * 64)
            hold.release.set()
    made = structured(results[0])
    assert made["id"] == next(iter(emulator.store.jobs)) and creates(emulator) == 1


async def test_a_create_whose_answer_was_lost_is_never_sent_blindly_again(
    settings: Settings, http_client: httpx2.AsyncClient, emulator: Emulator, era: str
) -> None:
    from sora_mcp.emulator import Fault

    arguments = {"prompt": "a red kite", **SMALL}
    async with guarded(settings, http_client, era) as client:
        emulator.faults.add(Fault(kind="status", status=502, method="POST", path="/videos"))
        first = error_text(await client.call_tool("generate_video", arguments))
        again = error_text(await client.call_tool("generate_video", arguments))
        assert creates(emulator) == 1
        dry = structured(await client.call_tool("generate_video", {**arguments, "dry_run": True}))
        forced = structured(await client.call_tool("generate_video", {**arguments, "new_job": True}))
        emulator.faults.add(Fault(kind="status", status=429, method="POST", path="/videos"))
        limited = error_text(await client.call_tool("generate_video", {**arguments, "prompt": "a blue kite"}))
        retried = structured(await client.call_tool("generate_video", {**arguments, "prompt": "a blue kite"}))
    assert "502" in first
    assert "answer was lost" in again and "possibly spent" in again and "new_job=true" in again
    assert dry["spend"]["spent_today_usd"] == pytest.approx(0.1), "possibly spent counts"
    assert forced["reused"] is False and "429" in limited
    assert retried["reused"] is False, "a create the server refused (4xx) made nothing: it may be sent again"
    assert creates(emulator) == 4


async def test_the_window_and_the_day_follow_the_ledgers_clock(
    settings: Settings, http_client: httpx2.AsyncClient, emulator: Emulator, era: str
) -> None:
    from tests.test_spend import FakeClock

    clock = FakeClock(datetime(2026, 11, 26, 23, 50).astimezone())
    configured = settings.model_copy(update={**PRICED, "daily_budget": 0.15})
    arguments = {"prompt": "a red kite", **SMALL}
    async with Client(create_server(configured, http_client=http_client, spend_clock=clock), mode=era) as client:
        first = structured(await client.call_tool("generate_video", arguments))
        clock.advance(minutes=5)
        assert structured(await client.call_tool("generate_video", arguments))["reused"] is True
        refused = error_text(await client.call_tool("generate_video", {**arguments, "prompt": "a blue kite"}))
        clock.advance(minutes=11)  # past the 15-minute window, and past midnight: a new day, a new budget
        second = structured(await client.call_tool("generate_video", arguments))
    assert "daily budget of $0.15" in refused
    assert second["reused"] is False and second["id"] != first["id"]
    assert second["spend"]["spent_today_usd"] == 0.1
    assert second["spend"]["spent_this_month_usd"] == pytest.approx(0.2)
    assert creates(emulator) == 2

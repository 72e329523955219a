"""The client's tolerance, proved against dialects: status words nobody listed keep a wait waiting (never
"done"), odd `progress` values (absent, float, text, out of range) become 0-100 or null, fields a
server leaves out of its create answer come from the request, and a failed job reads as failed however
the server answers it. Jobs are held where a test needs them with a FakeClock: nothing sleeps."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest

from sora_mcp import SoraClient, WaitTimeoutError
from sora_mcp.emulator import Emulator, EmulatorConfig, FakeClock, Fault
from sora_mcp.emulator._dialects import DIALECTS, Dialect, ProgressStyle

from .support import KEY, PROFILES, PROMPT, make_emulator, mcp_session, outcome_of, settings_for

pytestmark = pytest.mark.anyio

RENDER = 100.0  # seconds a held job renders for: the FakeClock decides where in it the job is


def variant(base: str, **changes: Any) -> Dialect:
    """A dialect like ``base`` with some words changed: a server nobody has catalogued yet."""
    return dataclasses.replace(DIALECTS[base], name=f"{base}-variant", **changes)


def held(dialect: Dialect, clock: FakeClock) -> Emulator:
    config = EmulatorConfig(
        dialect=dialect, api_key=KEY, render_seconds=RENDER, queue_seconds=1.0, poll_after_ms=10, media="fast"
    )
    return Emulator(config, clock=clock)


class FakeTime:
    """A client clock that moves only when the client sleeps: a wait's deadline passes without waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.mark.parametrize(
    "words",
    [
        pytest.param({"in_progress": "thinking"}, id="running-as-an-unknown-word"),
        pytest.param({"completed": "all_set"}, id="done-as-an-unknown-word"),
        pytest.param({"queued": "", "in_progress": "", "completed": ""}, id="empty-words"),
    ],
)
async def test_an_unknown_status_word_waits_until_the_deadline(words: dict[str, str], tmp_path: Path) -> None:
    clock = FakeClock()
    emulator = held(variant("openai", status_words=words), clock)
    settings = settings_for("openai", emulator, tmp_path)
    time = FakeTime()
    async with (
        httpx2.AsyncClient(transport=httpx2.ASGITransport(app=emulator.app)) as http,
        SoraClient(settings, http_client=http, sleep=time.sleep, clock=time) as client,
    ):
        video = await client.generate_video(PROMPT)
        clock.advance(1.0 + RENDER / 2 if "in_progress" in words else 1.0 + RENDER + 1)
        with pytest.raises(WaitTimeoutError) as raised:
            await client.wait_for_completion(video.id, timeout=30.0)

    seen = raised.value.video
    assert seen is not None
    assert seen.status == "in_progress" and seen.is_pending, "a word nobody listed is never taken for done"
    assert seen.server_status == next(iter(words.values())) or not seen.server_status
    assert 29.0 <= time.now <= 30.0 + 1e-6 and len(time.slept) > 3, "it kept polling until the deadline"


async def test_wait_for_video_returns_timed_out_on_an_unknown_word(tmp_path: Path) -> None:
    clock = FakeClock()
    emulator = held(variant("openai", status_words={"completed": "all_set"}), clock)
    async with mcp_session(settings_for("openai", emulator, tmp_path), emulator) as client:
        created = await client.call_tool("generate_video", {"prompt": PROMPT})
        assert created.structured_content is not None
        clock.advance(1.0 + RENDER + 1)  # finished, in a word the client does not know
        with anyio.fail_after(10):
            waited = await client.call_tool(
                "wait_for_video", {"video_id": created.structured_content["id"], "timeout_seconds": 0.3}
            )

    info = waited.structured_content
    assert info is not None and not waited.is_error
    assert (info["timed_out"], info["done"], info["status"], info["server_status"]) == (
        True,
        False,
        "in_progress",
        "all_set",
    )
    assert "all_set" in info["next_step"] and "wait_for_video again" in info["next_step"]


async def test_processing_as_litellm_says_for_veo_is_followed_to_completion(tmp_path: Path) -> None:
    # LiteLLM in front of Veo: "processing" until done, no progress at all.
    veo = variant("litellm", status_words={"queued": "processing", "in_progress": "processing"}, progress="absent")
    clock = FakeClock()
    emulator = held(veo, clock)
    reported: list[tuple[float, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reported.append((progress, message))
        clock.advance(RENDER + 2)  # the job finishes while the wait is under way

    async with mcp_session(settings_for("litellm", emulator, tmp_path), emulator) as client:
        created = await client.call_tool("generate_video", {"prompt": PROMPT})
        assert created.structured_content is not None
        with anyio.fail_after(10):
            waited = await client.call_tool(
                "wait_for_video",
                {"video_id": created.structured_content["id"], "timeout_seconds": 5},
                progress_callback=on_progress,
            )

    info = waited.structured_content
    assert info is not None and (info["status"], info["done"], info["progress"]) == ("completed", True, None)
    assert reported[0] == (0.0, "in progress (processing)") and reported[-1][0] == 100.0


@pytest.mark.parametrize(
    ("style", "queued", "rendering", "done"),
    [
        pytest.param("int", 0, 50, 100, id="int"),
        pytest.param("absent", None, None, None, id="absent"),
        pytest.param("float", 0, 50, 100, id="float-42.5"),  # 50.5 rounds to the even 50
        pytest.param("text", 0, 50, 100, id="text-'42'"),
        pytest.param("overflow", 0, 100, 100, id="out-of-range"),  # -1 while queued, 150 while rendering
        pytest.param("binary", 0, 0, 100, id="0-then-100"),
    ],
)
async def test_progress_in_any_shape_is_0_to_100_or_null(
    style: ProgressStyle, queued: int | None, rendering: int | None, done: int | None, tmp_path: Path
) -> None:
    clock = FakeClock()
    emulator = held(variant("openai", progress=style), clock)
    seen: list[int | None] = []
    async with mcp_session(settings_for("openai", emulator, tmp_path), emulator) as client:
        created = await client.call_tool("generate_video", {"prompt": PROMPT})
        assert created.structured_content is not None
        video_id = created.structured_content["id"]
        for step in (0.0, 1.0 + RENDER / 2, RENDER):  # queued, halfway, completed
            clock.advance(step)
            status = await client.call_tool("get_video_status", {"video_id": video_id})
            assert status.structured_content is not None, status.content
            seen.append(status.structured_content["progress"])

    assert seen == [queued, rendering, done]


@pytest.mark.parametrize(
    ("name", "missing"),
    [
        pytest.param("vllm-omni", {"model", "prompt", "size", "seconds", "progress"}, id="vllm-omni"),
        pytest.param("litellm", {"prompt"}, id="litellm"),
        pytest.param("sglang", {"prompt"}, id="sglang"),
    ],
)
async def test_fields_a_create_answer_leaves_out_come_from_the_request(
    name: str, missing: set[str], tmp_path: Path
) -> None:
    emulator = make_emulator(name)
    profile = PROFILES[name]
    answers: list[dict[str, Any]] = []

    async def keep(response: httpx2.Response) -> None:
        if response.request.method == "POST" and response.is_success:
            await response.aread()
            answers.append(response.json())

    settings = settings_for(name, emulator, tmp_path)
    async with (
        httpx2.AsyncClient(transport=httpx2.ASGITransport(app=emulator.app), event_hooks={"response": [keep]}) as http,
        SoraClient(settings, http_client=http) as client,
    ):
        video = await client.generate_video(PROMPT, size="1280x720", seconds=8)

    [answer] = answers
    assert missing <= {key for key in ("model", "prompt", "size", "seconds", "progress") if key not in answer}
    assert (video.prompt, video.model, video.size, video.seconds) == (PROMPT, profile.model, "1280x720", "8")


async def test_a_failed_job_reads_as_failed_when_its_get_is_a_500(tmp_path: Path) -> None:
    # vLLM-Omni answers GET /videos/{id} of a failed job with 500 and the job (its error) as the body.
    emulator = make_emulator("vllm-omni")
    emulator.faults.add(
        Fault(kind="fail_job", method="POST", path="/videos", error_message="The GPU ran out of memory.")
    )
    async with mcp_session(settings_for("vllm-omni", emulator, tmp_path), emulator) as client:
        created = await client.call_tool("generate_video", {"prompt": PROMPT, "model": PROFILES["vllm-omni"].model})
        assert created.structured_content is not None
        video_id = created.structured_content["id"]
        with anyio.fail_after(10):
            waited = await client.call_tool("wait_for_video", {"video_id": video_id, "timeout_seconds": 5})
            status = await client.call_tool("get_video_status", {"video_id": video_id})

    assert waited.is_error
    text = outcome_of(waited).text
    assert f"Video {video_id} failed" in text and "The GPU ran out of memory." in text
    assert "server failed" not in text and "try again in a moment" not in text
    assert status.structured_content is not None and status.structured_content["status"] == "failed"
    assert status.structured_content["error"]["message"] == "The GPU ran out of memory."

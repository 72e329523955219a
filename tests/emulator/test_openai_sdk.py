"""A program written against OpenAI's official SDK works against the emulator unchanged but for
base_url: over real loopback HTTP, with the SDK's own transport, polling and error classes."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Literal

import openai
import pytest
from PIL import Image

from sora_mcp.emulator import Emulator, EmulatorConfig, Fault, serve_emulator

pytestmark = pytest.mark.anyio


@pytest.fixture
async def sdk(live_base_url: str) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(api_key="sk-any", base_url=live_base_url) as client:
        yield client


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "teal").save(buffer, "PNG")
    return buffer.getvalue()


async def test_official_sdk_flow(sdk: openai.AsyncOpenAI) -> None:
    created = await sdk.videos.create(
        prompt="a teal room", size="1280x720", seconds="4", input_reference=("frame.png", png(1280, 720), "image/png")
    )
    assert created.status == "queued" and created.size == "1280x720"
    done = await sdk.videos.create_and_poll(prompt="a second clip", model="sora-2", poll_interval_ms=20)
    assert done.status == "completed" and done.progress == 100
    polled = await sdk.videos.poll(created.id)
    assert polled.status == "completed"

    expected: dict[Literal["video", "thumbnail", "spritesheet"], bytes] = {
        "video": b"ftyp",
        "thumbnail": b"WEBP",
        "spritesheet": b"\xff\xd8\xff",
    }
    for variant, marker in expected.items():
        content = await sdk.videos.download_content(created.id, variant=variant)
        assert marker in content.content[:16]

    remix = await sdk.videos.remix(created.id, prompt="the same room at night")
    assert remix.remixed_from_video_id == created.id

    listed = [video.id async for video in sdk.videos.list(limit=1)]
    assert listed == [remix.id, done.id, created.id], "auto-pagination follows after= across pages"

    deleted = await sdk.videos.delete(done.id)
    assert deleted.deleted and deleted.id == done.id


async def test_official_sdk_error_classes(sdk: openai.AsyncOpenAI, emulator: Emulator, live_base_url: str) -> None:
    with pytest.raises(openai.BadRequestError) as mismatch:
        await sdk.videos.create(prompt="x", size="720x1280", input_reference=("f.png", png(10, 10), "image/png"))
    assert "Inpaint image must match" in mismatch.value.message
    with pytest.raises(openai.NotFoundError):
        await sdk.videos.retrieve("video_" + "0" * 48)
    emulator.faults.add(Fault(kind="status", status=429, retry_after="1", times=None))
    async with openai.AsyncOpenAI(api_key="sk-any", base_url=live_base_url, max_retries=0) as no_retry:
        with pytest.raises(openai.RateLimitError):
            await no_retry.videos.list()


async def test_official_sdk_authentication_error() -> None:
    emulator = Emulator(EmulatorConfig(api_key="sk-right", render_seconds=0, queue_seconds=0))
    async with (
        serve_emulator(emulator) as base_url,
        openai.AsyncOpenAI(api_key="sk-wrong", base_url=base_url, max_retries=0) as sdk,
    ):
        with pytest.raises(openai.AuthenticationError):
            await sdk.videos.list()

"""Bounded: memory, disk and time, whatever the server or the model sends (issue 11, classes 1-7)."""

from __future__ import annotations

import base64
import io
import time
import warnings
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from PIL import Image

from sora_mcp._client import poll_hint
from sora_mcp._images import MAX_DATA_URL_CHARS
from sora_mcp.server import create_server, serving_http
from tests.server.conftest import error_text, structured

from .conftest import hostile_settings, mcp_against, video_json
from .hostile import MP4_HEAD, Answer, Request, endless, gzip_bomb, head, hostile_server, whole

pytestmark = pytest.mark.anyio


def png(size: tuple[int, int], *, noise: bool = False) -> bytes:
    image = Image.frombytes("RGB", size, bytes(range(256)) * (size[0] * size[1] * 3 // 256 + 1)) if noise else None
    image = image or Image.new("RGB", size, "orange")
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=0 if noise else 6)
    return buffer.getvalue()


async def test_fitting_refuses_huge_targets_before_any_work(tmp_path: Path) -> None:
    async def never(_request: Request) -> Answer:
        raise AssertionError("nothing may be sent")

    reference = "data:image/png;base64," + base64.b64encode(png((64, 64))).decode()
    async with mcp_against(never, tmp_path) as (client, hostile, _settings):
        started = time.monotonic()
        result = await client.call_tool(
            "generate_video",
            {
                "prompt": "x",
                "model": "custom",
                "size": "20000x20000",
                "fit_reference": "pad",
                "input_reference": reference,
            },
        )
        assert time.monotonic() - started < 2, "refused before allocating a frame"
    assert "3840x2160" in error_text(result) and hostile.requests == []


async def test_a_wait_returns_by_its_deadline_whatever_the_server_does(tmp_path: Path) -> None:
    async def stalls(request: Request) -> Answer:
        if "stall" in request.path:
            await anyio.sleep(15)  # the server takes 15 s to answer a status request
            return whole(200, video_json("video_stall"))
        return whole(429, b'{"error": {"message": "slow down"}}', **{"retry-after": "8"})

    async with mcp_against(stalls, tmp_path, max_retries=2) as (client, _hostile, _settings):
        for video_id in ("video_stall", "video_ratelimited"):
            started = time.monotonic()
            with anyio.fail_after(6):
                result = await client.call_tool("wait_for_video", {"video_id": video_id, "timeout_seconds": 2})
            assert time.monotonic() - started < 4, video_id
            text = error_text(result)
            assert "keeps running" in text and "wait again" in text


async def test_downloads_are_bounded_in_size_and_time(tmp_path: Path) -> None:
    async def hostile_bodies(request: Request) -> Answer:
        if request.path.endswith("/content"):
            video_id = request.path.split("/")[-2]
            if video_id == "video_bomb":  # 100 KB on the wire, 30 MB decoded
                body = gzip_bomb(30 * 1024 * 1024)
                return whole(200, body, "video/mp4", **{"content-encoding": "gzip"})
            if video_id == "video_trickle":
                return endless(pause=0.05)
            return endless()
        return whole(200, video_json(request.path.split("/")[-1]))

    out = tmp_path / "out"
    async with mcp_against(hostile_bodies, tmp_path, max_download_bytes=8 * 1024 * 1024, download_timeout=1.5) as (
        client,
        hostile,
        _settings,
    ):
        assert out.exists() is False or not list(out.iterdir())
        for video_id, words in (
            ("video_bomb", "larger than the 8,388,608 bytes"),
            ("video_endless", "larger than the 8,388,608 bytes"),
            ("video_trickle", "took longer than 2s in all"),
        ):
            started = time.monotonic()
            with anyio.fail_after(10):
                text = error_text(await client.call_tool("download_video", {"video_id": video_id}))
            assert words in text, text
            assert time.monotonic() - started < 5, "not retried from scratch"
        assert [r.headers.get("accept-encoding") for r in hostile.requests if r.path.endswith("/content")] == [
            "identity"
        ] * 3
    assert not out.exists() or not any(out.iterdir()), "nothing saved, no leftovers"


async def test_a_resource_read_is_capped_and_names_the_file(tmp_path: Path) -> None:
    async def unused(_request: Request) -> Answer:
        raise AssertionError

    async with mcp_against(unused, tmp_path) as (client, _hostile, settings):
        settings.output_dir.mkdir(parents=True)
        big = settings.output_dir / "video_big.mp4"
        with big.open("wb") as handle:
            handle.write(MP4_HEAD)
            handle.truncate(17 * 1024 * 1024)
        with pytest.raises(Exception) as refused:  # a resource error is a protocol error (MCPError)
            await client.read_resource("sora://videos/video_big/video")
    assert str(big) in str(refused.value) and "Open the file at that path" in str(refused.value)


def test_the_poll_hint_is_parsed_strictly_and_clamped() -> None:
    assert poll_hint("²") is None and poll_hint("9" * 5000) is None and poll_hint("9" * 400) is None
    assert poll_hint("-5") is None and poll_hint("1e3") is None and poll_hint(" 250 ") == 0.25
    assert poll_hint("1") == 0.2, "a floor: a hostile 1 ms would hammer the server"
    assert poll_hint("999999999") == 60.0, "a ceiling"


async def test_hostile_poll_hints_never_break_a_wait(tmp_path: Path) -> None:
    hints = iter(["²", "9" * 5000, "9" * 400, "1"])

    async def odd_hints(_request: Request) -> Answer:
        try:
            return whole(200, video_json(status="in_progress", progress=10), **{"openai-poll-after-ms": next(hints)})
        except StopIteration:
            return whole(200, video_json())

    async with mcp_against(odd_hints, tmp_path, poll_interval=0.05) as (client, hostile, _settings):
        with anyio.fail_after(10):
            done = structured(await client.call_tool("wait_for_video", {"video_id": "video_a", "timeout_seconds": 8}))
    assert done["status"] == "completed" and len(hostile.requests) == 5


@pytest.mark.parametrize("transport", ["streamable-http", "sse"])
async def test_a_large_data_url_reaches_the_tool_over_http(tmp_path: Path, transport: str) -> None:
    """A 5 MB PNG as a data URL over either HTTP transport gets the tool's actionable answer, not a bare 413;
    so does a data URL one character over the one limit: the body cap sits above it, on both transports."""

    async def unused(_request: Request) -> Answer:
        raise AssertionError("refused locally: the image does not match the size")

    image = png((1300, 1300), noise=True)
    assert len(image) > 4_900_000
    reference = "data:image/png;base64," + base64.b64encode(image).decode()
    over_the_limit = reference[:22] + "A" * (MAX_DATA_URL_CHARS + 1 - 22)
    async with hostile_server(unused) as (url, hostile):
        settings = hostile_settings(url, tmp_path).model_copy(update={"transport": transport, "port": 0})
        server = create_server(settings)
        async with (
            serving_http(server, settings) as endpoint,
            httpx2.AsyncClient(timeout=30) as http,
            Client(
                streamable_http_client(endpoint, http_client=http)
                if transport == "streamable-http"
                else sse_client(endpoint, timeout=30)
            ) as client,
        ):
            with anyio.fail_after(20):  # a refused POST leaves an SSE client waiting for an answer
                result = await client.call_tool(
                    "generate_video", {"prompt": "x", "size": "720x1280", "input_reference": reference}
                )
                too_long = await client.call_tool(
                    "generate_video", {"prompt": "x", "size": "720x1280", "input_reference": over_the_limit}
                )
    assert "1300x1300 but the video is 720x1280" in error_text(result) and hostile.requests == []
    refused = error_text(too_long)  # the schema's answer, naming the argument and the limit
    assert "input_reference" in refused and f"at most {MAX_DATA_URL_CHARS} characters" in refused


async def test_subscriptions_are_ours_and_bounded(tmp_path: Path) -> None:
    async def unused(_request: Request) -> Answer:
        raise AssertionError

    async with hostile_server(unused) as (url, _hostile):
        server = create_server(hostile_settings(url, tmp_path))
        async with Client(server, mode="legacy") as client:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # subscribe is a handshake-era method; the SDK says so each time
                # Refused for what they are, below the cap (so the cap cannot be what refuses them).
                for foreign in ("https://example.com/x", "sora://videos/" + "a" * 9000, "sora://videos/video_a/x"):
                    with pytest.raises(MCPError, match="Only sora"):
                        await client.subscribe_resource(foreign)
                assert server.subscriptions.count() == 0
                for index in range(256):
                    await client.subscribe_resource(f"sora://videos/video_{index}/video")
                assert server.subscriptions.count() == 256
                for refused in (
                    "sora://videos/video_257/video",
                    "https://example.com/x",
                    "sora://videos/" + "a" * 9000,
                ):
                    with pytest.raises(MCPError, match=r"subscriptions per connection|Only sora"):
                        await client.subscribe_resource(refused)
            assert server.subscriptions.count() == 256
        with anyio.fail_after(5):
            while server.subscriptions.count():  # noqa: ASYNC110 - freed as the connection closes; no event
                await anyio.sleep(0.01)


async def test_no_leftovers_when_the_server_hangs_up_mid_download(tmp_path: Path) -> None:
    async def hangs_up(request: Request) -> Answer:
        if request.path.endswith("/content"):

            async def half() -> Answer:
                yield head(200, {"content-type": "video/mp4"}, length=1_000_000) + MP4_HEAD + b"\x00" * 1000

            return half()
        return whole(200, video_json())

    async with mcp_against(hangs_up, tmp_path) as (client, _hostile, settings):
        text = error_text(await client.call_tool("download_video", {"video_id": "video_a"}))
    assert "broke off" in text or "ended after" in text
    assert not settings.output_dir.exists() or list(settings.output_dir.iterdir()) == []

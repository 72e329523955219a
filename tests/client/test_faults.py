"""Faults and errors: what is retried (and how long it waits), what is not, and that a create is
never sent twice. Sleeps go through an injected recorder, so no test really waits for a backoff."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest

from sora_mcp import (
    APIConnectionError,
    APITimeoutError,
    AssetExpiredError,
    AuthenticationError,
    ConfigurationError,
    InternalServerError,
    ModelNotAvailableError,
    RateLimitError,
    Settings,
    SoraClient,
    Video,
    VideoJobError,
    WaitTimeoutError,
)
from sora_mcp._http import error_from_response, redact
from sora_mcp.emulator import Emulator, EmulatorConfig, Fault, serve_emulator
from tests.conftest import TEST_KEY

pytestmark = pytest.mark.anyio

SMALL: dict[str, Any] = {"model": "test-model", "size": "128x96", "seconds": 1}


class Sleeps:
    """Records every delay the client asks for and waits 1 ms instead: a busy loop would starve the
    emulator's render threads of the GIL."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await anyio.sleep(0.001)


@asynccontextmanager
async def client_for(
    emulator: Emulator, settings: Settings, sleeps: Sleeps, **overrides: Any
) -> AsyncIterator[SoraClient]:
    async with (
        httpx2.AsyncClient(transport=httpx2.ASGITransport(app=emulator.app)) as http,
        SoraClient(settings.model_copy(update=overrides), http_client=http, sleep=sleeps) as client,
    ):
        yield client


async def finished(client: SoraClient) -> Video:
    video = await client.generate_video("clip", **SMALL)
    with anyio.fail_after(20):
        return await client.wait_for_completion(video.id, timeout=20)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [({"retry_after": "2"}, 2.0), ({"retry_after_ms": 1500}, 1.5), ({"retry_after": "0.25"}, 0.25)],
)
async def test_429_hint_is_honoured(
    emulator: Emulator, settings: Settings, headers: dict[str, Any], expected: float
) -> None:
    sleeps = Sleeps()
    async with client_for(emulator, settings, sleeps) as client:
        video = await client.generate_video("x", **SMALL)
        emulator.faults.add(Fault(kind="status", status=429, method="GET", path="/videos/{video_id}", **headers))
        assert (await client.get_video_status(video.id)).id == video.id
    assert sleeps.delays == [expected]
    assert emulator.stats.count("GET", "/videos/{video_id}") == 2


async def test_429_with_a_long_hint_is_not_retried(emulator: Emulator, settings: Settings) -> None:
    sleeps = Sleeps()
    emulator.faults.add(Fault(kind="status", status=429, method="GET", path="/videos", retry_after="3600"))
    async with client_for(emulator, settings, sleeps) as client:
        with pytest.raises(RateLimitError) as limited:
            await client.list_videos()
    assert limited.value.retry_after == 3600 and "wait 3600s" in str(limited.value)
    assert sleeps.delays == [] and emulator.stats.count("GET", "/videos") == 1


@pytest.mark.parametrize("status", [500, 502, 503, 408, 409])
async def test_transient_statuses_on_idempotent_calls_are_retried(
    emulator: Emulator, settings: Settings, status: int
) -> None:
    sleeps = Sleeps()
    emulator.faults.add(Fault(kind="status", status=status, method="GET", path="/videos", times=2))
    async with client_for(emulator, settings, sleeps) as client:
        await client.list_videos()
    assert emulator.stats.count("GET", "/videos") == 3
    assert len(sleeps.delays) == 2
    assert 0.375 <= sleeps.delays[0] <= 0.5 and 0.75 <= sleeps.delays[1] <= 1.0, "exponential backoff with jitter"


async def test_persistent_500_gives_up_after_max_retries(emulator: Emulator, settings: Settings) -> None:
    sleeps = Sleeps()
    emulator.faults.add(Fault(kind="status", status=500, times=None))
    async with client_for(emulator, settings, sleeps, max_retries=3) as client:
        with pytest.raises(InternalServerError) as failed:
            await client.list_videos()
    assert failed.value.status_code == 500 and failed.value.request_id
    assert emulator.stats.count("GET", "/videos") == 4


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_a_create_is_never_sent_twice(emulator: Emulator, settings: Settings, status: int) -> None:
    sleeps = Sleeps()
    emulator.faults.add(Fault(kind="status", status=status, method="POST", times=None, retry_after="1"))
    async with client_for(emulator, settings, sleeps) as client:
        with pytest.raises((RateLimitError, InternalServerError)):
            await client.generate_video("x", **SMALL)
        done_source = None
        emulator.faults.clear()
        done_source = await finished(client)
        emulator.faults.add(Fault(kind="status", status=status, method="POST", times=None))
        for create in (
            lambda: client.remix_video(done_source.id, "y"),
            lambda: client.edit_video("y", video_id=done_source.id),
            lambda: client.extend_video(done_source.id, "y", 4),
        ):
            with pytest.raises((RateLimitError, InternalServerError)):
                await create()
    assert emulator.stats.count("POST", "/videos") == 2  # the failed one, then the one that made done_source
    assert emulator.stats.count("POST", "/videos/{video_id}/remix") == 1
    assert emulator.stats.count("POST", "/videos/edits") == 1
    assert emulator.stats.count("POST", "/videos/extensions") == 1
    assert sleeps.delays == [] or all(d < 1 for d in sleeps.delays), "no retry sleeps for creates"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_connection_refused_is_retried_even_for_a_create(settings: Settings) -> None:
    sleeps = Sleeps()
    unreachable = settings.model_copy(update={"base_url": f"http://127.0.0.1:{_closed_port()}/v1"})
    async with SoraClient(unreachable, sleep=sleeps) as client:
        with pytest.raises(APIConnectionError) as refused:
            await client.generate_video("x", **SMALL)
    assert len(sleeps.delays) == settings.max_retries, "nothing was sent, so retrying cannot duplicate a job"
    assert "OPENAI_BASE_URL" in str(refused.value)


async def test_slow_server_past_the_timeout(emulator: Emulator, settings: Settings, live_base_url: str) -> None:
    emulator.faults.add(Fault(kind="delay", delay=5.0, method="GET", times=None))
    slow = settings.model_copy(update={"base_url": live_base_url, "timeout": 0.2, "max_retries": 1})
    sleeps = Sleeps()
    async with SoraClient(slow, sleep=sleeps) as client:
        with anyio.fail_after(5), pytest.raises(APITimeoutError) as timed_out:
            await client.list_videos()
    assert "SORA_MCP_TIMEOUT" in str(timed_out.value)
    assert len(sleeps.delays) == 1, "a GET that timed out is retried"


async def test_dropped_download_is_retried_and_completes(
    emulator: Emulator, settings: Settings, live_base_url: str
) -> None:
    sleeps = Sleeps()
    async with SoraClient(settings.model_copy(update={"base_url": live_base_url}), sleep=sleeps) as client:
        done = await finished(client)
        sleeps.delays.clear()
        emulator.faults.add(Fault(kind="drop", path="/videos/{video_id}/content", after_bytes=2048))
        result = await client.download_video(done.id)
    assert result.bytes == result.path.stat().st_size > 2048
    assert len(sleeps.delays) == 1
    assert not list(result.path.parent.glob(".*.part"))


async def test_download_that_always_drops_leaves_nothing(
    emulator: Emulator, settings: Settings, live_base_url: str
) -> None:
    sleeps = Sleeps()
    async with SoraClient(settings.model_copy(update={"base_url": live_base_url}), sleep=sleeps) as client:
        done = await finished(client)
        emulator.faults.add(Fault(kind="drop", path="/videos/{video_id}/content", after_bytes=1000, times=None))
        with pytest.raises(APIConnectionError):
            await client.download_video(done.id)
    assert list(settings.output_dir.iterdir()) == [], "no partial file under any name"
    assert emulator.stats.count("GET", "/videos/{video_id}/content") == settings.max_retries + 1


async def test_poll_after_hint_paces_the_wait(settings: Settings) -> None:
    emulator = Emulator(EmulatorConfig(render_seconds=0.3, queue_seconds=0.0, poll_after_ms=250))
    sleeps = Sleeps()
    seen: list[int] = []
    async with client_for(emulator, settings, sleeps) as client:
        video = await client.generate_video("x", **SMALL)
        with anyio.fail_after(20):
            done = await client.wait_for_completion(video.id, timeout=20, on_progress=lambda v: seen.append(v.progress))
    assert done.status == "completed" and seen[-1] == 100
    assert sleeps.delays and set(sleeps.delays) == {0.25}


async def test_wait_timeout_carries_the_last_status_and_waiting_again_resumes(settings: Settings) -> None:
    emulator = Emulator(EmulatorConfig(render_seconds=0.5, queue_seconds=0.0, poll_after_ms=20))
    async with (
        httpx2.AsyncClient(transport=httpx2.ASGITransport(app=emulator.app)) as http,
        SoraClient(settings, http_client=http) as client,
    ):
        video = await client.generate_video("x", **SMALL)
        with anyio.fail_after(5), pytest.raises(WaitTimeoutError) as timed_out:
            await client.wait_for_completion(video.id, timeout=0.05)
        assert timed_out.value.video.id == video.id and timed_out.value.video.is_pending
        assert "wait again" in str(timed_out.value)
        with anyio.fail_after(20):
            assert (await client.wait_for_completion(video.id, timeout=20)).status == "completed"


async def test_wait_is_cancellable(settings: Settings) -> None:
    emulator = Emulator(EmulatorConfig(render_seconds=60, queue_seconds=0.0, poll_after_ms=20))
    async with (
        httpx2.AsyncClient(transport=httpx2.ASGITransport(app=emulator.app)) as http,
        SoraClient(settings, http_client=http) as client,
    ):
        video = await client.generate_video("x", **SMALL)
        with anyio.move_on_after(0.2) as scope:
            await client.wait_for_completion(video.id, timeout=60)
        assert scope.cancelled_caught
        assert (await client.get_video_status(video.id)).is_pending, "cancelling a wait does not touch the job"


async def test_failed_job(emulator: Emulator, settings: Settings, client: SoraClient) -> None:
    emulator.faults.add(Fault(kind="fail_job", error_code="moderation_blocked", error_message="Blocked."))
    video = await client.generate_video("x", **SMALL)
    with anyio.fail_after(20), pytest.raises(VideoJobError) as failed:
        await client.wait_for_completion(video.id, timeout=20)
    assert failed.value.code == "moderation_blocked" and failed.value.is_moderation
    assert "rephrase" in str(failed.value)
    returned = await client.wait_for_completion(video.id, timeout=20, raise_on_failure=False)
    assert returned.status == "failed" and returned.error is not None


async def test_wrong_key_never_shows_the_key(settings: Settings) -> None:
    emulator = Emulator(EmulatorConfig(api_key="sk-the-right-key-000000"))
    async with client_for(emulator, settings, Sleeps()) as client:
        with pytest.raises(AuthenticationError) as denied:
            await client.list_videos()
    assert TEST_KEY not in str(denied.value) and TEST_KEY not in repr(denied.value.__dict__)
    assert "OPENAI_API_KEY" in str(denied.value)


async def test_azure_auth_style(settings: Settings) -> None:
    emulator = Emulator(EmulatorConfig(api_key=TEST_KEY))
    async with client_for(emulator, settings, Sleeps(), auth_style="azure") as client:
        assert (await client.list_videos()).data == []


async def test_missing_key_sends_nothing(emulator: Emulator, settings: Settings) -> None:
    async with client_for(emulator, settings, Sleeps(), api_key=None) as client:
        with pytest.raises(ConfigurationError) as missing:
            await client.generate_video("x", **SMALL)
    assert "OPENAI_API_KEY" in str(missing.value)
    assert emulator.stats.requests == []


async def test_keyless_servers(emulator: Emulator, settings: Settings) -> None:
    async with client_for(emulator, settings, Sleeps(), api_key=None, auth_style="none") as client:
        with pytest.raises(AuthenticationError):
            await client.list_videos()  # this emulator wants a key; the request went out without one


async def test_retired_model_explains_the_shutdown(settings: Settings) -> None:
    emulator = Emulator(EmulatorConfig(retired_models=frozenset({"sora-2"})))
    async with client_for(emulator, settings, Sleeps()) as client:
        with pytest.raises(ModelNotAvailableError) as gone:
            await client.generate_video("x", "sora-2")
    message = str(gone.value)
    assert "2026-09-24" in message and "OPENAI_BASE_URL" in message and "sora-2" in message


async def test_expired_assets(emulator: Emulator, client: SoraClient) -> None:
    done = await finished(client)
    emulator.expire_assets(done.id)
    with pytest.raises(AssetExpiredError) as expired:
        await client.download_video(done.id)
    assert "generate it again" in str(expired.value)


def test_error_text_is_redacted(settings: Settings) -> None:
    body = {"error": {"message": f"Incorrect API key provided: {TEST_KEY}", "type": "x", "param": None, "code": None}}
    request = httpx2.Request("GET", "http://emulator.test/v1/videos")
    error = error_from_response(httpx2.Response(401, json=body, request=request), settings)
    assert TEST_KEY not in str(error) and "[redacted]" in str(error)
    assert redact("key sk-proj-abcdefgh1234 leaked", None) == "key sk-[redacted] leaked"


async def test_path_is_not_a_url_injection(client: SoraClient, tmp_path: Path) -> None:
    for bad in ("../videos", "a/b", "x?y", "%2e%2e"):
        with pytest.raises(Exception) as refused:
            await client.get_video_status(bad)
        assert "not a valid id" in str(refused.value)


async def test_serve_emulator_is_reusable(emulator: Emulator) -> None:
    for _ in range(2):
        async with serve_emulator(emulator) as base, httpx2.AsyncClient() as http:
            assert (await http.get(base.replace("/v1", "/_emulator/health"))).status_code == 200

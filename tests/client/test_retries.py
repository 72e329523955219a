"""The retry policy against injected faults: what is retried and after how long, what is not, and
that a create (a paid job) is never sent twice. Sleeps are recorded, never waited out."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from typing import Any

import anyio
import av
import httpx2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sora_mcp import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    InternalServerError,
    RateLimitError,
    Settings,
    SoraClient,
)
from sora_mcp._http import backoff, parse_retry_after
from sora_mcp.emulator import Emulator, Fault

from .support import SMALL, Sleeps, Wiretap, closed_port, finished

pytestmark = pytest.mark.anyio

CREATE_PATHS = ("/videos", "/videos/{video_id}/remix", "/videos/edits", "/videos/extensions", "/videos/characters")


@pytest.mark.parametrize(
    ("hint", "expected"),
    [
        ({"retry_after": "2"}, 2.0),
        ({"retry_after": "0.25"}, 0.25),
        ({"retry_after_ms": 1500}, 1.5),
        ({"retry_after_ms": 700, "retry_after": "30"}, 0.7),
    ],
    ids=["retry-after", "retry-after-fraction", "retry-after-ms", "ms-wins"],
)
async def test_429_waits_as_the_server_says(
    client: SoraClient, emulator: Emulator, sleeps: Sleeps, hint: dict[str, Any], expected: float
) -> None:
    video = await client.generate_video("x", **SMALL)
    emulator.faults.add(Fault(kind="status", status=429, method="GET", path="/videos/{video_id}", **hint))
    assert (await client.get_video_status(video.id)).id == video.id
    assert sleeps.delays == [expected]
    assert emulator.stats.count("GET", "/videos/{video_id}") == 2


async def test_retry_after_as_an_http_date(client: SoraClient, emulator: Emulator, sleeps: Sleeps) -> None:
    emulator.faults.add(
        Fault(
            kind="status", status=503, method="GET", retry_after=email.utils.formatdate(time.time() + 20, usegmt=True)
        )
    )
    await client.list_videos()
    (delay,) = sleeps.delays
    assert 17 <= delay <= 20


async def test_a_zero_hint_falls_back_to_backoff(client: SoraClient, emulator: Emulator, sleeps: Sleeps) -> None:
    emulator.faults.add(Fault(kind="status", status=429, method="GET", retry_after="0"))
    await client.list_videos()
    assert len(sleeps.delays) == 1 and 0.375 <= sleeps.delays[0] <= 0.5


async def test_a_hint_longer_than_a_minute_is_not_waited_out(
    client: SoraClient, emulator: Emulator, sleeps: Sleeps
) -> None:
    emulator.faults.add(Fault(kind="status", status=429, method="GET", path="/videos", retry_after="3600"))
    with pytest.raises(RateLimitError) as limited:
        await client.list_videos()
    assert limited.value.retry_after == 3600 and "3600" in str(limited.value)
    assert limited.value.code == "rate_limit_exceeded"
    assert sleeps.delays == [] and emulator.stats.count("GET", "/videos") == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408, 409])
async def test_transient_statuses_on_reads_are_retried_with_backoff(
    client: SoraClient, emulator: Emulator, sleeps: Sleeps, status: int
) -> None:
    emulator.faults.add(Fault(kind="status", status=status, method="GET", path="/videos", times=2))
    assert (await client.list_videos()).data == []
    assert emulator.stats.count("GET", "/videos") == 3
    assert len(sleeps.delays) == 2
    assert 0.375 <= sleeps.delays[0] <= 0.5 and 0.75 <= sleeps.delays[1] <= 1.0, "0.5 s x 2^n, up to 25 % jitter off"


async def test_delete_is_retried(client: SoraClient, emulator: Emulator, sleeps: Sleeps) -> None:
    done = await finished(client)
    sleeps.delays.clear()
    emulator.faults.add(Fault(kind="status", status=503, method="DELETE"))
    assert (await client.delete_video(done.id)).deleted
    assert emulator.stats.count("DELETE", "/videos/{video_id}") == 2 and len(sleeps.delays) == 1


async def test_persistent_500_gives_up_after_max_retries(
    make_client: Callable[..., SoraClient], emulator: Emulator, sleeps: Sleeps
) -> None:
    emulator.faults.add(Fault(kind="status", status=500, times=None))
    async with make_client(max_retries=3) as client:
        with pytest.raises(InternalServerError) as failed:
            await client.list_videos()
    assert failed.value.status_code == 500 and failed.value.request_id
    assert emulator.stats.count("GET", "/videos") == 4
    low = [0.375, 0.75, 1.5]
    assert all(lo <= d <= lo / 0.75 for lo, d in zip(low, sleeps.delays, strict=True))


async def test_no_retries_when_max_retries_is_zero(
    make_client: Callable[..., SoraClient], emulator: Emulator, sleeps: Sleeps
) -> None:
    emulator.faults.add(Fault(kind="status", status=503, times=None))
    async with make_client(max_retries=0) as client:
        with pytest.raises(InternalServerError):
            await client.list_videos()
    assert emulator.stats.count("GET", "/videos") == 1 and sleeps.delays == []


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_a_create_is_never_sent_twice(
    client: SoraClient, emulator: Emulator, sleeps: Sleeps, settings: Settings, status: int
) -> None:
    source = await finished(client)
    clip = settings.input_roots[0] / "clip.mp4"
    clip.write_bytes((await client.download_video(source.id)).path.read_bytes())
    emulator.stats.reset()
    sleeps.delays.clear()
    emulator.faults.add(Fault(kind="status", status=status, method="POST", times=None, retry_after="1"))
    creates = (
        lambda: client.generate_video("x", **SMALL),
        lambda: client.remix_video(source.id, "y"),
        lambda: client.edit_video("y", video_id=source.id),
        lambda: client.extend_video(source.id, "y", 4),
        lambda: client.create_character("Mossy", clip),
    )
    for create in creates:
        with pytest.raises((RateLimitError, InternalServerError)):
            await create()
    assert [emulator.stats.count("POST", path) for path in CREATE_PATHS] == [1, 1, 1, 1, 1]
    assert sleeps.delays == []


async def test_a_create_whose_answer_timed_out_is_not_repeated(
    emulator: Emulator, settings: Settings, live_base_url: str, sleeps: Sleeps
) -> None:
    """The server may have started the job: sending it again could pay for two."""
    emulator.faults.add(Fault(kind="delay", delay=1.0, method="POST", path="/videos"))
    wiretap = Wiretap()
    slow = settings.model_copy(update={"base_url": live_base_url, "timeout": 0.1})
    async with (
        httpx2.AsyncClient(event_hooks={"request": [wiretap]}) as http,
        SoraClient(slow, http_client=http, sleep=sleeps) as client,
    ):
        with anyio.fail_after(10), pytest.raises(APITimeoutError):
            await client.generate_video("x", **SMALL)
    assert len(wiretap.sent) == 1 and sleeps.delays == []


async def test_a_refused_connection_is_retried_even_for_a_create(settings: Settings, sleeps: Sleeps) -> None:
    """Nothing reached a server, so a retry cannot start a second job."""
    unreachable = settings.model_copy(update={"base_url": f"http://127.0.0.1:{closed_port()}/v1"})
    async with SoraClient(unreachable, sleep=sleeps) as client:
        with pytest.raises(APIConnectionError) as refused:
            await client.generate_video("x", **SMALL)
    assert len(sleeps.delays) == settings.max_retries
    assert type(refused.value) is APIConnectionError and "OPENAI_BASE_URL" in str(refused.value)


async def test_a_slow_read_times_out_and_is_retried(
    emulator: Emulator, settings: Settings, live_base_url: str, sleeps: Sleeps
) -> None:
    emulator.faults.add(Fault(kind="delay", delay=1.0, method="GET", times=None))
    slow = settings.model_copy(update={"base_url": live_base_url, "timeout": 0.1, "max_retries": 1})
    async with SoraClient(slow, sleep=sleeps) as client:
        with anyio.fail_after(10), pytest.raises(APITimeoutError) as timed_out:
            await client.list_videos()
    assert "SORA_MCP_TIMEOUT" in str(timed_out.value)
    assert len(sleeps.delays) == 1, "a GET that timed out is retried once (max_retries=1)"


@pytest.mark.full_media
async def test_a_dropped_download_is_retried_and_completes(
    live_client: SoraClient, emulator: Emulator, sleeps: Sleeps
) -> None:
    done = await finished(live_client)
    whole = await live_client.download_video(done.id, "whole.mp4")
    sleeps.delays.clear()
    emulator.faults.add(Fault(kind="drop", path="/videos/{video_id}/content", after_bytes=2048))
    result = await live_client.download_video(done.id)
    assert result.bytes == result.path.stat().st_size == whole.bytes > 2048
    assert result.path.read_bytes() == whole.path.read_bytes()
    with av.open(str(result.path)) as container:
        assert (container.streams.video[0].codec_context.width, container.streams.video[0].codec_context.height) == (
            128,
            96,
        )
    assert len(sleeps.delays) == 1
    assert emulator.stats.count("GET", "/videos/{video_id}/content") == 3
    assert not list(result.path.parent.glob(".*.part"))


async def test_a_download_that_always_drops_leaves_nothing(
    live_client: SoraClient, emulator: Emulator, settings: Settings
) -> None:
    done = await finished(live_client)
    emulator.faults.add(Fault(kind="drop", path="/videos/{video_id}/content", after_bytes=1000, times=None))
    with pytest.raises(APIConnectionError) as broke:
        await live_client.download_video(done.id)
    assert "download again" in str(broke.value)
    assert list(settings.output_dir.iterdir()) == [], "no file under the final name, no .part file"
    assert emulator.stats.count("GET", "/videos/{video_id}/content") == settings.max_retries + 1


async def test_a_download_answered_503_is_retried(client: SoraClient, emulator: Emulator, sleeps: Sleeps) -> None:
    done = await finished(client)
    sleeps.delays.clear()
    emulator.faults.add(Fault(kind="status", status=503, path="/videos/{video_id}/content", retry_after="1"))
    result = await client.download_video(done.id)
    assert result.bytes > 0 and sleeps.delays == [1.0]


def _server(*answers: httpx2.Response) -> tuple[httpx2.MockTransport, list[httpx2.Request]]:
    """A scripted server for headers the emulator does not send (x-should-retry)."""
    seen: list[httpx2.Request] = []
    queue = list(answers)

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return httpx2.MockTransport(handler), seen


OK_LIST = httpx2.Response(200, json={"object": "list", "data": [], "has_more": False})


async def test_x_should_retry_false_beats_a_503(settings: Settings, sleeps: Sleeps) -> None:
    transport, seen = _server(httpx2.Response(503, headers={"x-should-retry": "false"}, json={}), OK_LIST)
    async with (
        httpx2.AsyncClient(transport=transport) as http,
        SoraClient(settings, http_client=http, sleep=sleeps) as client,
    ):
        with pytest.raises(InternalServerError) as failed:
            await client.list_videos()
    assert failed.value.should_retry is False and len(seen) == 1 and sleeps.delays == []


async def test_x_should_retry_true_beats_a_400(settings: Settings, sleeps: Sleeps) -> None:
    transport, seen = _server(httpx2.Response(400, headers={"x-should-retry": "true"}, json={}), OK_LIST)
    async with (
        httpx2.AsyncClient(transport=transport) as http,
        SoraClient(settings, http_client=http, sleep=sleeps) as client,
    ):
        assert (await client.list_videos()).data == []
    assert len(seen) == 2 and len(sleeps.delays) == 1


async def test_x_should_retry_true_never_repeats_a_create(settings: Settings, sleeps: Sleeps) -> None:
    transport, seen = _server(httpx2.Response(500, headers={"x-should-retry": "true"}, json={}))
    async with (
        httpx2.AsyncClient(transport=transport) as http,
        SoraClient(settings, http_client=http, sleep=sleeps) as client,
    ):
        with pytest.raises(APIStatusError):
            await client.generate_video("x", **SMALL)
    assert len(seen) == 1


def test_backoff_is_capped() -> None:
    assert all(6.0 <= backoff(attempt) <= 8.0 for attempt in range(4, 30))


@given(st.integers(min_value=0, max_value=10**9))
def test_retry_after_ms_wins(milliseconds: int) -> None:
    headers = httpx2.Headers({"retry-after-ms": str(milliseconds), "retry-after": "99"})
    assert parse_retry_after(headers) == milliseconds / 1000


@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False))
def test_retry_after_seconds_are_never_negative(seconds: float) -> None:
    assert parse_retry_after(httpx2.Headers({"retry-after": repr(seconds)})) == max(0.0, seconds)


@given(st.integers(min_value=-86400, max_value=86400))
def test_retry_after_http_dates(offset: int) -> None:
    now = 1_800_000_000.0
    headers = httpx2.Headers({"retry-after": email.utils.formatdate(now + offset, usegmt=True)})
    assert parse_retry_after(headers, now=now) == max(0.0, float(offset))


def test_retry_after_dates_without_a_zone_are_gmt() -> None:
    headers = httpx2.Headers({"retry-after": "Wed, 15 Jan 2027 08:00:30 -0000"})
    now = email.utils.parsedate_to_datetime("Wed, 15 Jan 2027 08:00:00 GMT").timestamp()
    assert parse_retry_after(headers, now=now) == 30.0


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126)))
def test_unreadable_retry_after_is_ignored_not_fatal(raw: str) -> None:
    for name in ("retry-after", "retry-after-ms"):
        delay = parse_retry_after(httpx2.Headers({name: raw}))
        assert delay is None or delay >= 0

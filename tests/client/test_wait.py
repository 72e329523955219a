"""Waiting for a job: server-paced, bounded by a deadline that is never overslept, cancellable,
reporting progress, and resumable after a timeout. The clock is fake: it moves only when the
client sleeps."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import pytest

from sora_mcp import NotFoundError, SoraClient, Video, VideoJobError, WaitTimeoutError
from sora_mcp.emulator import Emulator, EmulatorConfig, Fault

from .support import SMALL, FakeTime, Sleeps

pytestmark = pytest.mark.anyio

RENDERING = EmulatorConfig(render_seconds=0.3, queue_seconds=0.05, poll_after_ms=250)
HINTLESS = EmulatorConfig(render_seconds=0.3, queue_seconds=0.0, poll_after_ms=0)
SLOW = EmulatorConfig(render_seconds=0.6, queue_seconds=0.0, poll_after_ms=1000)
FOREVER = EmulatorConfig(render_seconds=3600, queue_seconds=0.0, poll_after_ms=1000)


@pytest.mark.parametrize("emulator_config", [RENDERING])
async def test_progress_rises_and_the_poll_hint_paces_the_wait(client: SoraClient, sleeps: Sleeps) -> None:
    video = await client.generate_video("x", **SMALL)
    seen: list[Video] = []
    with anyio.fail_after(10):
        done = await client.wait_for_completion(video.id, on_progress=seen.append)
    assert done.status == "completed" and done.progress == 100
    assert seen[-1] == done and len(seen) == len(sleeps.delays) + 1, "one callback per poll"
    progress = [v.progress for v in seen]
    assert progress == sorted(p for p in progress if p is not None), "every poll has a progress, never falling"
    order = {"queued": 0, "in_progress": 1, "completed": 2}
    assert [order[v.status] for v in seen] == sorted(order[v.status] for v in seen)
    assert "in_progress" in {v.status for v in seen}
    assert all(0.225 <= delay <= 0.275 for delay in sleeps.delays), "openai-poll-after-ms: 250, jittered ±10 %"
    assert len(set(sleeps.delays)) > 1, "jittered, so many waiters do not poll in lockstep"


@pytest.mark.parametrize("emulator_config", [RENDERING])
async def test_an_async_progress_callback_is_awaited(client: SoraClient) -> None:
    seen: list[int | None] = []

    async def report(video: Video) -> None:
        await anyio.lowlevel.checkpoint()
        seen.append(video.progress)

    video = await client.generate_video("x", **SMALL)
    with anyio.fail_after(10):
        await client.wait_for_completion(video.id, on_progress=report)
    assert seen[-1] == 100


@pytest.mark.parametrize("emulator_config", [HINTLESS])
async def test_without_a_hint_the_interval_backs_off_gently(make_client: Callable[..., SoraClient]) -> None:
    fake = FakeTime()
    async with make_client(sleep=fake, clock=fake.clock) as client:
        video = await client.generate_video("x", **SMALL)
        with anyio.fail_after(10):
            await client.wait_for_completion(video.id, poll_interval=1.0, timeout=10_000)
    delays = fake.delays
    assert 0.8 <= delays[0] <= 1.2 and 1.2 <= delays[1] <= 1.8 and 1.8 <= delays[2] <= 2.7
    assert max(delays) <= 10.0, "capped"


@pytest.mark.parametrize("emulator_config", [SLOW])
async def test_the_deadline_is_never_overslept_and_waiting_again_resumes(
    make_client: Callable[..., SoraClient], emulator: Emulator
) -> None:
    fake = FakeTime()
    async with make_client(sleep=fake, clock=fake.clock) as client:
        video = await client.generate_video("x", **SMALL)
        with anyio.fail_after(10), pytest.raises(WaitTimeoutError) as timed_out:
            await client.wait_for_completion(video.id, timeout=2.5)
        assert len(fake.delays) == 3 and all(0.9 <= delay <= 1.1 for delay in fake.delays[:2]), "the hint, jittered"
        assert sum(fake.delays) == pytest.approx(2.5, abs=1e-9), "the last sleep ends exactly at the deadline"
        assert timed_out.value.video is not None, "the last status is kept"
        assert timed_out.value.waited == 2.5 and timed_out.value.video.id == video.id
        assert timed_out.value.video.is_pending and "wait again" in str(timed_out.value)
        with anyio.fail_after(10):
            done = await client.wait_for_completion(video.id, timeout=10_000)
    assert done.status == "completed"
    assert emulator.stats.count("POST", "/videos") == 1, "waiting never creates anything"


@pytest.mark.parametrize("emulator_config", [FOREVER])
async def test_a_zero_timeout_polls_once(make_client: Callable[..., SoraClient], sleeps: Sleeps) -> None:
    async with make_client() as client:
        video = await client.generate_video("x", **SMALL)
        with pytest.raises(WaitTimeoutError) as timed_out:
            await client.wait_for_completion(video.id, timeout=0)
    assert timed_out.value.video is not None, "a zero timeout still polls once"
    assert sleeps.delays == [] and timed_out.value.video.status in ("queued", "in_progress")


@pytest.mark.parametrize("emulator_config", [FOREVER])
async def test_a_wait_is_cancellable(make_client: Callable[..., SoraClient]) -> None:
    sleeping = anyio.Event()

    async def sleep_forever(_delay: float) -> None:
        sleeping.set()
        await anyio.sleep_forever()

    async with make_client(sleep=sleep_forever) as client:
        video = await client.generate_video("x", **SMALL)
        with anyio.fail_after(10):
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(client.wait_for_completion, video.id)
                await sleeping.wait()
                tasks.cancel_scope.cancel()
        assert (await client.get_video_status(video.id)).is_pending, "cancelling a wait does not touch the job"


async def test_a_failed_job_raises_with_its_code(client: SoraClient, emulator: Emulator) -> None:
    emulator.faults.add(Fault(kind="fail_job", error_code="moderation_blocked", error_message="Blocked."))
    video = await client.generate_video("x", **SMALL)
    with anyio.fail_after(10), pytest.raises(VideoJobError) as failed:
        await client.wait_for_completion(video.id)
    assert failed.value.code == "moderation_blocked" and failed.value.is_moderation
    assert failed.value.video.id == video.id and "rephrase" in str(failed.value)
    returned = await client.wait_for_completion(video.id, raise_on_failure=False)
    assert returned.status == "failed" and returned.error is not None and returned.error.message == "Blocked."


async def test_a_failure_that_is_not_moderation(client: SoraClient, emulator: Emulator) -> None:
    emulator.faults.add(Fault(kind="fail_job", error_code="internal_error", error_message="Render crashed."))
    video = await client.generate_video("x", **SMALL)
    with anyio.fail_after(10), pytest.raises(VideoJobError) as failed:
        await client.wait_for_completion(video.id)
    assert not failed.value.is_moderation and "start a new job" in str(failed.value)


async def test_waiting_for_an_unknown_job(client: SoraClient) -> None:
    with pytest.raises(NotFoundError):
        await client.wait_for_completion("video_" + "f" * 48)

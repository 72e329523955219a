"""Jobs and their lifecycle: queued -> in_progress (rising progress) -> completed | failed.

Status is computed from the clock alone, so the emulator needs no background loop and works the
same in-process (ASGITransport) and under uvicorn. Media is rendered on the first download, on a
small thread pool and never on the event loop: tests that never download pay nothing.
"""

from __future__ import annotations

import functools
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import anyio

from ._clock import Clock, SystemClock
from ._config import EmulatorConfig
from ._media import Media, render_media

__all__ = ["Character", "Job", "LazyMedia", "Store"]


def new_video_id() -> str:
    return "video_" + secrets.token_hex(24)


class LazyMedia:
    """A job's media, rendered once when first asked for; concurrent and later callers share that
    one render. A concurrent Future rather than an event-loop primitive, because an emulator may
    outlive the loop that started a render (each test, each uvicorn run has its own)."""

    def __init__(self, render: Callable[[], Media], pool: Executor) -> None:
        self._render = render
        self._pool = pool
        self._lock = threading.Lock()
        self._future: Future[Media] | None = None

    @property
    def started(self) -> Future[Media] | None:
        return self._future

    def start(self) -> Future[Media]:
        with self._lock:
            if self._future is None:
                self._future = self._pool.submit(self._render)
            return self._future

    async def get(self) -> Media:
        """The media, rendering it first if nobody has; raises what the render raised."""
        future = self.start()
        if not future.done():
            # a caller that goes away leaves the render running for the next one
            await anyio.to_thread.run_sync(future.exception, abandon_on_cancel=True)
        return future.result()


@dataclass
class Job:
    id: str
    model: str
    prompt: str
    size: str
    seconds: str
    created: float  # clock.time() at creation
    created_mono: float
    sequence: int
    media: LazyMedia
    remixed_from_video_id: str | None = None
    planned_error: tuple[str, str] | None = None
    extensions: int = 0
    expired: bool = False

    @property
    def created_at(self) -> int:
        return int(self.created)


@dataclass
class Character:
    id: str
    name: str
    created_at: int


@dataclass
class Store:
    config: EmulatorConfig
    clock: Clock = field(default_factory=SystemClock)
    jobs: dict[str, Job] = field(default_factory=dict[str, Job])
    characters: dict[str, Character] = field(default_factory=dict[str, Character])
    pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(2, thread_name_prefix="emu-render"))
    _sequence: int = 0

    def create(
        self,
        *,
        model: str,
        prompt: str,
        size: str,
        seconds: str,
        remixed_from: str | None = None,
        planned_error: tuple[str, str] | None = None,
        extensions: int = 0,
        mint: Callable[[str, int], str] | None = None,
    ) -> Job:
        """A new job. ``mint(openai_style_id, sequence)`` makes its id in another server's shape."""
        self._sequence += 1
        inner = new_video_id()
        job = Job(
            id=mint(inner, self._sequence) if mint is not None else inner,
            model=model,
            prompt=prompt,
            size=size,
            seconds=seconds,
            created=self.clock.time(),
            created_mono=self.clock.monotonic(),
            sequence=self._sequence,
            media=LazyMedia(self._renderer(prompt, size, seconds), self.pool),
            remixed_from_video_id=remixed_from,
            planned_error=planned_error,
            extensions=extensions,
        )
        self.jobs[job.id] = job
        if self.config.render_ahead and planned_error is None:
            job.media.start()
        return job

    def _renderer(self, prompt: str, size: str, seconds: str) -> Callable[[], Media]:
        width, _, height = size.partition("x")
        return functools.partial(
            render_media,
            prompt,
            int(width),
            int(height),
            float(seconds),
            fps=self.config.fps,
            webp_sheet=self.config.strict_spec,
            mode=self.config.media,
        )

    def state(self, job: Job) -> tuple[str, int]:
        """(status, progress) now."""
        elapsed = self.clock.monotonic() - job.created_mono - self.config.queue_seconds
        if elapsed < 0:
            return "queued", 0
        fraction = elapsed / self.config.render_seconds if self.config.render_seconds > 0 else 1.0
        if fraction < 1.0:
            return "in_progress", min(99, int(fraction * 100))
        return ("failed", 0) if job.planned_error is not None else ("completed", 100)

    def completed_at(self, job: Job) -> int:
        """When a completed job finished: the end of its simulated generation, not when it was seen."""
        return int(job.created + self.config.queue_seconds + self.config.render_seconds)

    def resource(self, job: Job, *, fresh: bool = False) -> dict[str, Any]:
        """The VideoResource: all 13 keys, null where absent. A fresh job is always reported queued."""
        status, progress = ("queued", 0) if fresh else self.state(job)
        error = None
        if status == "failed" and job.planned_error is not None:
            code, message = job.planned_error
            error = {"code": code, "message": message}
        completed_at = self.completed_at(job) if status == "completed" else None
        return {
            "id": job.id,
            "object": "video",
            "model": job.model,
            "status": status,
            "progress": progress,
            "created_at": job.created_at,
            "completed_at": completed_at,
            "expires_at": completed_at + self.config.expires_after if completed_at is not None else None,
            "prompt": job.prompt,
            "size": job.size,
            "seconds": job.seconds,
            "remixed_from_video_id": job.remixed_from_video_id,
            "error": error,
        }

    def is_expired(self, job: Job) -> bool:
        """Whether a completed job's assets are gone (expired by time or by the control plane)."""
        return job.expired or self.clock.time() > self.completed_at(job) + self.config.expires_after

    def ordered(self, order: str) -> list[Job]:
        return sorted(self.jobs.values(), key=lambda job: job.sequence, reverse=order == "desc")

    def add_character(self, name: str) -> Character:
        character = Character(id="char_" + secrets.token_hex(12), name=name, created_at=int(self.clock.time()))
        self.characters[character.id] = character
        return character

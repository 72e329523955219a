"""Jobs and their lifecycle: queued -> in_progress (rising progress) -> completed | failed.

Status is computed lazily from a monotonic clock and from whether the media render finished, so
the emulator needs no background loop and works the same in-process (ASGITransport) and under
uvicorn. Renders run on a small thread pool, never on the event loop.
"""

from __future__ import annotations

import secrets
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ._config import EmulatorConfig
from ._media import Media, render_media

__all__ = ["Character", "Job", "Store"]


def new_video_id() -> str:
    return "video_" + secrets.token_hex(24)


@dataclass
class Job:
    id: str
    model: str
    prompt: str
    size: str
    seconds: str
    created_at: int
    created_mono: float
    sequence: int
    render: Future[Media]
    remixed_from_video_id: str | None = None
    planned_error: tuple[str, str] | None = None
    extensions: int = 0
    completed_at: int | None = None
    expired: bool = False


@dataclass
class Character:
    id: str
    name: str
    created_at: int


@dataclass
class Store:
    config: EmulatorConfig
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
    ) -> Job:
        self._sequence += 1
        width, _, height = size.partition("x")
        render = self.pool.submit(
            render_media,
            prompt,
            int(width),
            int(height),
            float(seconds),
            fps=self.config.fps,
            webp_sheet=self.config.strict_spec,
            mode=self.config.media,
        )
        job = Job(
            id=new_video_id(),
            model=model,
            prompt=prompt,
            size=size,
            seconds=seconds,
            created_at=int(time.time()),
            created_mono=time.monotonic(),
            sequence=self._sequence,
            render=render,
            remixed_from_video_id=remixed_from,
            planned_error=planned_error,
            extensions=extensions,
        )
        self.jobs[job.id] = job
        return job

    def state(self, job: Job) -> tuple[str, int]:
        """(status, progress) now."""
        elapsed = time.monotonic() - job.created_mono - self.config.queue_seconds
        if elapsed < 0:
            return "queued", 0
        fraction = elapsed / self.config.render_seconds if self.config.render_seconds > 0 else 1.0
        if fraction >= 1.0 and job.planned_error is not None:
            return "failed", 0
        if fraction >= 1.0 and job.render.done():
            if job.render.exception() is not None:
                return "failed", 0
            if job.completed_at is None:
                job.completed_at = int(time.time())
            return "completed", 100
        return "in_progress", min(99, int(fraction * 100))

    def resource(self, job: Job, *, fresh: bool = False) -> dict[str, Any]:
        """The VideoResource: all 13 keys, null where absent. A fresh job is always reported queued."""
        status, progress = ("queued", 0) if fresh else self.state(job)
        error: dict[str, str] | None = None
        if status == "failed":
            code, message = job.planned_error or ("render_failed", f"Rendering failed: {job.render.exception()}")
            error = {"code": code, "message": message}
        completed_at = job.completed_at if status == "completed" else None
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
        if job.expired:
            return True
        return job.completed_at is not None and time.time() > job.completed_at + self.config.expires_after

    def ordered(self, order: str) -> list[Job]:
        return sorted(self.jobs.values(), key=lambda job: job.sequence, reverse=order == "desc")

    def add_character(self, name: str) -> Character:
        character = Character(id="char_" + secrets.token_hex(12), name=name, created_at=int(time.time()))
        self.characters[character.id] = character
        return character

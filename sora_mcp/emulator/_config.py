"""How the emulator behaves: one frozen value, shared by the app, the store and the renderer."""

from __future__ import annotations

from dataclasses import dataclass

from ._dialects import Dialect
from ._media import MediaMode

__all__ = ["EmulatorConfig"]


@dataclass(frozen=True)
class EmulatorConfig:
    """How the emulator behaves. Times are seconds unless named otherwise."""

    api_key: str | None = None  # None: any non-empty key is accepted
    render_seconds: float = 3.0  # time in_progress, progress rising over it
    queue_seconds: float = 0.5  # time queued
    poll_after_ms: int = 1000  # openai-poll-after-ms on GET /videos/{id} while pending
    expires_after: int = 3600  # expires_at = completed_at + this
    strict_spec: bool = False  # only the spec's enums; spritesheet served as image/webp
    retired_models: frozenset[str] = frozenset()  # answered like models that no longer exist
    fps: int = 24
    control: bool = True  # serve the /_emulator control plane
    max_render_pixels: int = 1920 * 1920  # refuse absurd sizes for unknown models
    pad_video_bytes: int = 0  # serve videos padded to this size (benchmarks of large downloads)
    media: MediaMode = "full"  # "fast": small, low-fps, silent media for tests that never inspect it
    render_ahead: bool = False  # render a job's media while it is pending, not on its first download
    dialect: str | Dialect = "openai"  # answer like this server (see _dialects.DIALECTS)

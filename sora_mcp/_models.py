"""Typed models of the /v1/videos wire objects, and of what the client returns.

Wire models ignore unknown keys (other servers add fields) and never drop known ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Character",
    "DeletedVideo",
    "DownloadResult",
    "FitMode",
    "Order",
    "Video",
    "VideoError",
    "VideoList",
    "VideoVariant",
]

VideoVariant = Literal["video", "thumbnail", "spritesheet"]
Order = Literal["asc", "desc"]
FitMode = Literal["none", "crop", "pad"]

# A job is pending in these statuses and terminal in any other: other servers also report
# "cancelled" or "expired", which end a job just as "completed" and "failed" do.
PENDING_STATUSES: frozenset[str] = frozenset({"queued", "in_progress"})

VARIANT_CONTENT_TYPES: dict[str, str] = {
    "video": "video/mp4",
    "thumbnail": "image/webp",
    "spritesheet": "image/jpeg",
}
CONTENT_TYPE_SUFFIXES: dict[str, str] = {
    "video/mp4": ".mp4",
    "image/webp": ".webp",
    "image/jpeg": ".jpg",
    "image/png": ".png",
}


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class VideoError(_Wire):
    """Why a job failed (``Video.error``)."""

    code: str
    message: str


class Video(_Wire):
    """A video job (``VideoResource``): all 13 keys of the contract."""

    id: str
    object: Literal["video"] = "video"
    model: str
    status: str = Field(description="queued | in_progress | completed | failed (other servers may add more)")
    progress: int = 0
    created_at: int
    completed_at: int | None = None
    expires_at: int | None = None
    prompt: str | None = None
    size: str
    seconds: str
    remixed_from_video_id: str | None = None
    error: VideoError | None = None

    @property
    def is_pending(self) -> bool:
        return self.status in PENDING_STATUSES

    @property
    def is_terminal(self) -> bool:
        return not self.is_pending


class VideoList(_Wire):
    """One page of ``GET /videos``."""

    object: Literal["list"] = "list"
    data: list[Video]
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool = False


class DeletedVideo(_Wire):
    """Answer of ``DELETE /videos/{id}``."""

    id: str
    object: Literal["video.deleted"] = "video.deleted"
    deleted: bool


class Character(_Wire):
    """A reusable character (``VideoCharacterResource``)."""

    id: str | None
    name: str | None
    created_at: int


class DownloadResult(_Wire):
    """A downloaded asset, complete on disk under ``path``."""

    video_id: str
    variant: VideoVariant
    path: Path
    bytes: int
    content_type: str

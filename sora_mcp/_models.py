"""Typed models of the /v1/videos wire objects, and of what the client returns.

Wire models ignore unknown keys (other servers add fields) and never drop known ones.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ._assets import VideoVariant

__all__ = [
    "Character",
    "DeletedVideo",
    "DownloadResult",
    "FitMode",
    "Order",
    "Status",
    "Video",
    "VideoError",
    "VideoList",
    "VideoVariant",
]

Order = Literal["asc", "desc"]
FitMode = Literal["none", "crop", "pad"]
Status = Literal["queued", "in_progress", "completed", "failed"]

# What servers call each phase of a job (OpenAI, Azure, LiteLLM's Veo and Runway routes, vLLM-Omni,
# SGLang, gateways). A word nobody has listed counts as still running: a wait then goes on until its
# deadline instead of declaring a job finished that may not be (and inviting a second paid job).
STATUS_WORDS: dict[str, Status] = {
    **dict.fromkeys(("queued", "pending", "submitted", "waiting", "created", "scheduled", "not_started"), "queued"),
    **dict.fromkeys(("in_progress", "processing", "running", "generating", "started", "rendering"), "in_progress"),
    **dict.fromkeys(("completed", "complete", "succeeded", "success", "successful", "done", "finished"), "completed"),
    **dict.fromkeys(
        ("failed", "failure", "error", "errored", "cancelled", "canceled", "expired", "rejected", "timed_out"),
        "failed",
    ),
}
PENDING: frozenset[Status] = frozenset({"queued", "in_progress"})


def normalize_status(word: object) -> Status:
    """The phase a server's status word means; unknown words (and none) mean still running."""
    key = str(word).strip().lower().replace("-", "_").replace(" ", "_") if word is not None else ""
    return STATUS_WORDS.get(key, "in_progress")


def _whole(value: object) -> int | None:
    """An integer from what servers send (int, float, numeric text); None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return round(value)
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return round(number) if math.isfinite(number) else None
    return None


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)


class VideoError(_Wire):
    """Why a job failed (``Video.error``)."""

    code: str = "unknown"
    message: str = "no reason given"

    @model_validator(mode="before")
    @classmethod
    def _from_anything(cls, data: Any) -> Any:
        if isinstance(data, str):  # some servers send the reason as bare text
            return {"message": data}
        if isinstance(data, dict):
            return {key: str(value) for key, value in data.items() if key in ("code", "message") and value is not None}
        return data


class Video(_Wire):
    """A video job (``VideoResource``), read liberally: servers leave out fields, add others, and use
    their own status words. ``status`` is the phase (one of four); ``server_status`` is the server's word.
    Missing ``model``, ``size``, ``seconds`` and ``prompt`` are None (a create fills in what it asked for)."""

    id: str = Field(min_length=1)
    object: str = "video"
    model: str | None = None
    status: Status
    server_status: str | None = None
    progress: int | None = Field(default=None, ge=0, le=100)
    created_at: int | None = None
    completed_at: int | None = None
    expires_at: int | None = None
    prompt: str | None = None
    size: str | None = None
    seconds: str | None = None
    remixed_from_video_id: str | None = None
    error: VideoError | None = None

    @model_validator(mode="before")
    @classmethod
    def _normalize(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        word = data.get("status")
        if word is not None and not isinstance(word, str):
            raise ValueError("status is not text")  # an object here is not a video job: refuse the body
        data["server_status"] = word
        data["status"] = normalize_status(word)
        progress = _whole(data.get("progress"))
        data["progress"] = None if progress is None else max(0, min(100, progress))
        for key in ("created_at", "completed_at", "expires_at"):
            data[key] = _whole(data.get(key))
        for key in ("model", "size", "seconds", "prompt", "remixed_from_video_id", "object"):
            value = data.get(key)
            data[key] = str(value) if isinstance(value, str | int | float) and not isinstance(value, bool) else None
        if data["object"] is None:
            data["object"] = "video"
        if not isinstance(data.get("error"), dict | str):
            data["error"] = None
        return data

    @field_validator("id", mode="before")
    @classmethod
    def _id_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @property
    def is_pending(self) -> bool:
        return self.status in PENDING

    @property
    def is_terminal(self) -> bool:
        return not self.is_pending

    @property
    def status_text(self) -> str:
        """The status in words for people: the phase, and the server's word when it differs."""
        phase = self.status.replace("_", " ")
        word = self.server_status
        return f"{phase} ({word})" if word and word != self.status else phase

    def filled(self, **requested: str | None) -> Video:
        """This video with what the request asked for where the server said nothing."""
        update = {key: value for key, value in requested.items() if value is not None and getattr(self, key) is None}
        return self.model_copy(update=update) if update else self


class VideoList(_Wire):
    """One page of ``GET /videos``."""

    object: str = "list"
    data: list[Video]
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool = False


class DeletedVideo(_Wire):
    """Answer of ``DELETE /videos/{id}``."""

    id: str | None = None
    object: str = "video.deleted"
    deleted: bool = True


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

"""Structured outputs of the MCP tools: each is a tool's ``outputSchema``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .._catalog import estimate_cost
from .._models import Status, Video

__all__ = ["CreateInfo", "DeleteInfo", "DownloadInfo", "Result", "SpendInfo", "VideoInfo", "VideoPage", "WaitInfo"]


class Result(BaseModel):
    """A tool's structured output. Its validator is built when first used, not at import: a start
    answers tools/list without any (see ``_listing``)."""

    model_config = ConfigDict(defer_build=True)


class JobError(Result):
    code: str = Field(description="Machine-readable reason the job failed.")
    message: str = Field(description="Human-readable reason the job failed.")


class VideoInfo(Result):
    """A video job as the server reports it."""

    id: str = Field(description="The video id: pass it to the other tools exactly as it is.")
    status: Status = Field(description="queued, in_progress, completed or failed.")
    server_status: str | None = Field(description="The server's own word for the status, when it sent one.")
    progress: int | None = Field(description="Approximate completion, 0-100 (null when the server does not say).")
    model: str | None
    prompt: str | None
    size: str | None = Field(description="WIDTHxHEIGHT in pixels.")
    seconds: str | None = Field(description="Duration in seconds.")
    created_at: int | None = Field(description="Unix time the job was created.")
    completed_at: int | None = Field(description="Unix time the job finished, if it has.")
    expires_at: int | None = Field(description="Unix time after which the assets can no longer be downloaded.")
    remixed_from_video_id: str | None
    error: JobError | None = Field(description="Why the job failed, if it did.")
    estimated_cost_usd: float | None = Field(
        description="List-price estimate for known Sora models; null when the model's price is unknown."
    )
    next_step: str = Field(description="What to do next with this video.")

    @classmethod
    def from_video(cls, video: Video, next_step: str | None = None) -> VideoInfo:
        data = video.model_dump(exclude={"object"})
        data["error"] = video.error.model_dump() if video.error else None
        cost = (
            estimate_cost(video.model, video.size, video.seconds)
            if video.model and video.size and video.seconds
            else None
        )
        return cls(**data, estimated_cost_usd=cost, next_step=next_step or suggest_next_step(video))


def suggest_next_step(video: Video) -> str:
    if video.status == "completed":
        return f"Call download_video with video_id={video.id!r} to save the video (and its thumbnail)."
    if video.status == "failed":
        return (
            f"This job ended {video.server_status or 'failed'} and cannot be resumed: if the error says why, "
            "adjust the prompt and start a new job with generate_video."
        )
    return f"Call wait_for_video with video_id={video.id!r} to follow it until it finishes."


class WaitInfo(VideoInfo):
    """The state of a job after waiting for it."""

    done: bool = Field(description="True when the job finished (completed or failed).")
    timed_out: bool = Field(description="True when the wait ended before the job finished; the job keeps running.")
    waited_seconds: float = Field(description="How long this call waited.")


class DownloadInfo(Result):
    """A downloaded asset, saved under the output directory."""

    video_id: str
    variant: str = Field(description="video, thumbnail or spritesheet.")
    path: str = Field(description="Absolute path of the saved file.")
    bytes: int = Field(description="Size of the saved file.")
    mime_type: str
    resource_uri: str = Field(description="MCP resource URI that serves this file.")
    metadata_uri: str = Field(description="MCP resource URI of the video's JSON metadata.")


class VideoPage(Result):
    """One page of the account's videos."""

    videos: list[VideoInfo]
    has_more: bool = Field(description="True when more videos follow this page.")
    next_after: str | None = Field(description="Pass as `after` to get the next page (null on the last page).")


class DeleteInfo(Result):
    """Result of deleting a video."""

    video_id: str
    deleted: bool = Field(description="True when the server deleted the video.")
    local_files_removed: list[str] = Field(description="Paths of the local files that were removed.")


class SpendInfo(Result):
    """What a create costs and where the spending limits stand (all amounts in USD)."""

    estimate_usd: float | None = Field(
        description="Estimated price of this job; null when the price is unknown (the server's operator can set "
        "it with --price MODEL=USD_PER_SECOND)."
    )
    price_per_second_usd: float | None
    price_source: Literal["catalog", "price_table", "unknown"] = Field(
        description="catalog: list price of a known model; price_table: the operator's --price; unknown."
    )
    spent_today_usd: float = Field(
        description="Recorded spending of the local calendar day, this job included once it was started; creates "
        "whose answer was lost count as spent."
    )
    spent_this_month_usd: float
    unpriced_today: int = Field(description="Jobs started today whose price is unknown (not in the amounts).")
    unpriced_this_month: int
    max_cost_per_video_usd: float | None = Field(description="Per-video limit; null when there is none.")
    daily_budget_usd: float | None
    daily_remaining_usd: float | None
    monthly_budget_usd: float | None
    monthly_remaining_usd: float | None
    confirm_above_usd: float | None = Field(description="Jobs estimated above this need the user's approval.")
    needs_confirmation: bool = Field(description="True when starting this job needs the user's approval.")
    allowed: bool = Field(description="False when a limit refuses this job (refusal says why).")
    refusal: str | None


class CreateInfo(VideoInfo):
    """A create's answer: the job started (or the identical one reused), and what it costs."""

    id: str | None = Field(  # type: ignore[assignment]  # null only on a dry run: nothing was sent
        description="The video id: pass it to the other tools exactly as it is. Null on a dry run."
    )
    status: Status | None = Field(  # type: ignore[assignment]  # null only on a dry run
        description="queued, in_progress, completed or failed; null on a dry run."
    )
    estimated_cost_usd: float | None = Field(
        description="Estimated price: the catalog's list price, or the server operator's --price for other models; "
        "null when unknown."
    )
    reused: bool = Field(
        description="True when an identical request (same prompt, settings and image or source video) made this job a "
        "short while ago: it is returned instead of starting and paying for a second one. Pass new_job=true to start "
        "another."
    )
    dry_run: bool = Field(description="True when nothing was sent: only the estimate and the limits are reported.")
    spend: SpendInfo

"""What each MCP tool does, as plain functions of the runtime (``_app.py`` registers them).

They raise ``SoraError`` for anything a user or a model can act on; the registration turns it into
a tool error whose text says what to do next.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Awaitable, Callable

from mcp.server.mcpserver import ElicitationResult
from mcp.types import CallToolResult, ContentBlock, ImageContent, ResourceLink, TextContent
from pydantic import BaseModel

from .._assets import IMAGE_TYPES, VideoVariant, check_id
from .._client import Content
from .._errors import VideoJobError, WaitTimeoutError
from .._models import Order, Video
from ._guard import CostApproval, CreatePlan, Planned, SpendGuard
from ._library import asset_uri
from ._results import CreateInfo, DeleteInfo, DownloadInfo, VideoInfo, VideoPage, WaitInfo
from ._runtime import Runtime

__all__ = [
    "delete_video",
    "download_video",
    "generate_video",
    "get_video_status",
    "list_videos",
    "remix_video",
    "wait_for_video",
]

INLINE_IMAGE_LIMIT = 2 * 1024 * 1024  # images above this are linked, not inlined

ReportProgress = Callable[[float, str], Awaitable[None]]
AnnounceChanges = Callable[[list[str]], Awaitable[None]]


def text_of(model: BaseModel) -> list[ContentBlock]:
    return [TextContent(type="text", text=model.model_dump_json(indent=2))]


async def get_video_status(runtime: Runtime, video_id: str) -> VideoInfo:
    return VideoInfo.from_video(await runtime.client.get_video_status(check_id(video_id)))


async def wait_for_video(runtime: Runtime, video_id: str, timeout: float, report: ReportProgress) -> WaitInfo:
    check_id(video_id)
    started = time.monotonic()
    reported = -1.0

    async def on_progress(video: Video) -> None:
        nonlocal reported
        progress = float(video.progress if video.progress is not None else (100 if video.is_terminal else 0))
        if progress > reported:
            reported = progress
            await report(progress, video.status_text)  # the % is the progress field; the message is the status

    try:
        video = await runtime.client.wait_for_completion(
            video_id, timeout=min(timeout, runtime.wait_cap), on_progress=on_progress, raise_on_failure=False
        )
    except WaitTimeoutError as exc:
        if exc.video is None:  # not even one status arrived in time: say so, as a tool error
            raise
        return _wait_info(exc.video, started, timed_out=True)
    if video.status == "failed":
        raise VideoJobError(video)
    if reported < 100:
        await report(100.0, video.status_text)
    return _wait_info(video, started, timed_out=False)


def _wait_info(video: Video, started: float, *, timed_out: bool) -> WaitInfo:
    info = VideoInfo.from_video(video)
    next_step = info.next_step
    if timed_out:
        progress = f" at {video.progress}%" if video.progress is not None else ""
        next_step = (
            f"Still {video.status_text}{progress}: the job keeps running. "
            f"Call wait_for_video again with video_id={video.id!r}."
        )
    return WaitInfo(
        **info.model_dump(exclude={"next_step"}),
        next_step=next_step,
        done=video.is_terminal,
        timed_out=timed_out,
        waited_seconds=round(time.monotonic() - started, 3),
    )


async def list_videos(runtime: Runtime, limit: int, after: str | None, order: Order) -> VideoPage:
    page = await runtime.client.list_videos(
        limit=limit, after=check_id(after, what="cursor") if after else None, order=order
    )
    return VideoPage(
        videos=[VideoInfo.from_video(video) for video in page.data],
        has_more=page.has_more,
        next_after=page.last_id if page.has_more else None,
    )


async def download_video(
    runtime: Runtime, video_id: str, variant: VideoVariant, announce: AnnounceChanges
) -> CallToolResult:
    check_id(video_id)
    library = runtime.library

    async def save(content: Content) -> tuple[str, int, str]:
        asset = await library.save(video_id, variant, content.content_type, content.chunks, content.expected_size)
        return asset.file.location, asset.size, asset.content_type

    async with runtime.lock(video_id):
        location, size, content_type = await runtime.client.fetch_content(video_id, variant, save)
        video = await runtime.client.get_video_status(video_id)
        await library.write_metadata(video_id, video)
    info = DownloadInfo(
        video_id=video_id,
        variant=variant,
        path=location,
        bytes=size,
        mime_type=content_type,
        resource_uri=asset_uri(video_id, variant),
        metadata_uri=asset_uri(video_id, "metadata"),
    )
    content: list[ContentBlock] = [
        *text_of(info),
        ResourceLink(
            type="resource_link",
            uri=info.resource_uri,
            name=location.rsplit("/", 1)[-1],
            title=f"{variant.capitalize()} of {video_id}",
            mime_type=content_type,
            size=size,
        ),
    ]
    if content_type in IMAGE_TYPES and size <= INLINE_IMAGE_LIMIT:
        asset = await library.find(video_id, variant)
        if asset is not None:
            data = await library.read(asset, length=INLINE_IMAGE_LIMIT)
            content.append(ImageContent(type="image", data=base64.b64encode(data).decode(), mime_type=content_type))
    await announce([info.resource_uri, info.metadata_uri])
    return CallToolResult(content=content, structured_content=info.model_dump(mode="json"))


async def generate_video(
    runtime: Runtime, guard: SpendGuard, plan: Planned, approval: ElicitationResult[CostApproval]
) -> CreateInfo:
    """Start a job once it is priced, within the limits and approved; or return the identical one."""

    async def send(request: CreatePlan) -> Video:
        return await runtime.client.generate_video(
            request.prompt,
            model=request.model,
            seconds=request.seconds,
            size=request.size,
            input_reference=request.reference,
            fit=request.fit,
        )

    return await guard.create(runtime, plan, approval, send)


async def remix_video(
    runtime: Runtime, guard: SpendGuard, plan: Planned, approval: ElicitationResult[CostApproval]
) -> CreateInfo:
    """Remix once priced from its source video, within the limits and approved; or return the identical one."""

    async def send(request: CreatePlan) -> Video:
        assert request.source_video_id is not None
        return await runtime.client.remix_video(request.source_video_id, request.prompt)

    return await guard.create(runtime, plan, approval, send)


async def delete_video(
    runtime: Runtime, video_id: str, delete_local_files: bool, announce: AnnounceChanges
) -> DeleteInfo:
    check_id(video_id)
    async with runtime.lock(video_id):
        deleted = await runtime.client.delete_video(video_id)
        removed = await runtime.library.delete(video_id) if delete_local_files else []
    if removed:
        await announce([])
    return DeleteInfo(video_id=video_id, deleted=deleted.deleted, local_files_removed=removed)

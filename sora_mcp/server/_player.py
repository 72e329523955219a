"""The in-chat player: an MCP App (extension ``io.modelcontextprotocol/ui``, spec 2026-01-26).

- ``ui://sora-mcp/player`` is one self-contained HTML file (``player/player.html`` with the vendored
  ext-apps client library inlined), ``text/html;profile=mcp-app``. Its CSP declares ``blob:``: the
  video plays from a Blob URL assembled in the page.
- The tools that show a job link to it (``player_meta()``: ``_meta.ui.resourceUri``, and ChatGPT's
  ``openai/outputTemplate``). Hosts without MCP Apps ignore the meta: the tools work as before.
- Three app-only tools (``_meta.ui.visibility: ["app"]``; hosts keep them from the model):
  ``player_status`` (one poll: the job, the server's poll hint, the local files), ``player_gallery``
  (the videos in the output folder, newest first) and ``read_asset_chunk`` (a downloaded asset in
  base64 chunks, found by video id and kind through the library, so nothing else can be read).

``read_asset_chunk`` is also the way for any client whose transport caps message size: SSE clients
refuse events over 1 MiB, so ``resources/read`` of a larger video fails there. Each chunk holds at
most ``MAX_CHUNK_BYTES`` (512 KiB, about 683 KiB of base64), and the whole answer stays under 1 MiB.
"""

from __future__ import annotations

import base64
import copy
import functools
import json
import re
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Annotated, Any, Literal, ParamSpec, Protocol, TypeVar

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from .._assets import MAX_ID_LENGTH, VideoVariant, check_id
from .._config import Settings
from .._errors import InputError, SoraError
from .._models import Video
from .._storage import StoredFile
from .._version import __version__
from ._library import Asset, LocalLibrary
from ._results import Result, VideoInfo
from ._runtime import Runtime

__all__ = [
    "APP_MIME_TYPE",
    "MAX_CHUNK_BYTES",
    "PLAYER_URI",
    "AssetChunk",
    "Gallery",
    "LocalFile",
    "PlayerVideo",
    "player_html",
    "player_meta",
    "register_player",
]

PLAYER_URI = "ui://sora-mcp/player"
APP_MIME_TYPE = "text/html;profile=mcp-app"
MAX_CHUNK_BYTES = 512 * 1024
METADATA_LIMIT = 1024 * 1024
MIN_POLL_MS, MAX_POLL_MS = 200, 60_000

# The resource's _meta.ui (on the listing and on each read): blob: for the video and its poster.
RESOURCE_META: dict[str, Any] = {"ui": {"csp": {"resourceDomains": ["blob:"]}, "prefersBorder": True}}
_PLAYER_TOOL_META: dict[str, Any] = {
    "ui": {"resourceUri": PLAYER_URI},
    "openai/outputTemplate": PLAYER_URI,
    "openai/widgetAccessible": True,
}
_APP_ONLY_META: dict[str, Any] = {
    "ui": {"resourceUri": PLAYER_URI, "visibility": ["app"]},
    "openai/widgetAccessible": True,
    "openai/visibility": "private",
}

LOCAL_READ = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
POLL = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True)

P = ParamSpec("P")
R = TypeVar("R")


class ToolErrors(Protocol):
    """How the server turns a SoraError into a tool error whose text says what to do (``_app._actionable``)."""

    def __call__(self, fn: Callable[P, Awaitable[R]], /) -> Callable[P, Awaitable[R]]: ...


VideoId = Annotated[
    str, Field(min_length=1, max_length=MAX_ID_LENGTH, description="Id of the video, exactly as the server minted it.")
]


def player_meta() -> dict[str, Any]:
    """``_meta`` of a model-facing tool whose result the player shows."""
    return copy.deepcopy(_PLAYER_TOOL_META)


# --- results -------------------------------------------------------------------------------------------
class LocalFile(Result):
    """A downloaded asset in the output folder."""

    kind: str = Field(description="video, thumbnail or spritesheet.")
    bytes: int
    mime_type: str
    path: str = Field(description="Where the file is (an absolute path).")
    etag: str = Field(description="Changes whenever the file does: pass it to read_asset_chunk after the first chunk.")
    resource_uri: str


class PlayerVideo(Result):
    """What the player shows of one video."""

    video_id: str
    job: VideoInfo | None = Field(
        description="The job: live from the server (player_status) or as saved at download (player_gallery); "
        "null when unknown."
    )
    video: LocalFile | None = Field(description="The downloaded MP4, if any.")
    thumbnail: LocalFile | None = Field(description="The downloaded thumbnail, if any.")
    poll_after_ms: int | None = Field(description="While the job runs: when to poll again (the server's hint).")
    note: str | None = Field(default=None, description="Something the player should say (e.g. the server was away).")


class Gallery(Result):
    """The videos downloaded into the output folder, newest first."""

    videos: list[PlayerVideo]
    total: int = Field(description="How many videos the folder holds.")
    has_more: bool


class AssetChunk(Result):
    """One chunk of a downloaded asset."""

    video_id: str
    kind: str
    mime_type: str
    offset: int = Field(description="Where this chunk starts in the file.")
    length: int = Field(description="Bytes in this chunk (before base64).")
    total_bytes: int = Field(description="Size of the whole file.")
    eof: bool = Field(description="True when this chunk reaches the end of the file.")
    etag: str = Field(description="Identifies this version of the file; pass it when reading the next chunks.")
    data: str = Field(description="The chunk's bytes, base64.")


# --- what the tools do ---------------------------------------------------------------------------------
def etag_of(file: StoredFile) -> str:
    return f"{file.size:x}-{file.modified_ns:x}"


def _local(asset: Asset | None) -> LocalFile | None:
    if asset is None:
        return None
    return LocalFile(
        kind=asset.kind,
        bytes=asset.size,
        mime_type=asset.content_type,
        path=asset.file.location,
        etag=etag_of(asset.file),
        resource_uri=asset.uri,
    )


async def saved_job(library: LocalLibrary, video_id: str) -> VideoInfo | None:
    """The job as recorded in its metadata file at the last download (None if absent or unreadable)."""
    asset = await library.find(video_id, "metadata")
    if asset is None:
        return None
    try:
        document = json.loads(await library.read(asset, length=METADATA_LIMIT))
        return VideoInfo.from_video(Video.model_validate(document["video"]))
    except (ValueError, KeyError, TypeError, SoraError):
        return None


async def status_for_player(runtime: Runtime, video_id: str, default_poll: float) -> PlayerVideo:
    check_id(video_id)
    library = runtime.library
    video_file = await library.find(video_id, "video")
    thumbnail = await library.find(video_id, "thumbnail")
    try:
        video, hint = await runtime.client.poll_video(video_id)
    except SoraError as exc:
        if video_file is None:
            raise
        return PlayerVideo(
            video_id=video_id,
            job=await saved_job(library, video_id),
            video=_local(video_file),
            thumbnail=_local(thumbnail),
            poll_after_ms=None,
            note=f"Showing the downloaded copy: the server could not be asked ({exc})",
        )
    poll = None if video.is_terminal else round((hint if hint is not None else default_poll) * 1000)
    return PlayerVideo(
        video_id=video_id,
        job=VideoInfo.from_video(video),
        video=_local(video_file),
        thumbnail=_local(thumbnail),
        poll_after_ms=None if poll is None else min(MAX_POLL_MS, max(MIN_POLL_MS, poll)),
    )


async def gallery_of(library: LocalLibrary, limit: int, offset: int) -> Gallery:
    assets = await library.assets()  # newest first
    thumbnails = {asset.video_id: asset for asset in assets if asset.kind == "thumbnail"}
    videos = [asset for asset in assets if asset.kind == "video"]
    page = videos[offset : offset + limit]
    return Gallery(
        videos=[
            PlayerVideo(
                video_id=asset.video_id,
                job=await saved_job(library, asset.video_id),
                video=_local(asset),
                thumbnail=_local(thumbnails.get(asset.video_id)),
                poll_after_ms=None,
            )
            for asset in page
        ],
        total=len(videos),
        has_more=offset + len(page) < len(videos),
    )


async def chunk_of(
    library: LocalLibrary, video_id: str, kind: VideoVariant, offset: int, length: int, etag: str | None
) -> CallToolResult:
    check_id(video_id)
    asset = await library.find(video_id, kind)
    if asset is None:
        variant = f", variant={kind!r}" if kind != "video" else ""
        raise InputError(
            f"No downloaded {kind} of {video_id} in the output folder.",
            hint=f"Call download_video with video_id={video_id!r}{variant} first.",
        )
    current = etag_of(asset.file)
    if etag is not None and etag != current:
        raise InputError(
            f"The {kind} of {video_id} changed since the first chunk was read (etag {current}, not {etag}).",
            hint="Read it again from offset 0 without an etag.",
        )
    if offset > asset.size:
        raise InputError(
            f"Offset {offset} is past the end of the {kind} of {video_id} ({asset.size} bytes).",
            hint="Start at 0 and add each chunk's length.",
        )
    data = await library.read(asset, offset=offset, length=min(length, MAX_CHUNK_BYTES))
    after = await library.find(video_id, kind)
    if after is None or etag_of(after.file) != current:  # replaced while it was read: the bytes may be mixed
        raise InputError(f"The {kind} of {video_id} changed while it was read.", hint="Read it again from offset 0.")
    end = offset + len(data)
    chunk = AssetChunk(
        video_id=video_id,
        kind=kind,
        mime_type=asset.content_type,
        offset=offset,
        length=len(data),
        total_bytes=asset.size,
        eof=end >= asset.size,
        etag=current,
        data=base64.b64encode(data).decode("ascii"),
    )
    summary = (
        f"Bytes {offset}-{end} of {asset.size} of the {kind} of {video_id} ({asset.content_type}), base64 in "
        f"structuredContent.data; " + ("that is the end." if chunk.eof else f"next offset {end}, etag {current}.")
    )
    # The bytes travel once (structuredContent), not again as JSON text: the answer stays under 1 MiB.
    return CallToolResult(content=[TextContent(type="text", text=summary)], structured_content=chunk.model_dump())


# --- the UI resource -----------------------------------------------------------------------------------
LIBRARY_SLOT = "/*@ext-apps@*/"
VERSION_SLOT = "@sora-mcp-version@"
_EXPORTS = re.compile(r"export\s*\{([^{}]*)\}\s*;?\s*$")


def inline_module(source: str) -> str:
    """The vendored ES module as a script that hands its exports to ``globalThis.McpExtApps``:
    an inline module cannot be imported from, and the player must be one self-contained file."""
    match = _EXPORTS.search(source)
    if match is None or "</script" in source.lower():
        raise RuntimeError("the vendored ext-apps build cannot be inlined: run scripts/refresh-ext-apps.py")
    names = []
    for item in match.group(1).split(","):
        local, _, exported = item.strip().partition(" as ")
        names.append(f"{json.dumps(exported or local)}:{local}")
    return source[: match.start()] + "globalThis.McpExtApps=Object.freeze({" + ",".join(names) + "});\n"


@functools.cache
def player_html() -> str:
    """The player as served: the page with the vendored ext-apps library inlined (built once)."""
    folder = resources.files(__package__) / "player"
    page = (folder / "player.html").read_text(encoding="utf-8")
    library = (folder / "vendor" / "ext-apps" / "app-with-deps.js").read_text(encoding="utf-8")
    if page.count(LIBRARY_SLOT) != 1:
        raise RuntimeError("player.html must hold the library slot exactly once")
    return page.replace(LIBRARY_SLOT, inline_module(library)).replace(VERSION_SLOT, __version__)


# --- registration --------------------------------------------------------------------------------------
def register_player(mcp: MCPServer[Runtime], settings: Settings, actionable: ToolErrors) -> None:
    """The player resource and its app-only tools. ``actionable`` turns SoraErrors into tool errors."""

    @mcp.resource(
        PLAYER_URI,
        name="player",
        title="Video player",
        description="Shows a video job while it renders, then plays it; with a gallery of the downloaded videos.",
        mime_type=APP_MIME_TYPE,
        meta=copy.deepcopy(RESOURCE_META),
    )
    def player() -> str:
        return player_html()

    @mcp.tool(title="Player: poll a video", annotations=POLL, meta=copy.deepcopy(_APP_ONLY_META))
    @actionable
    async def player_status(video_id: VideoId, ctx: Context[Runtime, Any]) -> PlayerVideo:
        """For the player: one look at a job (status, progress, error), when to look again, and which of its
        files are downloaded."""
        return await status_for_player(_runtime(ctx), video_id, settings.poll_interval)

    @mcp.tool(title="Player: downloaded videos", annotations=LOCAL_READ, meta=copy.deepcopy(_APP_ONLY_META))
    @actionable
    async def player_gallery(
        ctx: Context[Runtime, Any],
        limit: Annotated[int, Field(ge=1, le=100, description="How many videos on this page.")] = 48,
        offset: Annotated[int, Field(ge=0, le=1_000_000, description="How many videos to skip.")] = 0,
    ) -> Gallery:
        """For the player: the videos downloaded into the output folder, newest first, with their thumbnails
        and what they were made from."""
        return await gallery_of(_runtime(ctx).library, limit, offset)

    @mcp.tool(title="Read a downloaded file in chunks", annotations=LOCAL_READ, meta=copy.deepcopy(_APP_ONLY_META))
    @actionable
    async def read_asset_chunk(
        video_id: VideoId,
        ctx: Context[Runtime, Any],
        kind: Annotated[
            Literal["video", "thumbnail", "spritesheet"], Field(description="Which downloaded file of the video.")
        ] = "video",
        offset: Annotated[int, Field(ge=0, le=2**53, description="First byte to read.")] = 0,
        length: Annotated[
            int, Field(ge=1, le=MAX_CHUNK_BYTES, description=f"Bytes to read, at most {MAX_CHUNK_BYTES}.")
        ] = MAX_CHUNK_BYTES,
        etag: Annotated[
            str | None,
            Field(max_length=64, description="The etag of the first chunk: refuses a file replaced in between."),
        ] = None,
    ) -> Annotated[CallToolResult, AssetChunk]:
        """Read a downloaded video, thumbnail or spritesheet in base64 chunks (at most 512 KiB each), by video id.
        For the player, and for clients whose transport caps message size (SSE clients refuse messages over
        1 MiB, so resources/read of a larger video fails there): read from offset 0, then from offset + length
        with the first chunk's etag, until eof."""
        return await chunk_of(_runtime(ctx).library, video_id, kind, offset, length, etag)


def _runtime(ctx: Context[Runtime, Any]) -> Runtime:
    return ctx.request_context.lifespan_context

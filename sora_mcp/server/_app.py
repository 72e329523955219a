"""The MCP server: tools, resources and prompts over the SoraClient.

Errors a user or a model can act on (every ``SoraError``) come back as tool errors whose text
says what to do next; anything else is a bug and is left to the SDK, which reports a generic
tool error and logs the traceback on stderr.
"""

import base64
import dataclasses
import functools
import inspect
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal, ParamSpec, TypeVar, get_args

import anyio
import httpx2
from mcp.server import InitializationOptions, NotificationOptions, ServerRequestContext
from mcp.server.connection import Connection
from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.server.session import ServerSession
from mcp.shared.exceptions import MCPError
from mcp.types import (
    CallToolResult,
    Completion,
    CompletionArgument,
    CompletionContext,
    ContentBlock,
    EmptyResult,
    Icon,
    ImageContent,
    InputRequiredResult,
    PromptReference,
    ResourceLink,
    ResourceTemplateReference,
    SubscribeRequestParams,
    TextContent,
    ToolAnnotations,
    UnsubscribeRequestParams,
)
from mcp.types import (
    Resource as MCPResource,
)
from pydantic import AnyUrl, Field

from .. import __version__
from .._catalog import describe_models
from .._config import Settings
from .._errors import MissingAPIKeyError, SoraError, VideoJobError, WaitTimeoutError
from .._models import Video, VideoVariant
from ._library import ASSET_KINDS, AssetKind, LocalLibrary, asset_uri, check_video_id
from ._outputs import DeleteInfo, DownloadInfo, VideoInfo, VideoPage, WaitInfo
from ._runtime import Runtime, open_runtime

__all__ = ["SoraMCPServer", "create_server"]

log = logging.getLogger("sora_mcp.server")

P = ParamSpec("P")
R = TypeVar("R")

INSTRUCTIONS = """\
Generate short videos with a Sora-compatible /v1/videos server, follow them, and save them locally.
Typical flow: generate_video -> wait_for_video (repeat while it says timed_out) -> download_video.
Videos take minutes to render; a wait returns before a client's tool-call timeout and can simply be
called again. Downloads are saved under the configured output directory and exposed as resources
(sora://videos/{video_id}/video, .../thumbnail, .../spritesheet, .../metadata). Assets expire on the
server about an hour after a video completes, so download promptly.
"""

INLINE_IMAGE_LIMIT = 2 * 1024 * 1024  # images above this are linked, not inlined

NO_KEY_MESSAGE = (
    "No API key is configured, so no request was sent. Set OPENAI_API_KEY in the environment the MCP host "
    "starts sora-mcp with (for Azure also SORA_MCP_AUTH_STYLE=azure and OPENAI_BASE_URL), or start the server "
    "with `sora-mcp serve --backend emulator` to try everything locally without a key."
)

# --- tool annotations (hints for hosts: what may change what) ---------------------------------------
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
CREATES = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True)
SAVES = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
DELETES = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True)

# --- argument types: the signature is the schema ------------------------------------------------------
VideoId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$",
        description="Id of the video, as returned by generate_video or list_videos (e.g. 'video_68d7...').",
    ),
]
Prompt = Annotated[
    str,
    Field(
        min_length=1,
        max_length=32000,
        description="What the video shows: subject, action, setting, camera, lighting, style.",
    ),
]


_CallableT = TypeVar("_CallableT", bound=Callable[..., Any])


def _flowing(docstring: str) -> str:
    """A docstring as the text a model reads: dedented, paragraphs kept, lines joined."""
    paragraphs = inspect.cleandoc(docstring).split("\n\n")
    return "\n\n".join(" ".join(line.strip() for line in paragraph.splitlines()) for paragraph in paragraphs)


_SUBSCRIBED = "sora_mcp.subscribed"


def _connection_of(session: ServerSession) -> Connection:
    """The client connection a request came on: per-request sessions change, it does not."""
    return session._connection  # private: mcp 2.3 gives request handlers no public handle on it


class SoraMCPServer(MCPServer[Runtime]):
    """MCPServer whose resource list is the output directory, read fresh on every request."""

    def __init__(self, settings: Settings, *, http_client: httpx2.AsyncClient | None = None) -> None:
        self.sora_settings = settings
        self.library = LocalLibrary(settings.output_dir)
        self.shared_runtime: Runtime | None = None
        self._http_client = http_client
        super().__init__(
            "sora-mcp",
            title="Sora video generation",
            description="Generate, follow, download and manage AI videos through the /v1/videos API.",
            instructions=INSTRUCTIONS,
            version=__version__,
            lifespan=self._lifespan,
        )
        # Connections of the 2025-11-25 era subscribed to a resource URI, with the session to send on
        # (2026-07-28 clients use subscriptions/listen, which MCPServer serves itself).
        self.legacy_subscribers: dict[str, dict[Connection, ServerSession]] = {}
        self._serve_legacy_change_notifications()

    def _serve_legacy_change_notifications(self) -> None:
        """Handshake-era hosts (most of today's) act on change notifications only when the server
        advertises them: declare ``resources.listChanged`` and serve ``resources/subscribe``."""
        lowlevel = self._lowlevel_server  # no public accessor in mcp 2.3
        create_options = lowlevel.create_initialization_options

        def with_list_changed(
            notification_options: NotificationOptions | None = None,
            experimental_capabilities: dict[str, dict[str, Any]] | None = None,
            extensions: dict[str, dict[str, Any]] | None = None,
        ) -> InitializationOptions:
            options = notification_options or NotificationOptions(resources_changed=True)
            return create_options(options, experimental_capabilities, extensions)

        lowlevel.create_initialization_options = with_list_changed  # type: ignore[method-assign]
        lowlevel.add_request_handler("resources/subscribe", SubscribeRequestParams, self._subscribe)
        lowlevel.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, self._unsubscribe)

    async def _subscribe(self, ctx: ServerRequestContext[Any, Any], params: SubscribeRequestParams) -> EmptyResult:
        connection = _connection_of(ctx.session)
        if not connection.state.get(_SUBSCRIBED):
            connection.state[_SUBSCRIBED] = True
            connection.exit_stack.callback(self._forget, connection)
        self.legacy_subscribers.setdefault(str(params.uri), {})[connection] = ctx.session
        return EmptyResult()

    async def _unsubscribe(self, ctx: ServerRequestContext[Any, Any], params: UnsubscribeRequestParams) -> EmptyResult:
        self.legacy_subscribers.get(str(params.uri), {}).pop(_connection_of(ctx.session), None)
        return EmptyResult()

    def _forget(self, connection: Connection) -> None:
        for subscribers in self.legacy_subscribers.values():
            subscribers.pop(connection, None)

    async def notify_legacy_subscribers(self, uri: str) -> None:
        for connection, session in list(self.legacy_subscribers.get(uri, {}).items()):
            try:
                await session.send_resource_updated(uri)
            except (MCPError, anyio.BrokenResourceError, anyio.ClosedResourceError):  # that client is gone
                self._forget(connection)

    def tool(
        self,
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        annotations: ToolAnnotations | None = None,
        icons: list[Icon] | None = None,
        meta: dict[str, Any] | None = None,
        structured_output: bool | None = None,
    ) -> Callable[[_CallableT], _CallableT]:
        """``MCPServer.tool`` whose default description is the docstring as flowing text: what the
        model reads carries no source indentation or hard line breaks."""
        register = super().tool

        def decorate(fn: _CallableT) -> _CallableT:
            text = description if description is not None else _flowing(fn.__doc__ or "")
            return register(name, title, text, annotations, icons, meta, structured_output)(fn)

        return decorate

    @asynccontextmanager
    async def _lifespan(self, _server: MCPServer[Runtime]) -> AsyncIterator[Runtime]:
        # HTTP transports open one runtime for the whole process (SSE would otherwise open one per
        # connection); stdio and in-process clients open their own.
        if self.shared_runtime is not None:
            yield self.shared_runtime
            return
        async with open_runtime(self.sora_settings, http_client=self._http_client) as runtime:
            yield runtime

    async def read_resource(
        self, uri: AnyUrl | str, context: Context[Runtime, Any] | None = None
    ) -> Iterable[ReadResourceContents] | InputRequiredResult:
        """As MCPServer's, but a downloaded asset is served with the type of the file on disk: the
        templates declare the API's usual types, and a server may have sent another (a WebP spritesheet)."""
        contents = await super().read_resource(uri, context)
        asset = self.library.at_uri(str(uri))
        if asset is None or isinstance(contents, InputRequiredResult):
            return contents
        return [dataclasses.replace(content, mime_type=asset.mime_type) for content in contents]

    async def list_resources(self) -> list[MCPResource]:
        listed = await super().list_resources()
        for asset in self.library.assets():
            listed.append(
                MCPResource(
                    uri=asset.uri,
                    name=asset.path.name,
                    title=f"{asset.kind.capitalize()} of {asset.video_id}",
                    description=f"Downloaded {asset.kind} of video {asset.video_id}.",
                    mime_type=asset.mime_type,
                    size=asset.size,
                )
            )
        return listed


def _actionable(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Turn every SoraError into a tool error whose text says what to do next."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await fn(*args, **kwargs)
        except MissingAPIKeyError as exc:  # the host's config is where the key goes
            raise ToolError(NO_KEY_MESSAGE) from exc
        except SoraError as exc:
            raise ToolError(str(exc)) from exc

    return wrapper


def _runtime(ctx: Context[Runtime, Any]) -> Runtime:
    return ctx.request_context.lifespan_context


def _text(model: Any) -> list[ContentBlock]:
    return [TextContent(type="text", text=model.model_dump_json(indent=2))]


async def _notify_resources_changed(ctx: Context[Runtime, Any], uris: list[str]) -> None:
    """Tell both protocol eras that the resource list (and these resources) changed."""
    await ctx.notify_resources_changed()
    server = ctx.mcp_server
    for uri in uris:
        await ctx.notify_resource_updated(uri)
        if isinstance(server, SoraMCPServer):
            await server.notify_legacy_subscribers(uri)
    if ctx.protocol_version != "2026-07-28":
        try:
            await ctx.session.send_resource_list_changed()
        except MCPError:  # no back-channel on this transport: the listen stream already carries it
            log.debug("resource list_changed not sent: no back-channel")


def create_server(settings: Settings, *, http_client: httpx2.AsyncClient | None = None) -> SoraMCPServer:
    """Build the MCP server. ``http_client`` is injected by tests; the runtime opens on connect."""
    mcp = SoraMCPServer(settings, http_client=http_client)
    _register_read_tools(mcp, settings)
    if not settings.read_only:
        _register_write_tools(mcp, settings)
    _register_resources(mcp)
    _register_prompts(mcp, settings)
    _register_completions(mcp)
    return mcp


# ----------------------------------------------------------------------------------------------------
# Tools that only read (kept in read-only mode)
# ----------------------------------------------------------------------------------------------------


def _register_read_tools(mcp: SoraMCPServer, settings: Settings) -> None:
    wait_cap = max(settings.wait_timeout, 1.0)

    @mcp.tool(title="Get a video's status", annotations=READ_ONLY)
    @_actionable
    async def get_video_status(video_id: VideoId, ctx: Context[Runtime, Any]) -> VideoInfo:
        """Look up a video job once: its status, progress, error, timestamps and expiry.
        Use wait_for_video instead when you want to follow a job until it finishes."""
        video = await _runtime(ctx).client.get_video_status(check_video_id(video_id))
        return VideoInfo.from_video(video)

    @mcp.tool(title="Wait for a video to finish", annotations=READ_ONLY)
    @_actionable
    async def wait_for_video(
        video_id: VideoId,
        ctx: Context[Runtime, Any],
        timeout_seconds: Annotated[
            float,
            Field(
                gt=0,
                le=3600,
                description=f"Longest this call blocks (capped at {wait_cap:g}s so it returns before client "
                "timeouts). If the job is still running then, call wait_for_video again.",
            ),
        ] = wait_cap,
    ) -> WaitInfo:
        """Follow a video job until it completes or fails, reporting progress as it renders.
        Returns early (timed_out=true) when the time is up: the job keeps running, call again to resume."""
        check_video_id(video_id)
        client = _runtime(ctx).client
        budget = min(timeout_seconds, wait_cap)
        started = time.monotonic()
        reported = -1.0

        async def on_progress(video: Video) -> None:
            nonlocal reported
            if video.progress > reported:
                reported = float(video.progress)
                await ctx.report_progress(reported, 100.0, video.status.replace("_", " "))  # the % is `progress`

        try:
            video = await client.wait_for_completion(
                video_id, timeout=budget, on_progress=on_progress, raise_on_failure=False
            )
        except WaitTimeoutError as exc:
            return _wait_info(exc.video, started, timed_out=True)
        if video.status == "failed":
            raise VideoJobError(video)
        if video.status == "completed" and reported < 100:
            await ctx.report_progress(100.0, 100.0, "completed")
        return _wait_info(video, started, timed_out=False)

    @mcp.tool(title="List videos", annotations=READ_ONLY)
    @_actionable
    async def list_videos(
        ctx: Context[Runtime, Any],
        limit: Annotated[int, Field(ge=1, le=100, description="How many videos on this page.")] = 20,
        after: Annotated[
            str | None, Field(max_length=128, description="Cursor: the next_after value of the previous page.")
        ] = None,
        order: Annotated[Literal["asc", "desc"], Field(description="desc: newest first; asc: oldest first.")] = "desc",
    ) -> VideoPage:
        """List the account's recent video jobs, one page at a time (newest first by default)."""
        if after is not None:
            check_video_id(after)
        page = await _runtime(ctx).client.list_videos(limit=limit, after=after, order=order)
        return VideoPage(
            videos=[VideoInfo.from_video(video) for video in page.data],
            has_more=page.has_more,
            next_after=page.last_id if page.has_more else None,
        )

    @mcp.tool(title="Download a video or its images", annotations=SAVES)
    @_actionable
    async def download_video(
        video_id: VideoId,
        ctx: Context[Runtime, Any],
        variant: Annotated[
            Literal["video", "thumbnail", "spritesheet"],
            Field(description="video (MP4), thumbnail (WebP) or spritesheet (JPEG grid of frames)."),
        ] = "video",
    ) -> Annotated[CallToolResult, DownloadInfo]:
        """Save a completed video's MP4, thumbnail or spritesheet into the output directory and return a
        resource link to it. Images are also shown inline so you can see what was made."""
        return await _download(ctx, mcp.library, check_video_id(video_id), variant)


def _wait_info(video: Video, started: float, *, timed_out: bool) -> WaitInfo:
    info = VideoInfo.from_video(video)
    next_step = info.next_step
    if timed_out:
        next_step = (
            f"Still {video.status} at {video.progress}%: the job keeps running. "
            f"Call wait_for_video again with video_id={video.id!r}."
        )
    return WaitInfo(
        **info.model_dump(exclude={"next_step"}),
        next_step=next_step,
        done=video.is_terminal,
        timed_out=timed_out,
        waited_seconds=round(time.monotonic() - started, 3),
    )


async def _download(
    ctx: Context[Runtime, Any], library: LocalLibrary, video_id: str, variant: VideoVariant
) -> CallToolResult:
    client = _runtime(ctx).client
    result = await client.download_content(video_id, library.relative_name(video_id, variant), variant=variant)
    video = await client.get_video_status(video_id)
    await anyio.to_thread.run_sync(library.write_metadata, video)
    # The saved file's name and type follow what the server sent (e.g. a WebP spritesheet).
    saved = library.find(video_id, variant)
    info = DownloadInfo(
        video_id=video_id,
        variant=variant,
        path=str(result.path),
        bytes=result.bytes,
        mime_type=saved.mime_type if saved else result.content_type,
        resource_uri=asset_uri(video_id, variant),
        metadata_uri=asset_uri(video_id, "metadata"),
    )
    content: list[ContentBlock] = [
        *_text(info),
        ResourceLink(
            type="resource_link",
            uri=info.resource_uri,
            name=result.path.name,
            title=f"{variant.capitalize()} of {video_id}",
            mime_type=info.mime_type,
            size=result.bytes,
        ),
    ]
    if variant != "video" and result.bytes <= INLINE_IMAGE_LIMIT:
        data = await anyio.Path(result.path).read_bytes()
        content.append(ImageContent(type="image", data=base64.b64encode(data).decode(), mime_type=info.mime_type))
    await _notify_resources_changed(ctx, [info.resource_uri, info.metadata_uri])
    return CallToolResult(content=content, structured_content=info.model_dump(mode="json"))


# ----------------------------------------------------------------------------------------------------
# Tools that create, spend or delete (left out in read-only mode)
# ----------------------------------------------------------------------------------------------------


def _register_write_tools(mcp: SoraMCPServer, settings: Settings) -> None:
    @mcp.tool(title="Generate a video", annotations=CREATES)
    @_actionable
    async def generate_video(
        prompt: Prompt,
        ctx: Context[Runtime, Any],
        model: Annotated[
            str | None,
            Field(
                max_length=128,
                description=f"Model (or Azure deployment) to use; default {settings.model!r}. Known models: "
                f"{describe_models()} Other servers' models pass through unchecked.",
            ),
        ] = None,
        seconds: Annotated[
            int | None,
            Field(
                ge=1,
                le=120,
                description=f"Duration in seconds (`model` says what each accepts). Default {settings.seconds}.",
            ),
        ] = None,
        size: Annotated[
            str | None,
            Field(
                pattern=r"^[1-9][0-9]{1,4}x[1-9][0-9]{1,4}$",
                description=f"WIDTHxHEIGHT, e.g. 720x1280 (portrait) or 1280x720; default {settings.size}. "
                "See `model` for what each model accepts.",
            ),
        ] = None,
        input_reference: Annotated[
            str | None,
            Field(
                max_length=20_971_520,
                description="Optional first frame: a local image path inside the allowed input folders, an "
                "https URL or a data: URL (PNG, JPEG or WebP). It must match `size` unless fit_reference is set.",
            ),
        ] = None,
        fit_reference: Annotated[
            Literal["none", "crop", "pad"],
            Field(description="When the reference image's size differs: crop to fill, pad (letterbox), or refuse."),
        ] = "none",
    ) -> VideoInfo:
        """Start rendering a new video from a text prompt (optionally from a first-frame image) and return at
        once with its id. This spends money on a real server: one call, one job. Follow it with
        wait_for_video, then download_video."""
        video = await _runtime(ctx).client.generate_video(
            prompt,
            model=model,
            seconds=seconds,
            size=size,
            input_reference=input_reference,
            fit=fit_reference,
        )
        return VideoInfo.from_video(video)

    @mcp.tool(title="Remix a video", annotations=CREATES)
    @_actionable
    async def remix_video(video_id: VideoId, prompt: Prompt, ctx: Context[Runtime, Any]) -> VideoInfo:
        """Start a new job that changes a completed video according to the prompt (one focused change works
        best). Returns at once with the new video's id; follow it with wait_for_video."""
        video = await _runtime(ctx).client.remix_video(check_video_id(video_id), prompt)
        return VideoInfo.from_video(video)

    @mcp.tool(title="Delete a video", annotations=DELETES)
    @_actionable
    async def delete_video(
        video_id: VideoId,
        ctx: Context[Runtime, Any],
        delete_local_files: Annotated[
            bool, Field(description="Also remove the downloaded files of this video from the output directory.")
        ] = False,
    ) -> DeleteInfo:
        """Permanently delete a completed or failed video and its assets from the server. This cannot be
        undone. Downloaded local copies are kept unless delete_local_files is true."""
        deleted = await _runtime(ctx).client.delete_video(check_video_id(video_id))
        removed = mcp.library.delete(video_id) if delete_local_files else []
        if removed:
            await _notify_resources_changed(ctx, [])
        return DeleteInfo(video_id=video_id, deleted=deleted.deleted, local_files_removed=[str(p) for p in removed])


# ----------------------------------------------------------------------------------------------------
# Resources: the output directory
# ----------------------------------------------------------------------------------------------------


def _register_resources(mcp: SoraMCPServer) -> None:
    library = mcp.library

    def reader(kind: AssetKind) -> Callable[[str], Awaitable[bytes | str]]:
        async def read(video_id: str) -> bytes | str:
            try:
                asset = library.find(check_video_id(video_id), kind)
            except SoraError as exc:
                raise ResourceError(str(exc)) from exc
            if asset is None:
                raise ResourceError(
                    f"No downloaded {kind} for {video_id} in the output directory. "
                    f"Call download_video with video_id={video_id!r} first."
                )
            path = anyio.Path(asset.path)
            return await (path.read_text("utf-8") if kind == "metadata" else path.read_bytes())

        return read

    descriptions = {
        "video": "The downloaded MP4 of a video.",
        "thumbnail": "The downloaded thumbnail (WebP) of a video.",
        "spritesheet": "The downloaded spritesheet (JPEG grid of frames) of a video.",
        "metadata": "JSON metadata of a downloaded video: its last known status and its local files.",
    }
    for kind, (_suffix, mime) in ASSET_KINDS.items():
        mcp.resource(
            asset_uri("{video_id}", kind),
            name=f"video-{kind}",
            title=f"Video {kind}",
            description=descriptions[kind],
            mime_type=mime,
        )(reader(kind))


# ----------------------------------------------------------------------------------------------------
# Prompts
# ----------------------------------------------------------------------------------------------------


Orientation = Literal["portrait", "landscape"]
PromptSeconds = Literal["4", "8", "12", "16", "20"]
# Prompt arguments carry no schema: completion is how a host learns the choices.
PROMPT_CHOICES: dict[str, tuple[str, ...]] = {
    "orientation": get_args(Orientation),
    "duration_seconds": get_args(PromptSeconds),
}


def _register_prompts(mcp: SoraMCPServer, settings: Settings) -> None:
    @mcp.prompt(title="Write a video prompt")
    def write_video_prompt(
        idea: Annotated[str, Field(description="The video you have in mind, in a few words.")],
        orientation: Annotated[
            Orientation, Field(description="portrait (phones) or landscape (screens).")
        ] = "portrait",
        duration_seconds: Annotated[PromptSeconds, Field(description="Length of the clip in seconds.")] = "4",
    ) -> str:
        """Turn a rough idea into a strong prompt for generate_video, and pick a size and duration."""
        size = "720x1280" if orientation == "portrait" else "1280x720"
        return f"""Help me write a prompt for a {duration_seconds}-second {orientation} video ({size}) about:
{idea}

Write one paragraph of 60-120 words that a video model can follow, covering in order:
1. Subject: who or what is on screen, with concrete visual details (age, clothing, materials, colours).
2. Action: one clear thing that happens in {duration_seconds} seconds (short clips need simple, single beats).
3. Setting: place, time of day, weather, era.
4. Camera: shot size and movement (e.g. "slow dolly-in, eye level, 35mm lens"); keep it to one move.
5. Lighting and mood: light source and quality (e.g. "soft golden-hour backlight"), colour palette, tone.
6. Style: photoreal, animation, film stock, etc. Sound is generated too: mention ambience or music if it matters.

Avoid real people, public figures, copyrighted characters and music: they are refused by the content policy.
Then call generate_video with that prompt, size="{size}", seconds={duration_seconds} and model "{settings.model}"
(use sora-2-pro for 1080p or finer detail), and follow it with wait_for_video and download_video."""


# ----------------------------------------------------------------------------------------------------
# Argument completion
# ----------------------------------------------------------------------------------------------------

MAX_COMPLETIONS = 100  # the spec's cap per answer


def _register_completions(mcp: SoraMCPServer) -> None:
    library = mcp.library
    kinds_by_template = {asset_uri("{video_id}", kind): kind for kind in ASSET_KINDS}

    @mcp.completion()  # type: ignore[no-untyped-call, untyped-decorator]  # untyped in mcp 2.3
    async def complete(
        ref: PromptReference | ResourceTemplateReference,
        argument: CompletionArgument,
        context: CompletionContext | None,
    ) -> Completion | None:
        """Local video ids for the resource templates (those with that asset downloaded, newest
        first); the allowed values of the prompt's arguments."""
        if isinstance(ref, ResourceTemplateReference) and argument.name == "video_id":
            kind = kinds_by_template.get(ref.uri)
            if kind is None:
                return None
            assets = await anyio.to_thread.run_sync(library.assets)
            choices = list(dict.fromkeys(asset.video_id for asset in assets if asset.kind == kind))
        elif isinstance(ref, PromptReference) and ref.name == "write_video_prompt":
            choices = list(PROMPT_CHOICES.get(argument.name, ()))
        else:
            return None
        matches = [choice for choice in choices if choice.startswith(argument.value)]
        return Completion(values=matches[:MAX_COMPLETIONS], total=len(matches), has_more=len(matches) > MAX_COMPLETIONS)

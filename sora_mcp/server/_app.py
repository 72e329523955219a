"""Builds the MCP server: registers the tools (bodies in ``_tools``), resources, prompt and completions.

Errors a user or a model can act on (every ``SoraError``) come back as tool errors whose text says
what to do next; anything else is a bug and is left to the SDK, which reports a tool error and logs
the traceback on stderr.
"""

import dataclasses
import functools
import inspect
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal, ParamSpec, TypeVar

import httpx2
from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.server.mcpserver import Context, ElicitationResult, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult, Icon, InputRequiredResult, ToolAnnotations
from mcp.types import Resource as MCPResource
from mcp.types import Tool as MCPTool
from pydantic import AnyUrl, Field

from .._assets import MAX_ID_LENGTH
from .._backend import open_client
from .._catalog import describe_models
from .._config import Settings
from .._errors import MissingAPIKeyError, SoraError
from .._images import MAX_DATA_URL_CHARS
from .._spend import Clock
from .._storage import LocalStorage
from .._version import __version__
from . import _tools as tools
from ._guard import CostApproval, Planned, SpendGuard
from ._library import LocalLibrary
from ._listing import Listing, Listings, Patch
from ._player import player_meta, register_player
from ._prompts import register_prompts
from ._resources import listed_resources, register_completions, register_resources
from ._results import CreateInfo, DeleteInfo, DownloadInfo, VideoInfo, VideoPage, WaitInfo
from ._runtime import Runtime
from ._sdk import LegacySubscriptions, advertise_resource_changes

__all__ = ["SoraMCPServer", "ToolTexts", "create_server"]

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

NO_KEY_MESSAGE = (
    "No API key is configured, so no request was sent. Two ways on: set OPENAI_API_KEY, with OPENAI_BASE_URL "
    "pointing at a server that still speaks /v1/videos (for Azure also SORA_MCP_AUTH_STYLE=azure; "
    "SORA_MCP_AUTH_STYLE=none for servers without auth such as vLLM-Omni or SGLang), in the environment the MCP "
    "host starts sora-mcp with; or start the server with `sora-mcp serve --backend emulator` to try everything "
    "locally without a key."
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
        max_length=MAX_ID_LENGTH,
        description="Id of the video exactly as generate_video or list_videos returned it (servers mint their "
        "own: 'video_68d7...', 'video-12', long base64 ids from gateways).",
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
Variant = Annotated[
    Literal["video", "thumbnail", "spritesheet"],
    Field(description="video (MP4), thumbnail (an image) or spritesheet (an image grid of frames)."),
]
DryRun = Annotated[
    bool, Field(description="Only price it: return the estimate and the spending limits' state; nothing is sent.")
]
ConfirmCost = Annotated[
    float | None,
    Field(
        ge=0,
        le=100_000,
        description="Only when a call was refused because the user must approve its cost and this client cannot ask "
        "them: once the user agreed, call again with this set to the estimate the refusal stated.",
    ),
]


class ToolTexts:
    """What the tool schemas say about this server's settings, written once: the signatures below use
    these texts, and the packaged listing (``_listing``) is filled in with them at start."""

    def __init__(self, settings: Settings) -> None:
        self.wait_cap = max(settings.wait_timeout, 1.0)
        self.timeout_seconds = (
            f"Longest this call blocks (capped at {self.wait_cap:g}s so it returns before client timeouts). "
            "If the job is still running then, call wait_for_video again."
        )
        self.model = (
            f"Model (or Azure deployment) to use; default {settings.model!r}. Known models: {describe_models()} "
            "Other servers' models pass through unchecked."
        )
        self.seconds = f"Duration in seconds (`model` says what each accepts). Default {settings.seconds}."
        self.size = (
            f"WIDTHxHEIGHT, e.g. 720x1280 (portrait) or 1280x720; default {settings.size}. "
            "See `model` for what each model accepts."
        )
        self.generate_new_job = _new_job_text(settings, "generate_video", "same prompt, settings and image")
        self.remix_new_job = _new_job_text(settings, "remix_video", "same video and prompt")

    def patch(self) -> Patch:
        """Where each text sits in the listing: tool, input property, schema keys."""
        return {
            "wait_for_video": {"timeout_seconds": {"description": self.timeout_seconds, "default": self.wait_cap}},
            "generate_video": {
                "model": {"description": self.model},
                "seconds": {"description": self.seconds},
                "size": {"description": self.size},
                "new_job": {"description": self.generate_new_job},
            },
            "remix_video": {"new_job": {"description": self.remix_new_job}},
        }


def _new_job_text(settings: Settings, tool: str, same: str) -> str:
    return (
        f"Start a new job even though an identical {tool} call ({same}) started one in the last "
        f"{settings.dedupe_window / 60:g} minutes; without it that job is returned (reused=true) and nothing more "
        "is spent."
    )


def _flowing(docstring: str) -> str:
    """A docstring as the text a model reads: dedented, paragraphs kept, lines joined."""
    paragraphs = inspect.cleandoc(docstring).split("\n\n")
    return "\n\n".join(" ".join(line.strip() for line in paragraph.splitlines()) for paragraph in paragraphs)


class SoraMCPServer(MCPServer[Runtime]):
    """MCPServer whose resource list is the output directory, read fresh on every request."""

    def __init__(
        self,
        settings: Settings,
        *,
        http_client: httpx2.AsyncClient | None = None,
        listings: Listings | Literal["installed"] | None = "installed",
    ) -> None:
        self.sora_settings = settings
        self.texts = ToolTexts(settings)
        self.storage = LocalStorage(settings.output_dir)
        self.library = LocalLibrary(self.storage)
        self.shared_runtime: Runtime | None = None
        self._http_client = http_client
        self._listings = Listings(state_dir=settings.state_dir) if listings == "installed" else listings
        self._listing = self._listings.load() if self._listings is not None else None
        self._listed: list[MCPTool] | None = None
        self._unbuilt: list[tuple[str, Callable[[], None]]] = []  # (name, hand it to the SDK)
        self.tools_built = False
        super().__init__(
            name="sora-mcp",
            title="Sora video generation",
            description="Generate, follow, download and manage AI videos through the /v1/videos API.",
            instructions=INSTRUCTIONS,
            version=__version__,
            lifespan=self._lifespan,
        )
        self.subscriptions = LegacySubscriptions()
        advertise_resource_changes(self, self.subscriptions)

    def add_tool(
        self,
        fn: Callable[..., Any],
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        annotations: ToolAnnotations | None = None,
        icons: list[Icon] | None = None,
        meta: dict[str, Any] | None = None,
        structured_output: bool | None = None,
    ) -> None:
        """``MCPServer.add_tool`` (and so ``@tool()``), deferred to the first call (or a listing ``tools.json``
        cannot answer: see ``_listing``). The default description is the docstring as flowing text: what
        the model reads carries no source indentation or hard line breaks."""
        add = functools.partial(
            super().add_tool,
            fn=fn,
            name=name,
            title=title,
            description=description if description is not None else _flowing(fn.__doc__ or ""),
            annotations=annotations,
            icons=icons,
            meta=meta,
            structured_output=structured_output,
        )
        self._listed = None
        if self.tools_built:
            add()
        else:
            self._unbuilt.append((name or fn.__name__, add))

    def build_tools(self) -> None:
        """Hand every tool to the SDK: it builds their argument models and schemas (once). Until then the
        SDK's Mcp-Param header check (Streamable HTTP, 2026-07-28) finds no schema and checks nothing,
        which is also what it concludes from ours: none declares an ``x-mcp-header``."""
        if self.tools_built:
            return
        started = time.perf_counter()
        for _, add in self._unbuilt:
            add()
        log.debug("%d tools built in %.0f ms", len(self._unbuilt), (time.perf_counter() - started) * 1000)
        self._unbuilt.clear()
        self.tools_built = True

    async def built_listing(self) -> list[MCPTool]:
        """The SDK's own listing of the tools (building them if need be)."""
        self.build_tools()
        return await super().list_tools()

    async def list_tools(self) -> list[MCPTool]:
        if self._listed is None and not self.tools_built and self._listing is not None:
            self._listed = self._listing.tools_for([name for name, _ in self._unbuilt], self.texts.patch())
        if self._listed is not None:
            return list(self._listed)
        listed = await self.built_listing()
        if self._listing is None and self._listings is not None:  # none fits the installed versions: keep ours
            self._listing = Listing.of(listed, self.texts.patch())
            await self._listings.keep(self._listing)
        return listed

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Runtime, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        self.build_tools()
        return await super().call_tool(name=name, arguments=arguments, context=context)

    def remove_tool(self, name: str) -> None:
        self.build_tools()
        self._listed = None
        super().remove_tool(name=name)

    @asynccontextmanager
    async def open_runtime(self) -> AsyncIterator[Runtime]:
        self.storage.remove_stale_parts()
        async with open_client(self.sora_settings, http_client=self._http_client) as client:
            # The cap a wait enforces is the one wait_for_video's schema states.
            yield Runtime(client=client, library=self.library, wait_cap=self.texts.wait_cap)

    @asynccontextmanager
    async def _lifespan(self, _server: MCPServer[Runtime]) -> AsyncIterator[Runtime]:
        # HTTP transports open one runtime for the whole process (SSE would otherwise open one per
        # connection); stdio and in-process clients open their own.
        if self.shared_runtime is not None:
            yield self.shared_runtime
            return
        async with self.open_runtime() as runtime:
            yield runtime

    async def read_resource(
        self, uri: AnyUrl | str, context: Context[Runtime, Any] | None = None
    ) -> Iterable[ReadResourceContents] | InputRequiredResult:
        """As MCPServer's, but a downloaded asset is served with the type of the file on disk: the
        templates declare the API's usual types, and a server may have sent another (a WebP spritesheet)."""
        contents = await super().read_resource(uri=uri, context=context)
        if isinstance(contents, InputRequiredResult):
            return contents
        asset = await self.library.at_uri(str(uri))
        if asset is None:
            return contents
        return [dataclasses.replace(content, mime_type=asset.content_type) for content in contents]

    async def list_resources(self) -> list[MCPResource]:
        return [*await super().list_resources(), *await listed_resources(self.library)]

    async def announce(self, ctx: Context[Runtime, Any], uris: list[str]) -> None:
        """Tell both protocol eras that the resource list (and these resources) changed."""
        await ctx.notify_resources_changed()
        for uri in uris:
            await ctx.notify_resource_updated(uri=uri)
            await self.subscriptions.notify(uri)
        if ctx.protocol_version != "2026-07-28":
            try:
                await ctx.session.send_resource_list_changed()
            except MCPError:  # no back-channel on this transport: the listen stream already carries it
                log.debug("resource list_changed not sent: no back-channel")


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


def create_server(
    settings: Settings,
    *,
    http_client: httpx2.AsyncClient | None = None,
    spend_clock: Clock | None = None,
    listings: Listings | Literal["installed"] | None = "installed",
) -> SoraMCPServer:
    """Build the MCP server. ``http_client``, ``spend_clock`` (the spend ledger's "now") and ``listings``
    (None: list what the SDK builds) are injected by tests; the runtime opens on connect."""
    mcp = SoraMCPServer(settings, http_client=http_client, listings=listings)
    _register_read_tools(mcp)
    if not settings.read_only:
        _register_write_tools(mcp, SpendGuard(settings, clock=spend_clock))
    register_resources(mcp, mcp.library)
    register_prompts(mcp, settings.model)
    register_completions(mcp, mcp.library)
    register_player(mcp, settings, _actionable)
    return mcp


def _register_read_tools(mcp: SoraMCPServer) -> None:
    texts = mcp.texts

    @mcp.tool(title="Get a video's status", annotations=READ_ONLY, meta=player_meta())
    @_actionable
    async def get_video_status(video_id: VideoId, ctx: Context[Runtime, Any]) -> VideoInfo:
        """Look up a video job once: its status, progress, error, timestamps and expiry.
        Use wait_for_video instead when you want to follow a job until it finishes."""
        return await tools.get_video_status(_runtime(ctx), video_id)

    @mcp.tool(title="Wait for a video to finish", annotations=READ_ONLY, meta=player_meta())
    @_actionable
    async def wait_for_video(
        video_id: VideoId,
        ctx: Context[Runtime, Any],
        timeout_seconds: Annotated[
            float,
            Field(gt=0, le=3600, description=texts.timeout_seconds),
        ] = texts.wait_cap,
    ) -> WaitInfo:
        """Follow a video job until it completes or fails, reporting progress as it renders.
        Returns early (timed_out=true) when the time is up: the job keeps running, call again to resume."""

        async def report(progress: float, message: str) -> None:
            await ctx.report_progress(progress=progress, total=100.0, message=message)

        return await tools.wait_for_video(_runtime(ctx), video_id, timeout_seconds, report)

    @mcp.tool(title="List videos", annotations=READ_ONLY)
    @_actionable
    async def list_videos(
        ctx: Context[Runtime, Any],
        limit: Annotated[int, Field(ge=1, le=100, description="How many videos on this page.")] = 20,
        after: Annotated[
            str | None,
            Field(max_length=MAX_ID_LENGTH, description="Cursor: the next_after value of the previous page."),
        ] = None,
        order: Annotated[Literal["asc", "desc"], Field(description="desc: newest first; asc: oldest first.")] = "desc",
    ) -> VideoPage:
        """List the account's recent video jobs, one page at a time (newest first by default)."""
        return await tools.list_videos(_runtime(ctx), limit, after, order)

    @mcp.tool(title="Download a video or its images", annotations=SAVES, meta=player_meta())
    @_actionable
    async def download_video(
        video_id: VideoId, ctx: Context[Runtime, Any], variant: Variant = "video"
    ) -> Annotated[CallToolResult, DownloadInfo]:
        """Save a completed video's MP4, thumbnail or spritesheet into the output directory and return a
        resource link to it. Images are also shown inline so you can see what was made."""
        return await tools.download_video(_runtime(ctx), video_id, variant, lambda uris: mcp.announce(ctx, uris))


def _register_write_tools(mcp: SoraMCPServer, guard: SpendGuard) -> None:
    texts = mcp.texts
    plan_generate, approve_generate = guard.generate_resolvers()
    plan_remix, approve_remix = guard.remix_resolvers()

    @mcp.tool(title="Generate a video", annotations=CREATES, meta=player_meta())
    @_actionable
    async def generate_video(
        prompt: Prompt,
        ctx: Context[Runtime, Any],
        model: Annotated[str | None, Field(max_length=256, description=texts.model)] = None,
        seconds: Annotated[int | None, Field(ge=1, le=120, description=texts.seconds)] = None,
        size: Annotated[str | None, Field(pattern=r"^[1-9][0-9]{1,4}x[1-9][0-9]{1,4}$", description=texts.size)] = None,
        input_reference: Annotated[
            str | None,
            Field(
                max_length=MAX_DATA_URL_CHARS,
                description="Optional first frame: a local image path inside the allowed input folders, an "
                "https URL or a data: URL (PNG, JPEG or WebP). It must match `size` unless fit_reference is set.",
            ),
        ] = None,
        fit_reference: Annotated[
            Literal["none", "crop", "pad"],
            Field(description="When the reference image's size differs: crop to fill, pad (letterbox), or refuse."),
        ] = "none",
        dry_run: DryRun = False,
        new_job: Annotated[bool, Field(description=texts.generate_new_job)] = False,
        confirm_cost_usd: ConfirmCost = None,
        *,
        plan: Annotated[Planned, plan_generate],
        approval: Annotated[ElicitationResult[CostApproval], approve_generate],
    ) -> CreateInfo:
        """Start rendering a new video from a text prompt (optionally from a first-frame image) and return at
        once with its id. This spends money on a real server: one call, one job. It is priced first and
        refused (saying why) over the configured spending limits; above a threshold the user is asked to
        approve the cost. Calling again with the same arguments returns the same job (reused=true) instead
        of paying twice. Follow it with wait_for_video, then download_video."""
        return await tools.generate_video(_runtime(ctx), guard, plan, approval)

    @mcp.tool(title="Remix a video", annotations=CREATES, meta=player_meta())
    @_actionable
    async def remix_video(
        video_id: VideoId,
        prompt: Prompt,
        ctx: Context[Runtime, Any],
        dry_run: DryRun = False,
        new_job: Annotated[bool, Field(description=texts.remix_new_job)] = False,
        confirm_cost_usd: ConfirmCost = None,
        *,
        plan: Annotated[Planned, plan_remix],
        approval: Annotated[ElicitationResult[CostApproval], approve_remix],
    ) -> CreateInfo:
        """Start a new job that changes a completed video according to the prompt (one focused change works
        best). Returns at once with the new video's id; follow it with wait_for_video. It costs what its
        source video cost, within the same spending limits and approval as generate_video."""
        return await tools.remix_video(_runtime(ctx), guard, plan, approval)

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
        return await tools.delete_video(
            _runtime(ctx), video_id, delete_local_files, lambda uris: mcp.announce(ctx, uris)
        )

"""Resources (the output directory's assets) and argument completion."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError
from mcp.server.mcpserver.resources.templates import ResourceSecurity
from mcp.types import (
    Completion,
    CompletionArgument,
    CompletionContext,
    PromptReference,
    Resource,
    ResourceTemplateReference,
)

from .._assets import ASSETS, AssetKind
from .._errors import SoraError
from ._library import LocalLibrary, asset_template
from ._prompts import PROMPT_CHOICES

__all__ = ["MAX_RESOURCE_BYTES", "listed_resources", "register_completions", "register_resources"]

MAX_RESOURCE_BYTES = 16 * 1024 * 1024  # one resources/read answer; larger files are refused by path
MAX_COMPLETIONS = 100  # the spec's cap per answer
# Ids are opaque handles, never paths (files are named by ``local_stem``): the SDK's path checks
# would refuse legitimate ids (LiteLLM's base64 holds "/"), and ``check_id`` validates them instead.
ID_SECURITY = ResourceSecurity(exempt_params=frozenset({"video_id"}))


def register_resources(mcp: MCPServer[Any], library: LocalLibrary) -> None:
    for kind, spec in ASSETS.items():
        mcp.resource(
            uri=asset_template(kind),
            name=f"downloaded-{kind}" if kind != "metadata" else "video-metadata",
            title=f"Downloaded {kind}" if kind != "metadata" else "Video metadata",
            description=spec.description,
            mime_type=spec.content_type,
            security=ID_SECURITY,
        )(_reader(library, kind))


def _reader(library: LocalLibrary, kind: AssetKind) -> Callable[[str], Awaitable[bytes | str]]:
    async def read(video_id: str) -> bytes | str:
        try:
            asset = await library.find(video_id, kind)
        except SoraError as exc:
            raise ResourceError(str(exc)) from exc
        if asset is None:
            raise ResourceError(
                f"No downloaded {kind} for {video_id} in the output directory. "
                f"Call download_video with video_id={video_id!r}"
                + (f" and variant={kind!r}" if kind not in ("video", "metadata") else "")
                + " first."
            )
        if asset.size > MAX_RESOURCE_BYTES:
            raise ResourceError(
                f"{asset.file.location} is {asset.size:,} bytes, more than the {MAX_RESOURCE_BYTES:,} one resource "
                "read may return. Open the file at that path, or read it in chunks with the read_asset_chunk tool."
            )
        data = await library.read(asset, length=MAX_RESOURCE_BYTES)
        return data.decode("utf-8") if kind == "metadata" else data

    return read


async def listed_resources(library: LocalLibrary) -> list[Resource]:
    return [
        Resource(
            uri=asset.uri,
            name=asset.name,
            title=f"{asset.kind.capitalize()} of {asset.video_id}",
            description=f"Downloaded {asset.kind} of video {asset.video_id}.",
            mime_type=asset.content_type,
            size=asset.size,
        )
        for asset in await library.assets()
    ]


def register_completions(mcp: MCPServer[Any], library: LocalLibrary) -> None:
    kinds_by_template = {asset_template(kind): kind for kind in ASSETS}

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
            choices = list(dict.fromkeys(asset.video_id for asset in await library.assets() if asset.kind == kind))
        elif isinstance(ref, PromptReference) and ref.name == "write_video_prompt":
            choices = list(PROMPT_CHOICES.get(argument.name, ()))
        else:
            return None
        matches = [choice for choice in choices if choice.startswith(argument.value)]
        return Completion(values=matches[:MAX_COMPLETIONS], total=len(matches), has_more=len(matches) > MAX_COMPLETIONS)

"""The tool listing, written when the package is made instead of computed at every start.

Building the SDK's tools is most of what ``create_server`` costs: for each tool pydantic builds an
argument model, its JSON schema and the output schema (about 45 ms for our ten, on a start-up of about
a second). A host starting the server needs none of that before the first call: it needs the listing.
``tools.json`` holds what the SDK lists for our tools, written by

    uv run python scripts/write_tool_listing.py

The values that depend on settings (the defaults the descriptions name, ``wait_for_video``'s default)
are null in the file and filled in at start from the server's ``ToolTexts``, the same texts its
signatures use. The SDK's tools are built at the first call (``SoraMCPServer.build_tools``).

A listing is used only if the SDK and pydantic that wrote it are the ones installed (they shape the
schemas). An installation that resolved other versions builds its tools at its first listing, as the
SDK would, and keeps what it listed in its state folder for its next starts (``Listings``).
``tests/server/test_listing.py`` checks that the file is current and that what it lists equals the
SDK's listing under several settings.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.metadata
import json
import logging
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic
from mcp.types import Tool as MCPTool

from .._files import write_atomically

__all__ = ["LISTING_FILE", "Listing", "Listings", "Patch", "installed_versions"]

log = logging.getLogger("sora_mcp.server")

LISTING_FILE = Path(__file__).with_name("tools.json")

# tool name -> input property -> the schema keys settings decide, with their values
Patch = Mapping[str, Mapping[str, Mapping[str, Any]]]


def installed_versions() -> dict[str, str]:
    """The versions that shape the listed schemas."""
    return {"mcp": importlib.metadata.version("mcp"), "pydantic": pydantic.VERSION}


@dataclass(frozen=True)
class Listing:
    written_by: dict[str, str]
    tools: dict[str, dict[str, Any]]  # by name, as the SDK lists them, with the patched values null

    @classmethod
    def parse(cls, data: bytes) -> Listing:
        document = json.loads(data)
        return cls(written_by=dict(document["written_by"]), tools={tool["name"]: tool for tool in document["tools"]})

    @classmethod
    def of(cls, tools: Iterable[MCPTool], patch: Patch) -> Listing:
        """The listing of these tools (the SDK's own), with what ``patch`` fills in left null."""
        by_name: dict[str, dict[str, Any]] = {}
        for tool in tools:
            data = tool.model_dump(mode="json", by_alias=True, exclude_none=True)
            for prop, values in patch.get(tool.name, {}).items():
                data["inputSchema"]["properties"][prop].update(dict.fromkeys(values))
            by_name[tool.name] = data
        return cls(written_by=installed_versions(), tools=by_name)

    def tools_for(self, names: Sequence[str], patch: Patch) -> list[MCPTool] | None:
        """These tools as listed, settings filled in; None when this listing lacks one."""
        missing = [name for name in names if name not in self.tools]
        if missing:
            log.debug("tool listing lacks %s: building the tools", missing)
            return None
        listed = []
        for name in names:
            data = copy.deepcopy(self.tools[name])
            for prop, values in patch.get(name, {}).items():
                data["inputSchema"]["properties"][prop].update(values)
            listed.append(MCPTool.model_validate(data))
        return listed

    def dumps(self) -> str:
        return json.dumps({"written_by": self.written_by, "tools": list(self.tools.values())}, indent=1) + "\n"


@dataclass(frozen=True)
class Listings:
    """Where a server finds its listing: the packaged file when the installed versions wrote it, else
    the copy this installation wrote into its state folder (named after the packaged file's digest,
    so a new release never reads an old copy)."""

    packaged: Path = LISTING_FILE
    state_dir: Path | None = None

    def load(self) -> Listing | None:
        versions = installed_versions()
        try:
            data = self.packaged.read_bytes()
            packaged = Listing.parse(data)
        except (OSError, ValueError, KeyError, TypeError) as exc:  # a damaged install: build the tools instead
            log.warning("tool listing %s unreadable (%s): the tools are built at start instead", self.packaged, exc)
            return None
        if packaged.written_by == versions:
            return packaged
        kept = self._kept(data)
        try:
            listing = Listing.parse(kept.read_bytes()) if kept is not None else None
        except (OSError, ValueError, KeyError, TypeError):
            listing = None
        if listing is not None and listing.written_by == versions:
            return listing
        log.debug("tool listing written by %s, installed %s: building the tools", packaged.written_by, versions)
        return None

    async def keep(self, listing: Listing) -> None:
        """Keep what this installation listed for its next starts (best effort: a start never fails on it)."""
        try:
            kept = self._kept(self.packaged.read_bytes())
            if kept is None:
                return
            kept.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            await write_atomically(kept, _once(listing.dumps().encode()), None)
        except OSError as exc:
            log.debug("tool listing not kept (%s)", exc)

    def _kept(self, packaged: bytes) -> Path | None:
        if self.state_dir is None:
            return None
        return self.state_dir / f"tools-{hashlib.sha256(packaged).hexdigest()[:16]}.json"


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def written_listing() -> Listing:
    """The listing of every tool, from the SDK's own tools (what ``tools.json`` must hold)."""
    from .._config import Settings
    from ._app import create_server

    server = create_server(Settings(read_only=False), listings=None)
    return Listing.of(await server.built_listing(), server.texts.patch())

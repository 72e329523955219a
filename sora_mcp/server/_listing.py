"""The tool listing, written when the package is made instead of computed at every start.

Building the SDK's tools is most of what ``create_server`` costs: for each tool pydantic builds an
argument model, its JSON schema and the output schema (about 45 ms for our ten, on a start-up of about
a second). A host starting the server needs none of that before the first call: it needs the listing.
``tools.json`` holds what the SDK lists for our tools, written by

    uv run python scripts/write_tool_listing.py

The values that depend on settings (the defaults the descriptions name, ``wait_for_video``'s default)
are null in the file and filled in at start from the server's ``ToolTexts``, the same texts its
signatures use. The SDK's tools are built at the first call (``SoraMCPServer.build_tools``).

The file is used only if the SDK and pydantic that wrote it are the ones installed (they shape the
schemas); otherwise the tools are built at the first listing, as the SDK would. ``tests/server/
test_listing.py`` checks that the file is current and that what it lists equals the SDK's listing under
several settings.
"""

from __future__ import annotations

import copy
import importlib.metadata
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic
from mcp.types import Tool as MCPTool

__all__ = ["LISTING_FILE", "Listing", "Patch", "installed_versions"]

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
    def read(cls, path: Path = LISTING_FILE) -> Listing | None:
        try:
            data = json.loads(path.read_bytes())
            return cls(written_by=dict(data["written_by"]), tools={tool["name"]: tool for tool in data["tools"]})
        except (OSError, ValueError, KeyError, TypeError) as exc:  # a damaged install: build the tools instead
            log.warning("tool listing %s unreadable (%s): the tools are built at start instead", path, exc)
            return None

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
        """These tools as listed, settings filled in; None when this listing cannot stand for them."""
        if self.written_by != installed_versions():
            log.debug(
                "tool listing written by %s, installed %s: building the tools", self.written_by, installed_versions()
            )
            return None
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


async def written_listing() -> Listing:
    """The listing of every tool, from the SDK's own tools (what ``tools.json`` must hold)."""
    from .._config import Settings
    from ._app import create_server

    server = create_server(Settings(read_only=False))
    return Listing.of(await server.built_listing(), server.texts.patch())

"""In-process MCP fixtures: the real server object driven by the SDK's Client, in both protocol eras."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest
from mcp import Client

from sora_mcp import Settings
from sora_mcp.server import SoraMCPServer, create_server

# The tool names are a public contract (hosts' allow-lists, manifests, prompts refer to them).
TOOL_NAMES = (
    "generate_video",
    "remix_video",
    "get_video_status",
    "wait_for_video",
    "download_video",
    "list_videos",
    "delete_video",
)
# The player's app-only tools (_meta.ui.visibility ["app"]): listed, but MCP Apps hosts keep them from the model.
APP_TOOL_NAMES = ("player_status", "player_gallery", "read_asset_chunk")
# A clip for a model the catalog does not know, small enough to render in a few milliseconds.
SMALL: dict[str, Any] = {"model": "test-model", "size": "160x96", "seconds": 1}
ERAS = ["auto", "legacy"]  # auto: 2026-07-28 stateless; legacy: the 2025-11-25 initialize handshake


@pytest.fixture
def server(settings: Settings, http_client: httpx2.AsyncClient) -> SoraMCPServer:
    return create_server(settings, http_client=http_client)


@pytest.fixture(params=ERAS)
def era(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def mcp_client(server: SoraMCPServer, era: str) -> AsyncIterator[Client]:
    async with Client(server, mode=era) as client:
        yield client


def model_tools(tools: list[Any]) -> set[str]:
    """The tools a host that speaks MCP Apps shows the model: all but the app-only ones."""
    return {tool.name for tool in tools if "model" in ((tool.meta or {}).get("ui") or {}).get("visibility", ["model"])}


def structured(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    data = result.structured_content
    assert isinstance(data, dict)
    return data


def error_text(result: Any) -> str:
    assert result.is_error, result.structured_content
    return "\n".join(block.text for block in result.content if getattr(block, "type", None) == "text")

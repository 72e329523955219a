"""The private SDK parts ``sora_mcp/server/_sdk.py`` relies on still work, on every transport.

Handshake-era (2025-11-25) clients must be offered ``resources.listChanged`` and
``resources.subscribe``, subscribing must work, and a subscription must end with its connection.
If an SDK upgrade changes ``_lowlevel_server``, ``create_initialization_options`` or
``ServerSession._connection``, these tests fail."""

from __future__ import annotations

import sys
import warnings
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.shared.exceptions import MCPError
from mcp.types import ResourceUpdatedNotification

from sora_mcp import Settings
from sora_mcp.server import SoraMCPServer, create_server, serving_http
from tests.server.conftest import SMALL, structured
from tests.server.test_transports import child_env, serve_args

pytestmark = pytest.mark.anyio


async def _check_legacy_session(client: Client, server: SoraMCPServer | None) -> str:
    """Capabilities offered, a subscription taken (and counted when the server is in this process)."""
    assert client.protocol_version == "2025-11-25"
    resources = client.server_capabilities.resources
    assert resources is not None and resources.list_changed and resources.subscribe
    uri = "sora://videos/video_seam/video"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the SDK warns that subscribe is a handshake-era method
        await client.subscribe_resource(uri)
        with pytest.raises(MCPError):
            await client.subscribe_resource("file:///etc/passwd")  # only our own resources
    if server is not None:
        assert server.subscriptions.count() == 1
    return uri


async def _until_forgotten(server: SoraMCPServer) -> None:
    with anyio.fail_after(5):
        # The connection's exit stack runs as the transport closes; the SDK offers no event for it.
        while server.subscriptions.count():  # noqa: ASYNC110
            await anyio.sleep(0.01)


async def test_in_process(settings: Settings, http_client: httpx2.AsyncClient) -> None:
    server = create_server(settings, http_client=http_client)
    async with Client(server, mode="legacy") as client:
        await _check_legacy_session(client, server)
    await _until_forgotten(server)


@asynccontextmanager
async def _served(settings: Settings, transport: str) -> AsyncIterator[tuple[SoraMCPServer, str]]:
    settings = settings.model_copy(update={"transport": transport, "port": 0, "backend": "emulator"})
    server = create_server(settings)
    async with serving_http(server, settings) as url:
        yield server, url


HTTP_CLIENTS: dict[str, Callable[[str], Any]] = {"streamable-http": lambda url: url, "sse": sse_client}


@pytest.mark.parametrize("transport", ["streamable-http", "sse"])
async def test_http_transports(settings: Settings, transport: str) -> None:
    async with _served(settings, transport) as (server, url):
        async with Client(HTTP_CLIENTS[transport](url), mode="legacy") as client:
            await _check_legacy_session(client, server)
        await _until_forgotten(server)


async def test_stdio_subprocess(tmp_path: Path) -> None:
    """Over stdio the server is another process: the subscription must deliver the update."""
    updated = anyio.Event()

    async def on_message(message: Any) -> None:
        if isinstance(message, ResourceUpdatedNotification):
            updated.set()

    params = StdioServerParameters(command=sys.executable, args=serve_args(tmp_path), env=child_env())
    async with Client(params, mode="legacy", message_handler=on_message) as client:
        await _check_legacy_session(client, None)
        created = structured(await client.call_tool("generate_video", {"prompt": "seam", **SMALL}))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            await client.subscribe_resource(f"sora://videos/{created['id']}/video")
        with anyio.fail_after(30):
            await client.call_tool("wait_for_video", {"video_id": created["id"]})
            await client.call_tool("download_video", {"video_id": created["id"]})
            await updated.wait()

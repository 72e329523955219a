"""`sora-mcp serve --backend emulator` as a real subprocess, driven by the official mcp client over
stdio, SSE and Streamable HTTP, in both protocol eras; and the HTTP transports' refusals."""

from __future__ import annotations

import base64
import os
import re
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from anyio.abc import Process
from mcp import Client, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import BlobResourceContents, ResourceLink

from sora_mcp import ConfigurationError, Settings
from sora_mcp.cli._demo import emulator_server_args
from sora_mcp.server._transport import check_http_settings, security_settings
from tests.server.conftest import structured

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

READY = re.compile(rb"serving (\S+) on (http://\S+)")


def serve_args(output_dir: Path, *extra: str) -> list[str]:
    return [*emulator_server_args(output_dir, 0.3), *extra]


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SORA_MCP_", "OPENAI_"))}
    env.update(extra)
    return env


async def until_serving(process: Process) -> str:
    """The endpoint URL a starting server prints on stderr once it listens."""
    assert process.stderr is not None
    buffer = b""
    with anyio.fail_after(30):
        while (match := READY.search(buffer)) is None:
            buffer += await process.stderr.receive()
    return match.group(2).decode()


@asynccontextmanager
async def http_server(output_dir: Path, *extra: str, env: dict[str, str] | None = None) -> AsyncIterator[str]:
    """Start the server on a free port; yield its endpoint URL once it is listening."""
    args = [sys.executable, *serve_args(output_dir, "--port", "0", *extra)]
    process: Process = await anyio.open_process(args, env=env or child_env())
    try:
        url = await until_serving(process)
        async with anyio.create_task_group() as tg:
            tg.start_soon(_drain, process)
            yield url
            tg.cancel_scope.cancel()
    finally:
        process.terminate()
        with anyio.fail_after(10):
            await process.wait()


async def _drain(process: Process) -> None:
    assert process.stderr is not None
    async for _chunk in process.stderr:
        pass


async def full_flow(client: Client, output_dir: Path) -> None:
    """generate -> wait -> download -> read the resource -> delete, as a host would."""
    tools = {tool.name for tool in (await client.list_tools()).tools}
    assert {"generate_video", "wait_for_video", "download_video", "delete_video"} <= tools
    created = structured(
        await client.call_tool(
            "generate_video", {"prompt": "a paper boat in rain", "model": "t", "size": "128x96", "seconds": 1}
        )
    )
    reported: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reported.append(progress)

    with anyio.fail_after(30):
        done = structured(
            await client.call_tool(
                "wait_for_video", {"video_id": created["id"], "timeout_seconds": 25}, progress_callback=on_progress
            )
        )
    assert done["status"] == "completed" and reported and reported[-1] == 100.0
    result = await client.call_tool("download_video", {"video_id": created["id"]})
    saved = Path(structured(result)["path"])
    assert saved.parent == output_dir.resolve() and saved.stat().st_size > 1000
    [link] = [block for block in result.content if isinstance(block, ResourceLink)]
    [contents] = (await client.read_resource(str(link.uri))).contents
    assert isinstance(contents, BlobResourceContents)
    assert base64.b64decode(contents.blob) == saved.read_bytes()
    deleted = structured(
        await client.call_tool("delete_video", {"video_id": created["id"], "delete_local_files": True})
    )
    assert deleted["deleted"] is True and not saved.exists()


@pytest.mark.parametrize("era", ["auto", "legacy"])
async def test_stdio(tmp_path: Path, era: str) -> None:
    params = StdioServerParameters(command=sys.executable, args=serve_args(tmp_path), env=child_env())
    async with Client(params, mode=era) as client:
        assert client.protocol_version == ("2026-07-28" if era == "auto" else "2025-11-25")
        await full_flow(client, tmp_path)


@pytest.mark.parametrize("era", ["auto", "legacy"])
async def test_streamable_http(tmp_path: Path, era: str) -> None:
    async with http_server(tmp_path, "--transport", "streamable-http") as url:
        assert url.endswith("/mcp")
        async with Client(url, mode=era) as client:
            await full_flow(client, tmp_path)


@pytest.mark.parametrize("era", ["auto", "legacy"])
async def test_sse(tmp_path: Path, era: str) -> None:
    async with http_server(tmp_path, "--transport", "sse") as url:
        assert url.endswith("/sse")
        async with Client(sse_client(url), mode=era) as client:
            await full_flow(client, tmp_path)


INITIALIZE: dict[str, Any] = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
MCP_HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}


async def test_foreign_origin_and_rebinding_host_are_refused(tmp_path: Path) -> None:
    async with http_server(tmp_path, "--transport", "streamable-http") as url, httpx2.AsyncClient() as http:
        evil_origin = await http.post(url, json=INITIALIZE, headers={**MCP_HEADERS, "origin": "http://evil.example"})
        assert evil_origin.status_code == 403
        rebinding = await http.post(url, json=INITIALIZE, headers={**MCP_HEADERS, "host": "evil.example:80"})
        assert rebinding.status_code == 421
        local_origin = await http.post(url, json=INITIALIZE, headers={**MCP_HEADERS, "origin": "http://localhost:3000"})
        assert local_origin.status_code == 200


@pytest.mark.parametrize("transport", ["streamable-http", "sse"])
async def test_bearer_token_is_required_when_set(tmp_path: Path, transport: str) -> None:
    token = "tok-" + "x" * 32
    async with http_server(tmp_path, "--transport", transport, env=child_env(SORA_MCP_AUTH_TOKEN=token)) as url:
        async with httpx2.AsyncClient() as http:
            for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": token}):
                refused = await http.post(url, json=INITIALIZE, headers={**MCP_HEADERS, **headers})
                assert refused.status_code == 401
                assert refused.headers["www-authenticate"].startswith("Bearer")
        authorized = {"authorization": f"Bearer {token}"}
        async with httpx2.AsyncClient(headers=authorized) as http:
            if transport == "sse":
                target: Any = sse_client(url, headers=authorized)
            else:
                target = streamable_http_client(url, http_client=http)
            async with Client(target) as client:
                assert "list_videos" in {tool.name for tool in (await client.list_tools()).tools}


async def test_exposed_bind_without_token_does_not_start(tmp_path: Path) -> None:
    result = await anyio.run_process(
        [sys.executable, *serve_args(tmp_path, "--transport", "streamable-http", "--host", "0.0.0.0")],
        env=child_env(),
        check=False,
    )
    assert result.returncode == 2
    assert b"bearer token" in result.stderr and b"allowed browser origins" in result.stderr


@pytest.mark.parametrize(
    ("overrides", "missing"),
    [
        ({"host": "0.0.0.0"}, ["a bearer token", "the allowed browser origins", "the Host names clients use"]),
        ({"host": "192.168.1.5", "auth_token": "t" * 32}, ["the allowed browser origins"]),
        (
            {"host": "::", "auth_token": "t" * 32, "allowed_origins": ["https://app.example"]},
            ["the Host names clients use"],
        ),
    ],
)
def test_an_exposed_bind_names_everything_it_lacks(overrides: dict[str, Any], missing: list[str]) -> None:
    settings = Settings(**overrides)
    with pytest.raises(ConfigurationError) as refused:
        check_http_settings(settings)
    said = str(refused.value)
    assert said.startswith(f"Binding to {settings.host} exposes the server beyond this machine, which needs ")
    assert [phrase for phrase in ALL_MISSING if phrase in said] == missing
    assert said.endswith("Or keep the default --host 127.0.0.1.")


ALL_MISSING = ["a bearer token", "the allowed browser origins", "the Host names clients use"]


def test_an_exposed_bind_with_everything_it_needs_accepts_its_own_host_and_origins() -> None:
    settings = Settings(
        host="192.168.1.5", auth_token="t" * 32, allowed_origins=["https://app.example"], allowed_hosts=["box:*"]
    )
    check_http_settings(settings)
    security = security_settings(settings)
    assert security.enable_dns_rebinding_protection
    assert {"192.168.1.5:*", "box:*"} <= set(security.allowed_hosts)
    assert "https://app.example" in security.allowed_origins
    wildcard = security_settings(Settings(host="0.0.0.0", allowed_hosts=["box:*"]))
    assert "0.0.0.0:*" not in wildcard.allowed_hosts and "box:*" in wildcard.allowed_hosts

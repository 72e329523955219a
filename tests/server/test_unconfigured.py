"""With no key and no base URL (a fresh install, or a host config that sets nothing), the server
starts and every tool answers with the two ways on: a living server's base URL (plus its key), or
the emulator. Nothing is sent anywhere: there is no default endpoint since 2026-09-24."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters

from sora_mcp import ConfigurationError, MissingBaseURLError, Settings, SoraClient
from sora_mcp.server import create_server
from tests.server.conftest import TOOL_NAMES, error_text, model_tools

pytestmark = pytest.mark.anyio

CALLS: dict[str, dict[str, Any]] = {
    "generate_video": {"prompt": "a cat"},
    "remix_video": {"video_id": "video_1", "prompt": "make it blue"},
    "get_video_status": {"video_id": "video_1"},
    "wait_for_video": {"video_id": "video_1", "timeout_seconds": 1},
    "download_video": {"video_id": "video_1"},
    "list_videos": {},
    "delete_video": {"video_id": "video_1"},
}


def _two_ways_on(text: str) -> None:
    assert "OPENAI_BASE_URL" in text, text
    assert "--backend emulator" in text, text
    assert "2026-09-24" in text, text


def unconfigured(tmp_path: Path) -> Settings:
    return Settings(api_key=None, base_url=None, output_dir=tmp_path / "out", input_roots=[tmp_path])


def test_the_default_base_url_is_unset() -> None:
    assert Settings().base_url is None


async def test_every_tool_says_the_two_ways_on(tmp_path: Path) -> None:
    assert set(CALLS) == set(TOOL_NAMES)
    async with Client(create_server(unconfigured(tmp_path))) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert model_tools(list(tools.values())) == set(TOOL_NAMES), "the server starts with nothing configured"
        for name, arguments in CALLS.items():
            known = set(tools[name].input_schema.get("properties", {}))
            assert set(arguments) <= known, (name, known)
            _two_ways_on(error_text(await client.call_tool(name, arguments)))


async def test_the_client_refuses_before_sending(tmp_path: Path) -> None:
    async with SoraClient(unconfigured(tmp_path)) as client:
        with pytest.raises(MissingBaseURLError) as refused:
            await client.list_videos()
    assert isinstance(refused.value, ConfigurationError)
    _two_ways_on(str(refused.value))


async def test_a_key_without_a_server_says_the_same(tmp_path: Path) -> None:
    keyed = unconfigured(tmp_path).model_copy(update={"api_key": "sk-only-a-key-0000"})
    async with Client(create_server(keyed)) as client:
        text = error_text(await client.call_tool("list_videos", {}))
    _two_ways_on(text)
    assert "sk-only-a-key" not in text


async def test_the_stdio_server_starts_unconfigured(tmp_path: Path) -> None:
    """What a host runs from a config with no env block: it connects, and a tool says what to do."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "sora_mcp", "serve", "--output-dir", str(tmp_path / "out")],
        env={"HOME": str(tmp_path)},
        cwd=str(tmp_path),
    )
    with anyio.fail_after(60):
        async with Client(params) as client:
            assert model_tools((await client.list_tools()).tools) == set(TOOL_NAMES)
            _two_ways_on(error_text(await client.call_tool("list_videos", {})))

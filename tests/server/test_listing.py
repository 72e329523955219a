"""The packaged tool listing (``sora_mcp/server/tools.json``) stands for the SDK's own listing.

The server answers ``tools/list`` from it and builds the SDK's tools at the first call. These tests
check that the file is current, that what it lists is exactly what the SDK lists once the tools are
built, under settings that change the texts, and that the server does without it whenever it cannot
stand for the tools.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.types import Tool as MCPTool

from sora_mcp import Settings
from sora_mcp.server import create_server
from sora_mcp.server._listing import LISTING_FILE, Listings, installed_versions, written_listing
from tests.server.conftest import APP_TOOL_NAMES, TOOL_NAMES, structured

pytestmark = pytest.mark.anyio

# Every setting the tool texts quote, away from its default (and a model name JSON must escape).
OTHER_TEXTS: dict[str, Any] = {
    "model": 'veo-3 "fast" \u00e9',
    "seconds": "8",
    "size": "1280x720",
    "wait_timeout": 12.5,
    "dedupe_window": 0,
}


def dumped(tools: list[MCPTool]) -> list[dict[str, Any]]:
    return [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in tools]


async def test_the_packaged_listing_is_current() -> None:
    written = (await written_listing()).dumps()
    assert LISTING_FILE.read_text(encoding="utf-8") == written, (
        "sora_mcp/server/tools.json is out of date: run `uv run python scripts/write_tool_listing.py`"
    )


def test_no_tool_declares_an_mcp_param_header() -> None:
    """Before the tools are built the SDK's Mcp-Param header check finds no schema and checks nothing;
    that is what it concludes once they are built only while no property declares ``x-mcp-header``."""
    assert "x-mcp-header" not in LISTING_FILE.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "changes",
    [{}, OTHER_TEXTS, {"read_only": True}, {"backend": "emulator"}],
    ids=["defaults", "other texts", "read-only", "emulator"],
)
async def test_the_listing_is_what_the_sdk_lists(settings: Settings, changes: dict[str, Any]) -> None:
    configured = settings.model_copy(update=changes)
    listed = create_server(configured)
    built = create_server(configured, listings=None)

    from_file = await listed.list_tools()
    from_sdk = await built.list_tools()

    assert not listed.tools_built, "listed from tools.json, without building the tools"
    assert built.tools_built
    assert dumped(from_file) == dumped(from_sdk)
    names = [tool.name for tool in from_file]
    expected = set(APP_TOOL_NAMES) | (set(TOOL_NAMES) - {"generate_video", "remix_video", "delete_video"})
    assert set(names) == (expected if configured.read_only else set(TOOL_NAMES) | set(APP_TOOL_NAMES))


async def test_the_texts_follow_the_settings(settings: Settings) -> None:
    tools = {tool.name: tool for tool in await create_server(settings.model_copy(update=OTHER_TEXTS)).list_tools()}
    generate = tools["generate_video"].input_schema["properties"]
    assert "default 'veo-3 \"fast\" \u00e9'" in generate["model"]["description"]
    assert generate["seconds"]["description"].endswith("Default 8.")
    assert "default 1280x720." in generate["size"]["description"]
    assert "in the last 0 minutes" in generate["new_job"]["description"]
    timeout = tools["wait_for_video"].input_schema["properties"]["timeout_seconds"]
    assert timeout["default"] == 12.5
    assert "capped at 12.5s" in timeout["description"]


async def test_the_tools_are_built_at_the_first_call(
    settings: Settings, http_client: httpx2.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    server = create_server(settings, http_client=http_client)
    caplog.set_level(logging.DEBUG, logger="sora_mcp.server")
    async with Client(server) as client:
        listed = (await client.list_tools()).tools
        assert not server.tools_built
        page = structured(await client.call_tool("list_videos", {"limit": 1}))
        assert server.tools_built
        assert page["videos"] == []
        again = (await client.list_tools()).tools
    assert dumped(again) == dumped(listed)
    assert [record.getMessage() for record in caplog.records if "tools built" in record.getMessage()] == [
        next(record.getMessage() for record in caplog.records if record.getMessage().startswith("10 tools built in "))
    ], "built once, all ten"


async def test_other_versions_build_the_tools_once_and_keep_their_listing(settings: Settings, tmp_path: Path) -> None:
    """An installation that resolved another mcp or pydantic than the one that wrote tools.json builds
    its tools at its first listing and keeps that listing in its state folder for its next starts."""
    packaged = json.loads(LISTING_FILE.read_text(encoding="utf-8"))
    other = tmp_path / "tools.json"
    other.write_text(json.dumps({**packaged, "written_by": {**installed_versions(), "mcp": "2.2.9"}}), encoding="utf-8")
    listings = Listings(packaged=other, state_dir=tmp_path / "state")
    expected = dumped(await create_server(settings, listings=None).list_tools())

    first = create_server(settings, listings=listings)
    assert dumped(await first.list_tools()) == expected
    assert first.tools_built, "built: another SDK wrote the packaged file"
    [kept] = (tmp_path / "state").glob("tools-*.json")
    assert json.loads(kept.read_text(encoding="utf-8"))["written_by"] == installed_versions()
    assert [path.name for path in (tmp_path / "state").iterdir()] == [kept.name], "written atomically"

    again = create_server(settings.model_copy(update=OTHER_TEXTS), listings=listings)
    listed = await again.list_tools()
    assert not again.tools_built, "listed from the kept copy"
    assert dumped(listed) == dumped(await create_server(again.sora_settings, listings=None).list_tools())

    other.write_text(other.read_text(encoding="utf-8") + " ", encoding="utf-8")  # a new release: another digest
    third = create_server(settings, listings=listings)
    await third.list_tools()
    assert third.tools_built, "a copy kept for another packaged file is not read"


async def test_a_tool_the_listing_lacks_is_built(settings: Settings) -> None:
    server = create_server(settings)

    @server.tool(title="Echo")
    async def echo(text: str) -> str:
        """Says it back."""
        return text

    listed = {tool.name: tool for tool in await server.list_tools()}
    assert server.tools_built
    assert listed["echo"].description == "Says it back."
    assert set(listed) == {*TOOL_NAMES, *APP_TOOL_NAMES, "echo"}


def test_a_damaged_listing_file_is_refused_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    damaged = tmp_path / "tools.json"
    damaged.write_text('{"written_by": {"mcp": "2.3.0"}, "tools": [{"nam', encoding="utf-8")
    assert Listings(packaged=damaged, state_dir=tmp_path).load() is None
    assert Listings(packaged=tmp_path / "missing.json").load() is None
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert all("the tools are built at start instead" in warning for warning in warnings)

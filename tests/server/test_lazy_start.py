"""A host starting `sora-mcp serve` (api backend) waits for nothing a first `tools/list` does not need:
not PyAV, Pillow or the emulator, not the host installer, not the HTTP client and its TLS context, not
the SDK's tools (their argument models and schemas: the listing comes from `tools.json`). Seen from
outside, in a real server process: `-X importtime` names every module it imported, and its debug log
says when it builds the HTTP client and the tools."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from tests.server.test_transports import child_env

pytestmark = pytest.mark.anyio

IMPORTED = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)$", re.MULTILINE)
NOT_ON_THE_WAY = ("av", "PIL", "sora_mcp.emulator", "sora_mcp.cli._install", "sora_mcp.cli._demo")
BUILT = "HTTP client built"
TOOLS_BUILT = re.compile(r"\b10 tools built in \d+ ms")


def imported(stderr: str) -> set[str]:
    return set(IMPORTED.findall(stderr))


async def test_serve_answers_tools_list_before_importing_media_or_building_its_http_client(tmp_path: Path) -> None:
    args = ["-X", "importtime", "-m", "sora_mcp", "-v", "serve", "--base-url", "http://127.0.0.1:9/v1"]
    params = StdioServerParameters(
        command=sys.executable,
        args=[*args, "--output-dir", str(tmp_path / "out"), "--max-retries", "0"],
        env=child_env(OPENAI_API_KEY="sk-lazy-start-test"),
    )
    errlog_path = tmp_path / "stderr.txt"
    with errlog_path.open("w") as errlog, anyio.fail_after(60):
        async with Client(stdio_client(params, errlog=errlog)) as client:
            tools = (await client.list_tools()).tools
            at_tools_list = errlog_path.read_text(encoding="utf-8")
            listed = await client.call_tool("list_videos", {})  # the dead address: a tool error
            after_a_call = errlog_path.read_text(encoding="utf-8")

    assert "generate_video" in {tool.name for tool in tools}
    modules = imported(at_tools_list)
    assert {"mcp.server.mcpserver", "sora_mcp.server", "sora_mcp._client"} <= modules, "importtime was read"
    assert [name for name in modules if name.split(".")[0] in NOT_ON_THE_WAY or name in NOT_ON_THE_WAY] == []
    assert BUILT not in at_tools_list
    assert listed.is_error and BUILT in after_a_call, "the client is built by the first call that needs it"
    assert TOOLS_BUILT.search(at_tools_list) is None
    assert len(TOOLS_BUILT.findall(after_a_call)) == 1, "the tools are built by the first call, once"

"""Hostile and bad input: generated arguments for every tool, escaping paths through tools and
resource URIs, broken images, and the API key in anything a client or a log could see."""

from __future__ import annotations

import io
import logging
import struct
import sys
import zlib
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.stdio import stdio_client
from PIL import Image

from sora_mcp import Settings
from sora_mcp.emulator import Emulator, EmulatorConfig, Fault
from sora_mcp.server import create_server
from sora_mcp.server._transport import MAX_BODY
from tests.conftest import TEST_KEY
from tests.server.conftest import APP_TOOL_NAMES, SMALL, TOOL_NAMES, error_text
from tests.server.test_transports import INITIALIZE, MCP_HEADERS, child_env, http_server

pytestmark = pytest.mark.anyio

EXAMPLES_PER_TOOL = 300

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=40),
    st.sampled_from(
        [
            "../../etc/passwd",
            "C:\\Windows\\win.ini",
            "x\x00y",
            "video_abc",
            "720x1280",
            "4",
            "",
            "data:image/png;base64,AAAA",
            "https://example.com/a.png",
            "\u202e\u0000\ufeff",
            "x" * 40_000,
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


def arguments(properties: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    keys = st.sampled_from(properties) | st.text(max_size=12)
    return st.dictionaries(keys, values, max_size=len(properties) + 2)


def generated(strategy: st.SearchStrategy[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """Argument sets drawn by Hypothesis (its async support needs a custom executor; drawing first is simpler)."""
    drawn: list[dict[str, Any]] = []

    @hypothesis_settings(
        max_examples=count,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(example: dict[str, Any]) -> None:
        drawn.append(example)

    collect()
    return drawn


@pytest.fixture
async def fuzz_client(settings: Settings) -> Any:
    # Real sizes are refused by this emulator (max_render_pixels), so a generated valid create costs no render.
    emulator = Emulator(EmulatorConfig(render_seconds=0, queue_seconds=0, max_render_pixels=64 * 64))
    async with (
        httpx2.AsyncClient(transport=httpx2.ASGITransport(app=emulator.app)) as http,
        Client(create_server(settings.model_copy(update={"wait_timeout": 0.2}), http_client=http)) as client,
    ):
        schemas = {tool.name: tool.input_schema for tool in (await client.list_tools()).tools}
        yield client, schemas


@pytest.mark.parametrize("tool", [*TOOL_NAMES, *APP_TOOL_NAMES])
async def test_generated_arguments_never_crash_the_server(fuzz_client: Any, tool: str, caplog: Any) -> None:
    client, schemas = fuzz_client
    properties = list(schemas[tool].get("properties", {}))
    outcomes = {"ok": 0, "error": 0}
    with caplog.at_level(logging.DEBUG):
        for args in generated(arguments(properties), EXAMPLES_PER_TOOL):
            with anyio.fail_after(10):
                result = await client.call_tool(tool, args)
            outcomes["error" if result.is_error else "ok"] += 1
            for block in result.content:
                text = getattr(block, "text", "")
                assert "Traceback" not in text and TEST_KEY not in text
    assert sum(outcomes.values()) >= EXAMPLES_PER_TOOL * 0.9
    assert TEST_KEY not in caplog.text
    assert tool in {t.name for t in (await client.list_tools()).tools}, "the server still answers"


ESCAPES = [
    "../outside.png",
    "../../../../etc/passwd",
    "/etc/passwd",
    "C:\\Windows\\win.ini",
    "..\\..\\outside.png",
    "images/\x00.png",
    "~/../../etc/hosts",
]


async def test_escaping_input_paths_are_refused(mcp_client: Client, settings: Settings, emulator: Emulator) -> None:
    root = settings.input_roots[0]
    secret = root.parent / "secret.png"
    Image.new("RGB", (64, 64)).save(secret)
    (root / "link.png").symlink_to(secret)
    for path in [*ESCAPES, str(secret), str(root / "link.png"), str(root / ".." / "secret.png")]:
        text = error_text(await mcp_client.call_tool("generate_video", {"prompt": "x", "input_reference": path}))
        assert "SORA_MCP_INPUT_ROOTS" in text or "path" in text.lower(), path
    assert emulator.stats.count("POST", "/videos") == 0


async def test_resource_uris_cannot_read_outside(mcp_client: Client, settings: Settings) -> None:
    settings.output_dir.mkdir(parents=True, exist_ok=True)
    (settings.output_dir / "video_evil.mp4").symlink_to("/etc/passwd")
    for uri in [
        "sora://videos/..%2F..%2Fetc%2Fpasswd/video",
        "sora://videos/../video",
        "sora://videos/%2Fetc%2Fpasswd/metadata",
        "sora://videos/video_evil/video",
        "sora://videos/a%00b/video",
        "sora://videos/C:%5CWindows/video",
        "file:///etc/passwd",
    ]:
        with pytest.raises(MCPError):
            await mcp_client.read_resource(uri)
    listed = {str(r.uri) for r in (await mcp_client.list_resources()).resources}
    assert "sora://videos/video_evil/video" not in listed


def _png_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))


async def test_broken_images_are_refused(mcp_client: Client, settings: Settings, emulator: Emulator) -> None:
    root = settings.input_roots[0]
    good = io.BytesIO()
    Image.new("RGB", (720, 1280), "white").save(good, "PNG")
    gif = io.BytesIO()
    Image.new("RGB", (720, 1280)).save(gif, "GIF")
    cases = {
        "notes.png": b"these are not pixels",
        "truncated.png": good.getvalue()[: len(good.getvalue()) // 3],
        "bomb.png": _png_header(60_000, 60_000) + b"\x00" * 64,
        "animation.gif": gif.getvalue(),
        "empty.jpg": b"",
    }
    for name, data in cases.items():
        (root / name).write_bytes(data)
        text = error_text(
            await mcp_client.call_tool("generate_video", {"prompt": "x", "input_reference": str(root / name)})
        )
        assert "image" in text.lower(), name
    assert emulator.stats.count("POST", "/videos") == 0


async def test_key_never_reaches_stderr_of_the_server(tmp_path: Path, emulator: Emulator, live_base_url: str) -> None:
    """A real server process with debug logging runs a whole flow against a live emulator (successes,
    a 404, an injected 500) and then against a dead address: neither its stderr nor any result, nor
    any resource it serves, holds the key."""
    secret = "sk-proj-THIS-KEY-MUST-NOT-LEAK-0123456789"
    errlog = (tmp_path / "stderr.txt").open("w+")
    seen: list[str] = []

    def params(base_url: str) -> StdioServerParameters:
        args = ["-m", "sora_mcp", "-v", "serve", "--output-dir", str(tmp_path / "out"), "--base-url", base_url]
        return StdioServerParameters(
            command=sys.executable, args=[*args, "--max-retries", "0"], env=child_env(OPENAI_API_KEY=secret)
        )

    try:
        async with Client(stdio_client(params(live_base_url), errlog=errlog)) as client:
            created = await client.call_tool("generate_video", {"prompt": "x", **SMALL})
            video_id = str((created.structured_content or {})["id"])
            with anyio.fail_after(30):
                waited = await client.call_tool("wait_for_video", {"video_id": video_id})
            downloaded = await client.call_tool("download_video", {"video_id": video_id, "variant": "thumbnail"})
            seen += [r.model_dump_json() for r in (created, waited, downloaded)]
            for resource in (await client.list_resources()).resources:
                seen.append((await client.read_resource(str(resource.uri))).model_dump_json())
            emulator.faults.add(Fault(kind="status", status=500, times=None))
            failures = [
                await client.call_tool("list_videos", {}),
                await client.call_tool("get_video_status", {"video_id": "video_" + "0" * 48}),
            ]
        async with Client(stdio_client(params("http://127.0.0.1:9/v1"), errlog=errlog)) as client:
            failures.append(await client.call_tool("list_videos", {}))
        errlog.seek(0)
        captured = errlog.read()
    finally:
        errlog.close()
    assert not any(json_text.startswith('{"is_error":true') for json_text in seen[:3])
    assert all(result.is_error for result in failures)
    assert "DEBUG" in captured and video_id in captured, "debug logging was on and saw the flow"
    assert secret not in captured
    assert all(secret not in text for text in [*seen, *(r.model_dump_json() for r in failures)])


async def test_oversized_request_bodies_are_refused(tmp_path: Path) -> None:
    async with http_server(tmp_path, "--transport", "streamable-http") as url, httpx2.AsyncClient() as http:
        huge = {**INITIALIZE, "params": {**INITIALIZE["params"], "padding": "x" * (MAX_BODY + 1)}}
        response = await http.post(url, json=huge, headers=MCP_HEADERS)
    assert response.status_code == 413

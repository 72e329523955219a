"""The player's server side: the UI resource, the tool meta that links to it, and the app-only tools
(player_status, player_gallery, read_asset_chunk), through the official client, in process and over SSE.
The player in a real browser is tested in ``test_player_browser.py``."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.types import TextResourceContents

from sora_mcp import Settings
from sora_mcp.emulator import EmulatorConfig, FakeClock, Fault
from sora_mcp.server import create_server, serving_http
from sora_mcp.server._player import MAX_CHUNK_BYTES, PLAYER_URI
from tests.server.conftest import APP_TOOL_NAMES, SMALL, error_text, model_tools, structured
from tests.server.test_transports import child_env, serve_args

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "sora_mcp" / "server" / "player" / "vendor" / "ext-apps"
PLAYER_TOOLS = {"generate_video", "remix_video", "wait_for_video", "get_video_status", "download_video"}
# Videos here are served padded past 1 MiB: every read takes several chunks, as a real clip's would.
BIG = 1_300_000


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    return EmulatorConfig(render_seconds=0.0, queue_seconds=0.0, poll_after_ms=10, media="fast", pad_video_bytes=BIG)


async def read_all(client: Client, video_id: str, kind: str = "video", length: int | None = None) -> bytes:
    """What the player does: chunks from offset 0, the first chunk's etag on the others, until eof."""
    data, offset, etag = b"", 0, None
    while True:
        args: dict[str, Any] = {"video_id": video_id, "kind": kind, "offset": offset}
        if etag is not None:
            args["etag"] = etag
        if length is not None:
            args["length"] = length
        chunk = structured(await client.call_tool("read_asset_chunk", args))
        assert chunk["offset"] == offset and chunk["length"] <= MAX_CHUNK_BYTES
        assert etag in (None, chunk["etag"])
        data += base64.b64decode(chunk["data"])
        offset, etag = offset + chunk["length"], chunk["etag"]
        if chunk["eof"]:
            assert offset == chunk["total_bytes"]
            return data


async def downloaded(client: Client, prompt: str = "a red kite over the sea") -> tuple[str, Path]:
    """A completed video, saved with its thumbnail."""
    video_id = structured(await client.call_tool("generate_video", {"prompt": prompt, **SMALL}))["id"]
    with anyio.fail_after(20):
        done = structured(await client.call_tool("wait_for_video", {"video_id": video_id, "timeout_seconds": 15}))
    assert done["status"] == "completed"
    saved = structured(await client.call_tool("download_video", {"video_id": video_id}))
    structured(await client.call_tool("download_video", {"video_id": video_id, "variant": "thumbnail"}))
    return video_id, Path(saved["path"])


# --- the surface ----------------------------------------------------------------------------------------
async def test_job_tools_link_the_player_and_app_tools_stay_with_the_app(mcp_client: Client) -> None:
    tools = {tool.name: tool for tool in (await mcp_client.list_tools()).tools}
    for name in PLAYER_TOOLS:
        meta = tools[name].meta or {}
        assert meta["ui"] == {"resourceUri": PLAYER_URI}, name  # visible to the model and the app (the default)
        assert meta["openai/outputTemplate"] == PLAYER_URI, name
    for name in APP_TOOL_NAMES:
        meta = tools[name].meta or {}
        assert meta["ui"] == {"resourceUri": PLAYER_URI, "visibility": ["app"]}, name
        assert meta["openai/visibility"] == "private", name
    assert model_tools(list(tools.values())) == set(tools) - set(APP_TOOL_NAMES)
    for name in ("list_videos", "delete_video"):
        assert not (tools[name].meta or {}).get("ui"), name


async def test_player_resource_is_one_self_contained_page(mcp_client: Client) -> None:
    [listed] = [r for r in (await mcp_client.list_resources()).resources if str(r.uri) == PLAYER_URI]
    assert listed.mime_type == "text/html;profile=mcp-app"
    [contents] = (await mcp_client.read_resource(PLAYER_URI)).contents
    assert isinstance(contents, TextResourceContents)
    assert contents.mime_type == "text/html;profile=mcp-app"
    # blob: is declared (the video and its poster), on the listing and on the read, and nothing else.
    for meta in (listed.meta, contents.meta):
        assert meta == {"ui": {"csp": {"resourceDomains": ["blob:"]}, "prefersBorder": True}}
    html = contents.text
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert "globalThis.McpExtApps=Object.freeze({" in html and '"App":' in html
    assert "@sora-mcp-version@" not in html and "/*@ext-apps@*/" not in html
    # Nothing is loaded from elsewhere: no src/href attributes, no import of another module.
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", html, re.I)
    assert not re.search(r"^\s*import\s", html, re.M)
    assert len(html.encode()) < 700_000  # far under the 1 MiB a message may carry over SSE


def test_vendored_library_is_the_pinned_build() -> None:
    record = json.loads((VENDOR / "VENDORED.json").read_text(encoding="utf-8"))
    build = (VENDOR / "app-with-deps.js").read_bytes()
    assert record["package"] == "@modelcontextprotocol/ext-apps" and record["file"] == "dist/src/app-with-deps.js"
    assert hashlib.sha256(build).hexdigest() == record["sha256"], "edited by hand: run scripts/refresh-ext-apps.py"
    assert "MIT License" in (VENDOR / "LICENSE").read_text(encoding="utf-8")
    script = (ROOT / "scripts" / "refresh-ext-apps.py").read_text(encoding="utf-8")
    assert f'PINNED = "{record["version"]}"' in script, "the script refreshes the version that is vendored"


# --- read_asset_chunk -----------------------------------------------------------------------------------
async def test_chunks_reassemble_the_files(mcp_client: Client) -> None:
    video_id, path = await downloaded(mcp_client)
    assert path.stat().st_size >= BIG
    assert await read_all(mcp_client, video_id) == path.read_bytes()
    assert await read_all(mcp_client, video_id, length=100_000) == path.read_bytes()
    [thumbnail] = path.parent.glob(f"{video_id}.thumbnail.*")
    assert await read_all(mcp_client, video_id, "thumbnail") == thumbnail.read_bytes()
    last = structured(
        await mcp_client.call_tool("read_asset_chunk", {"video_id": video_id, "offset": path.stat().st_size})
    )
    assert last["eof"] and last["length"] == 0 and last["data"] == ""


async def test_chunk_refusals_say_what_to_do(mcp_client: Client, settings: Settings) -> None:
    missing = error_text(await mcp_client.call_tool("read_asset_chunk", {"video_id": "video_nothing_here"}))
    assert "download_video" in missing
    video_id, path = await downloaded(mcp_client)
    size = path.stat().st_size
    past = error_text(await mcp_client.call_tool("read_asset_chunk", {"video_id": video_id, "offset": size + 1}))
    assert "past the end" in past
    stale = error_text(await mcp_client.call_tool("read_asset_chunk", {"video_id": video_id, "etag": "1-2"}))
    assert "offset 0" in stale
    for bad in (
        {"video_id": video_id, "length": MAX_CHUNK_BYTES + 1},
        {"video_id": video_id, "length": 0},
        {"video_id": video_id, "offset": -1},
        {"video_id": video_id, "kind": "metadata"},
        {"video_id": ""},
    ):
        assert (await mcp_client.call_tool("read_asset_chunk", bad)).is_error, bad


async def test_nothing_outside_the_output_folder_can_be_read(mcp_client: Client, settings: Settings) -> None:
    secret = settings.output_dir.parent / "secret.mp4"
    secret.write_bytes(b"\x00\x00\x00\x18ftypisom" + b"SECRET" * 100)
    settings.output_dir.mkdir(parents=True, exist_ok=True)
    os.symlink(secret, settings.output_dir / "video_linked.mp4")  # a link is never followed
    (settings.output_dir / "notes.txt").write_text("not an asset")
    for video_id in ("video_linked", "../secret", "/etc/passwd", str(secret), "notes", "..", "../../etc/passwd"):
        result = await mcp_client.call_tool("read_asset_chunk", {"video_id": video_id})
        assert result.is_error, video_id
        assert "SECRET" not in error_text(result)
    assert structured(await mcp_client.call_tool("player_gallery", {}))["videos"] == []


# --- player_status and player_gallery --------------------------------------------------------------------
@pytest.mark.parametrize(
    "emulator_config", [EmulatorConfig(render_seconds=10.0, queue_seconds=0.0, poll_after_ms=1500, media="fast")]
)
@pytest.mark.parametrize("emulator_clock", [FakeClock()])  # the job renders only as the test advances it
async def test_player_status_follows_a_job(mcp_client: Client, emulator_clock: FakeClock) -> None:
    video_id = structured(await mcp_client.call_tool("generate_video", {"prompt": "a slow tide", **SMALL}))["id"]
    emulator_clock.advance(4)
    state = structured(await mcp_client.call_tool("player_status", {"video_id": video_id}))
    assert state["job"]["status"] == "in_progress" and state["job"]["progress"] == 40
    assert state["poll_after_ms"] == 1500  # the server's hint
    assert state["video"] is None and state["thumbnail"] is None
    emulator_clock.advance(10)
    structured(await mcp_client.call_tool("download_video", {"video_id": video_id, "variant": "thumbnail"}))
    state = structured(await mcp_client.call_tool("player_status", {"video_id": video_id}))
    assert state["job"]["status"] == "completed" and state["poll_after_ms"] is None
    assert state["video"] is None and state["thumbnail"]["mime_type"].startswith("image/")


@pytest.mark.parametrize(
    "emulator_config", [EmulatorConfig(render_seconds=1.0, queue_seconds=0.0, poll_after_ms=10, media="fast")]
)
@pytest.mark.parametrize("emulator_clock", [FakeClock()])
async def test_player_status_says_why_a_job_failed(
    mcp_client: Client, emulator: Any, emulator_clock: FakeClock
) -> None:
    emulator.faults.add(Fault(kind="fail_job", error_code="moderation_blocked", error_message="Blocked."))
    video_id = structured(await mcp_client.call_tool("generate_video", {"prompt": "x", **SMALL}))["id"]
    emulator_clock.advance(2)
    state = structured(await mcp_client.call_tool("player_status", {"video_id": video_id}))
    assert state["job"]["status"] == "failed"
    assert state["job"]["error"] == {"code": "moderation_blocked", "message": "Blocked."}
    assert state["poll_after_ms"] is None


async def test_player_status_shows_the_downloaded_copy_when_the_server_cannot_say(
    mcp_client: Client, emulator: Any
) -> None:
    video_id, path = await downloaded(mcp_client, "a lantern in fog")
    emulator.faults.add(Fault(kind="status", status=404, method="GET", path="/videos/{video_id}", times=None))
    state = structured(await mcp_client.call_tool("player_status", {"video_id": video_id}))
    assert state["note"] and "downloaded copy" in state["note"]
    assert state["video"]["path"] == str(path) and state["job"]["prompt"] == "a lantern in fog"
    gone = await mcp_client.call_tool("player_status", {"video_id": "video_never_downloaded"})
    assert gone.is_error


async def test_gallery_lists_downloaded_videos_newest_first(mcp_client: Client) -> None:
    first, _ = await downloaded(mcp_client, "first light")
    second, _ = await downloaded(mcp_client, "second wind")
    gallery = structured(await mcp_client.call_tool("player_gallery", {}))
    assert [entry["video_id"] for entry in gallery["videos"]] == [second, first]
    assert gallery["total"] == 2 and gallery["has_more"] is False
    newest = gallery["videos"][0]
    assert newest["job"]["prompt"] == "second wind" and newest["job"]["size"] == SMALL["size"]
    assert newest["video"]["mime_type"] == "video/mp4" and newest["thumbnail"]["kind"] == "thumbnail"
    page = structured(await mcp_client.call_tool("player_gallery", {"limit": 1, "offset": 1}))
    assert [entry["video_id"] for entry in page["videos"]] == [first] and page["has_more"] is False
    assert structured(await mcp_client.call_tool("player_gallery", {"limit": 1}))["has_more"] is True


# --- a transport that caps message size ------------------------------------------------------------------
async def test_video_over_1_mib_reads_through_chunks_over_sse(
    settings: Settings, http_client: httpx2.AsyncClient
) -> None:
    """The official SSE client refuses any event over 1 MiB: resources/read of this video ends the session
    with ``SSEError: Server-sent event exceeded the 1048576 byte limit``. read_asset_chunk brings it whole."""
    sse = settings.model_copy(update={"transport": "sse", "port": 0})
    server = create_server(sse, http_client=http_client)
    with anyio.fail_after(60):
        async with serving_http(server, sse) as url, Client(sse_client(url)) as client:
            video_id, path = await downloaded(client)
            assert path.stat().st_size > 1024 * 1024
            assert await read_all(client, video_id) == path.read_bytes()


@pytest.mark.parametrize("era", ["auto", "legacy"])
async def test_the_player_over_stdio_in_both_eras(tmp_path: Path, era: str) -> None:
    """The real server as a host starts it (a stdio subprocess): the player page, the job tools' links, the
    app-only tools (status, gallery, chunks that rebuild the file byte for byte)."""
    params = StdioServerParameters(command=sys.executable, args=serve_args(tmp_path), env=child_env())
    with anyio.fail_after(60):
        async with Client(params, mode=era) as client:
            [page] = (await client.read_resource(PLAYER_URI)).contents
            assert isinstance(page, TextResourceContents) and page.mime_type == "text/html;profile=mcp-app"
            tools = {tool.name: tool for tool in (await client.list_tools()).tools}
            assert (tools["generate_video"].meta or {})["ui"] == {"resourceUri": PLAYER_URI}
            video_id, path = await downloaded(client)
            status = structured(await client.call_tool("player_status", {"video_id": video_id}))
            assert status["job"]["status"] == "completed"
            gallery = structured(await client.call_tool("player_gallery", {}))
            assert [video["video_id"] for video in gallery["videos"]] == [video_id]
            assert await read_all(client, video_id) == path.read_bytes()

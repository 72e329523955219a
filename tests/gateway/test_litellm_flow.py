"""sora-mcp's own tools and CLI through a real LiteLLM proxy (pinned) in front of the emulator.

generate, wait, download the video, status and remix work with LiteLLM's 266-character ids; list,
delete and thumbnails end in errors that say plainly what this server does not offer, and nothing
wrong is saved under an asset's name.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import anyio
import pytest
from mcp import Client

from sora_mcp import Settings
from sora_mcp.server import create_server
from tests.server.conftest import error_text, structured

from .conftest import Gateway

# One worker runs every gateway test: they share one proxy (xdist --dist loadgroup).
pytestmark = pytest.mark.xdist_group("gateway")


def _settings(gateway: Gateway, output_dir: Path) -> Settings:
    return Settings(
        api_key=gateway.proxy.master_key,
        base_url=gateway.proxy.base_url,
        model="sora-2",
        output_dir=output_dir,
        input_roots=[output_dir],
        poll_interval=0.2,
    )


@pytest.mark.anyio
async def test_mcp_tools_through_litellm(gateway: Gateway, tmp_path: Path) -> None:
    async with Client(create_server(_settings(gateway, tmp_path))) as client:
        created = structured(
            await client.call_tool("generate_video", {"prompt": "a lighthouse", "size": "720x1280", "seconds": 4})
        )
        video_id = created["id"]
        assert len(video_id) > 200 and video_id.startswith("video_"), "LiteLLM's encoded id"
        assert created["prompt"] == "a lighthouse", "LiteLLM drops the prompt; the request fills it in"
        with anyio.fail_after(60):
            done = structured(await client.call_tool("wait_for_video", {"video_id": video_id, "timeout_seconds": 45}))
        assert done["status"] == "completed"
        status = structured(await client.call_tool("get_video_status", {"video_id": video_id}))
        assert status["id"] == video_id

        saved = structured(await client.call_tool("download_video", {"video_id": video_id}))
        path = Path(saved["path"])
        assert path.read_bytes()[4:8] == b"ftyp" and len(path.name) < 60, "a digest names the file"
        [contents] = (await client.read_resource(saved["resource_uri"])).contents
        assert contents.mime_type == "video/mp4"

        thumbnail = await client.call_tool("download_video", {"video_id": video_id, "variant": "thumbnail"})
        assert "does not serve the thumbnail" in error_text(thumbnail)
        assert not any("thumbnail" in p.name for p in tmp_path.iterdir()), "nothing saved under an asset's name"

        remixed = structured(await client.call_tool("remix_video", {"video_id": video_id, "prompt": "at night"}))
        assert remixed["id"] != video_id and len(remixed["id"]) > 200

        listed = error_text(await client.call_tool("list_videos", {}))
        assert "refused to list videos" in listed and "Fix the request" not in listed
        deleted = error_text(await client.call_tool("delete_video", {"video_id": video_id}))
        assert "does not support deleting videos" in deleted and "Check the request" not in deleted


@pytest.mark.anyio
async def test_cli_through_litellm(gateway: Gateway, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SORA_MCP_", "OPENAI_"))}
    env |= {"OPENAI_API_KEY": gateway.proxy.master_key, "OPENAI_BASE_URL": gateway.proxy.base_url}
    command = [sys.executable, "-m", "sora_mcp", "generate", "a harbour at dawn", "--json", "--wait"]
    with anyio.fail_after(90):
        result = await anyio.run_process([*command, "--download", str(tmp_path)], env=env, check=False)
    assert result.returncode == 0, result.stderr.decode()
    done, download = json.loads(result.stdout)
    assert done["status"] == "completed" and len(done["id"]) > 200
    saved = Path(download["path"])
    assert saved.parent == tmp_path.resolve() and saved.read_bytes()[4:8] == b"ftyp"
    listing = await anyio.run_process([sys.executable, "-m", "sora_mcp", "list"], env=env, check=False)
    assert listing.returncode == 1 and b"refused to list videos" in listing.stderr
    assert b"Traceback" not in listing.stderr

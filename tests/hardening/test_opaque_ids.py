"""Ids are opaque: any id a server minted works in every tool, resource URI and completion, and never
becomes an unsafe file name (issue 10)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from mcp.types import ResourceTemplateReference

from tests.server.conftest import structured

from .conftest import mcp_against, video_json
from .hostile import MP4_HEAD, Answer, Request, whole

pytestmark = pytest.mark.anyio

# Shaped like LiteLLM's (video_ + standard base64 of its routing text); bytes chosen so "+", "/" and "=" all occur.
ROUTING = b"litellm:custom_llm_provider:openai;model_id:sora-2;video_id:video_" + bytes(range(147, 256))
LITELLM_LIKE = "video_" + base64.b64encode(ROUTING).decode()
IDS = [LITELLM_LIKE, "video-12", "vid_a.b:c", "x" * 1024, "名前/../動画 ?#"]


@pytest.mark.parametrize("video_id", IDS, ids=["litellm", "vllm", "dotted", "long", "unicode"])
async def test_any_server_minted_id_works_end_to_end(tmp_path: Path, video_id: str) -> None:
    async def serves(request: Request) -> Answer:
        raw_path = request.path.removeprefix("/v1/videos/")
        asked = unquote(raw_path.removesuffix("/content"))
        assert "/" not in raw_path.removesuffix("/content"), "the id travels as one path segment"
        if request.path.endswith("/content"):
            return whole(200, MP4_HEAD + b"\x00" * 500, "video/mp4")
        if request.method == "DELETE":
            return whole(200, json.dumps({"id": asked, "object": "video.deleted", "deleted": True}).encode())
        return whole(200, video_json(asked))

    assert len(LITELLM_LIKE) > 240 and "+" in LITELLM_LIKE and "/" in LITELLM_LIKE
    async with mcp_against(serves, tmp_path) as (client, hostile, settings):
        status = structured(await client.call_tool("get_video_status", {"video_id": video_id}))
        assert status["id"] == video_id
        saved = structured(await client.call_tool("download_video", {"video_id": video_id}))
        path = Path(saved["path"])
        assert path.parent == settings.output_dir.resolve() and len(path.name) <= 100 and "/" not in path.stem
        assert saved["resource_uri"] == f"sora://videos/{quote(video_id, safe='')}/video"
        listed = [str(r.uri) for r in (await client.list_resources()).resources]
        assert saved["resource_uri"] in listed
        [contents] = (await client.read_resource(saved["resource_uri"])).contents
        assert contents.mime_type == "video/mp4"
        metadata = json.loads((path.parent / (path.name.removesuffix(".mp4") + ".json")).read_text())
        assert metadata["id"] == video_id, "the metadata keeps the real id"
        template = ResourceTemplateReference(type="ref/resource", uri="sora://videos/{video_id}/video")
        completion = await client.complete(template, {"name": "video_id", "value": video_id[:3]})
        assert video_id in completion.completion.values
        deleted = structured(await client.call_tool("delete_video", {"video_id": video_id, "delete_local_files": True}))
        assert len(deleted["local_files_removed"]) == 2 and not any(settings.output_dir.iterdir())
    assert all(
        unquote(r.path.removeprefix("/v1/videos/").removesuffix("/content")) == video_id for r in hostile.requests
    )

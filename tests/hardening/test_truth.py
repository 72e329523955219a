"""The model is told the truth: a create that may have reached the server is never advised to be sent
again; routes that do not exist point at the base URL; malformed answers are one actionable error
(issue 11, classes 21-23)."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import anyio
import httpx2
import pytest

from sora_mcp.emulator import Emulator, EmulatorConfig
from tests.server.conftest import error_text, structured

from .conftest import mcp_against, video_json
from .hostile import Answer, Request, hostile_server, whole

pytestmark = pytest.mark.anyio

NEVER_RESEND = ("may exist", "do not send it again", "list_videos")


async def test_a_lost_create_answer_never_advises_to_try_again(tmp_path: Path) -> None:
    async def hangs_up(_request: Request) -> Answer:
        return None  # the request arrived; the answer never comes back

    async with mcp_against(hangs_up, tmp_path, max_retries=2) as (client, hostile, _settings):
        text = error_text(
            await client.call_tool("generate_video", {"prompt": "a paid job", "model": "m", "size": "64x64"})
        )
    assert all(words in text for words in NEVER_RESEND), text
    assert "try again" not in text.lower()
    assert [r.method for r in hostile.requests] == ["POST"], "a create that may have arrived is never re-sent"


async def test_a_create_that_hits_a_server_error_says_the_job_may_exist(tmp_path: Path) -> None:
    async def fails(_request: Request) -> Answer:
        return whole(502, b'{"error": {"message": "upstream timed out", "type": "server_error"}}')

    async with mcp_against(fails, tmp_path, max_retries=2) as (client, hostile, _settings):
        text = error_text(await client.call_tool("generate_video", {"prompt": "x", "model": "m", "size": "64x64"}))
    assert "may have created the job" in text and "list_videos" in text
    assert len(hostile.requests) == 1


async def test_a_missing_route_points_at_the_base_url(tmp_path: Path) -> None:
    async def framework_404(_request: Request) -> Answer:
        return whole(404, b'{"detail": "Not Found"}')

    async with mcp_against(framework_404, tmp_path) as (client, _hostile, _settings):
        text = error_text(await client.call_tool("get_video_status", {"video_id": "video_a"}))
    assert "OPENAI_BASE_URL" in text and "/v1" in text and "Check the id" not in text


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"<html><body>Welcome to the proxy</body></html>", "text/html"),
        (b'{"id": "video_a", "status": 7}', "application/json"),
        (b'{"status": "completed"}', "application/json"),
        (b"[1, 2, 3]", "application/json"),
    ],
)
async def test_a_malformed_answer_is_one_actionable_error(tmp_path: Path, body: bytes, content_type: str) -> None:
    async def malformed(_request: Request) -> Answer:
        return whole(200, body, content_type)

    async with mcp_against(malformed, tmp_path) as (client, _hostile, _settings):
        status = error_text(await client.call_tool("get_video_status", {"video_id": "video_a"}))
        created = error_text(await client.call_tool("generate_video", {"prompt": "x", "model": "m", "size": "64x64"}))
    assert "not what the /v1/videos contract describes" in status and "OPENAI_BASE_URL" in status
    assert all(words in created for words in ("may have created", "do not send it again", "list_videos"))
    for text in (status, created):  # the SDK's prefix is fine; a bare one (a crash) is not
        assert not re.fullmatch(r"Error executing tool \w+", text.strip()), text


@pytest.mark.parametrize("progress", [33.3, None, "42", 250, -4])
async def test_odd_but_harmless_fields_are_read_liberally(tmp_path: Path, progress: object) -> None:
    async def odd(_request: Request) -> Answer:
        body = json.loads(video_json(status="processing"))
        body["progress"] = progress
        return whole(200, json.dumps(body).encode())

    async with mcp_against(odd, tmp_path) as (client, _hostile, _settings):
        info = structured(await client.call_tool("get_video_status", {"video_id": "video_a"}))
    assert info["status"] == "in_progress" and info["server_status"] == "processing"
    assert info["progress"] is None or 0 <= info["progress"] <= 100


async def test_the_cli_reports_a_malformed_answer_without_a_traceback(tmp_path: Path) -> None:
    async def html(_request: Request) -> Answer:
        return whole(200, b"<html>login</html>", "text/html")

    async with hostile_server(html) as (url, _hostile):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SORA_MCP_", "OPENAI_"))}
        env |= {"OPENAI_BASE_URL": url, "OPENAI_API_KEY": "sk-test-cli"}
        result = await anyio.run_process([sys.executable, "-m", "sora_mcp", "status", "video_a"], env=env, check=False)
    assert result.returncode == 1 and b"contract describes" in result.stderr
    assert b"Traceback" not in result.stderr and b"invalid setting" not in result.stderr


async def test_ill_typed_faults_are_refused_in_the_standard_envelope() -> None:
    emulator = Emulator(EmulatorConfig())
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=emulator.app)) as http:
        refused = await http.post("http://e.test/_emulator/faults", json={"kind": "status", "retry_after": 5})
        after = await http.get("http://e.test/v1/videos", headers={"authorization": "Bearer sk-x"})
    assert refused.status_code == 400 and "retry_after" in refused.json()["error"]["message"]
    assert after.status_code == 200, "nothing half-added that breaks the next call"

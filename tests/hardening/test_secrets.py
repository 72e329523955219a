"""Secrets stay secret; errors reveal nothing about the disk; terminals are not driven by servers
(issue 11, classes 16-20)."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from urllib.parse import quote

import anyio
import pytest
from pydantic import ValidationError

from sora_mcp import InputError, PathNotAllowedError, Settings, SoraClient
from sora_mcp._files import resolve_input
from sora_mcp._http import redact
from tests.client.support import closed_port
from tests.server.conftest import error_text

from .conftest import mcp_against
from .hostile import Answer, Request, hostile_server, whole

pytestmark = pytest.mark.anyio

KEY = "sk-proj-Secret0123456789abcdef"


def test_a_key_read_from_a_file_is_stripped(tmp_path: Path) -> None:
    assert Settings(api_key=KEY + "\n").api_key_value == KEY
    assert Settings(api_key="  " + KEY + "\r\n").api_key_value == KEY
    assert Settings(api_key="\n").api_key_value is None


@pytest.mark.parametrize("bad", [KEY[:10] + "\n" + KEY[10:], KEY + " trailing words", KEY[:5] + "\x1b" + KEY[5:]])
def test_a_key_with_control_characters_inside_is_refused_without_showing_it(bad: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(api_key=bad)
    shown = str(refused.value.errors()[0]["msg"])
    assert "control characters" in shown and KEY[:8] not in shown


def test_every_form_of_the_key_is_redacted() -> None:
    key = "azure0123456789abcdef0123456789ab/+="
    text = f"raw {key} repr {key!r} url {quote(key, safe='')} json {json.dumps(key)}"
    cleaned = redact(text, [key])
    assert "azure0123456789abcdef" not in cleaned and cleaned.count("[redacted]") == 4


async def test_a_body_echoing_the_key_never_reaches_logs_or_results(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def echoes(request: Request) -> Answer:
        header = request.headers["authorization"]
        return whole(200, json.dumps({"id": 5, "status": {"echo": header}, "progress": [header]}).encode())

    caplog.set_level(logging.DEBUG)
    async with mcp_against(echoes, tmp_path, api_key=KEY) as (client, _hostile, _settings):
        text = error_text(await client.call_tool("get_video_status", {"video_id": "video_a"}))
    assert "not what the /v1/videos contract describes" in text
    assert KEY not in text and KEY not in caplog.text


async def test_url_credentials_are_never_shown(tmp_path: Path) -> None:
    async def refuses(_request: Request) -> Answer:
        return whole(401, b'{"error": {"message": "bad key"}}')

    async with hostile_server(refuses) as (url, _hostile):
        with_password = url.replace("http://", "http://alice:hunter2pass@")
        settings = Settings(api_key=KEY, base_url=with_password, output_dir=tmp_path, max_retries=0)
        async with SoraClient(settings) as client:
            with pytest.raises(Exception) as unauthorized:
                await client.get_video_status("video_a")
    unreachable = Settings(api_key=KEY, base_url=f"http://bob:s3cretpw@127.0.0.1:{closed_port()}/v1", max_retries=0)
    async with SoraClient(unreachable) as client:
        with pytest.raises(Exception) as not_reached:
            await client.get_video_status("video_a")
    for error in (unauthorized.value, not_reached.value):
        shown = str(error) + repr(vars(error))
        assert "hunter2pass" not in shown and "s3cretpw" not in shown and "alice" not in shown and "bob:" not in shown
    assert "Could not reach http://127.0.0.1:" in str(not_reached.value)


def test_paths_outside_the_input_folders_get_one_answer(tmp_path: Path) -> None:
    """An error must not tell whether a file outside the allowed folders exists."""
    root = tmp_path / "images"
    root.mkdir()
    answers = set()
    for outside in ("/etc/passwd", "/etc/no-such-file-here", str(tmp_path / "secret.txt"), "/root/.ssh/id_rsa"):
        with pytest.raises(PathNotAllowedError) as refused:
            resolve_input(outside, [root])
        answers.add(str(refused.value).replace(outside, "PATH"))
    assert len(answers) == 1 and "not inside the folders" in answers.pop()
    (root / "link").symlink_to("/etc/passwd")
    with pytest.raises(PathNotAllowedError, match="not inside the folders"):
        resolve_input(str(root / "link"), [root])
    with pytest.raises(InputError, match="does not exist"):
        resolve_input(str(root / "missing.png"), [root])


async def test_the_cli_neutralises_control_characters_from_servers() -> None:
    evil = "gone\x1b]52;c;ZXZpbA==\x07 \x1b[2K\x1b[1A\rfake prompt$ "

    async def terminal_takeover(request: Request) -> Answer:
        if request.path == "/v1/videos":
            page = {"object": "list", "data": [json.loads(_video(evil))], "has_more": False}
            return whole(200, json.dumps(page).encode())
        return whole(404, json.dumps({"error": {"message": evil, "type": "x"}}).encode())

    async with hostile_server(terminal_takeover) as (url, _hostile):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SORA_MCP_", "OPENAI_"))}
        env |= {"OPENAI_BASE_URL": url, "OPENAI_API_KEY": KEY, "SORA_MCP_MAX_RETRIES": "0"}
        status = await anyio.run_process([sys.executable, "-m", "sora_mcp", "status", "video_x"], env=env, check=False)
        listing = await anyio.run_process([sys.executable, "-m", "sora_mcp", "list"], env=env, check=False)
    assert status.returncode == 1 and listing.returncode == 0
    for output in (status.stderr, listing.stdout):
        assert b"\x1b" not in output and b"\x07" not in output and b"\r" not in output
        assert b"\\x1b]52" in output, "shown escaped, so a person can still see what the server sent"


def _video(model: str) -> bytes:
    return json.dumps({"id": "video_x", "status": "completed", "model": model, "progress": 100}).encode()

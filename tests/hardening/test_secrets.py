"""Secrets stay secret; errors reveal nothing about the disk; terminals are not driven by servers
(issue 11, classes 16-20)."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus

import anyio
import pytest
from pydantic import ValidationError

from sora_mcp import InputError, PathNotAllowedError, Settings, SoraClient
from sora_mcp._files import resolve_input
from sora_mcp._http import redact
from tests.client.support import closed_port
from tests.server.conftest import error_text

from .conftest import mcp_against, video_json
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
    # A secret whose five forms all differ (a backslash, a quote, a space: a URL password may hold one),
    # so each form must be redacted by its own rule.
    secret = 'azure0123456789abcdef \\"/+='
    forms = [secret, repr(secret)[1:-1], json.dumps(secret)[1:-1], quote(secret, safe=""), quote_plus(secret)]
    assert len(set(forms)) == 5
    cleaned = redact(" | ".join(forms), [secret])
    assert "azure0123456789abcdef" not in cleaned and cleaned.count("[redacted]") == 5, cleaned


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


async def test_a_valid_answer_echoing_the_key_is_redacted_before_anyone_reads_it(tmp_path: Path) -> None:
    """A well-formed job that carries the key (a gateway's failure message quoting the request) is a result,
    not an error: its strings are redacted as they are parsed."""

    async def echoes(request: Request) -> Answer:
        header = request.headers["authorization"]
        failure = {"code": "upstream_error", "message": f"upstream refused {header}"}
        return whole(200, video_json(status="failed", model=KEY, error=failure))

    async with mcp_against(echoes, tmp_path, api_key=KEY) as (client, _hostile, _settings):
        result = await client.call_tool("get_video_status", {"video_id": "video_a"})
    shown = json.dumps(result.structured_content) + " ".join(getattr(b, "text", "") for b in result.content)
    assert "upstream refused Bearer [redacted]" in shown and KEY not in shown


async def test_url_credentials_are_never_shown(tmp_path: Path) -> None:
    async def refuses(_request: Request) -> Answer:  # a gateway that repeats the password it was given
        return whole(401, b'{"error": {"message": "bad key, and password hunter2pass is wrong"}}')

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
    with pytest.raises(ValidationError) as not_http:
        Settings(api_key=KEY, base_url="ftp://alice:hunter2pass@example.com/v1")
    shown = str(not_http.value.errors()[0]["msg"])  # what the CLI prints of an invalid setting
    assert "ftp://example.com/v1" in shown and "hunter2pass" not in shown and "alice" not in shown


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


EVIL = "gone\x1b]52;c;ZXZpbA==\x07 \x1b[2K\x1b[1A\x9b2J\rfake prompt$ "  # OSC 52, CSI (7- and 8-bit), CR


def _neutralised(output: bytes) -> None:
    assert b"\x1b" not in output and b"\x07" not in output and "\x9b".encode() not in output
    assert b"\\x1b]52" in output and b"\\x9b" in output, "shown escaped, so a person can still see what was sent"


async def test_the_cli_neutralises_control_characters_from_servers() -> None:
    evil = EVIL

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
        assert b"\r" not in output
        _neutralised(output)


@pytest.mark.parametrize("stderr", ["pipe", "terminal"])
async def test_the_cli_progress_neutralises_control_characters_from_servers(stderr: str) -> None:
    """The progress of `wait` shows the server's status word: as plain lines into a pipe, as a bar
    redrawn with carriage returns on a terminal (a real pseudo-terminal here)."""
    word = "\x9b2J\x1b]52;c;ZXZpbA==\x07"  # short: the bar shows the first 40 characters of the status
    answers = iter([_video("sora-2", status=word, progress=40)])

    async def odd_status(_request: Request) -> Answer:
        return whole(200, next(answers, _video("sora-2")), **{"openai-poll-after-ms": "1"})

    async with hostile_server(odd_status) as (url, _hostile):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SORA_MCP_", "OPENAI_"))}
        env |= {"OPENAI_BASE_URL": url, "OPENAI_API_KEY": KEY, "SORA_MCP_MAX_RETRIES": "0"}
        command = [sys.executable, "-m", "sora_mcp", "wait", "video_x", "--wait-timeout", "20"]
        if stderr == "pipe":
            with anyio.fail_after(30):
                result = await anyio.run_process(command, env=env, check=False)
            shown = result.stderr
        else:
            controller, terminal = os.openpty()
            try:
                with anyio.fail_after(30):
                    result = await anyio.run_process(command, env=env, check=False, stderr=terminal)
            finally:
                os.close(terminal)
            shown = _drain(controller)
    assert result.returncode == 0 and b"in progress" in shown, shown
    _neutralised(shown)


def _drain(controller: int) -> bytes:
    """What a finished process wrote to a pseudo-terminal (its other side is closed: EIO ends it)."""
    os.set_blocking(controller, False)
    data = b""
    try:
        while chunk := os.read(controller, 65536):
            data += chunk
    except OSError:  # EIO once the terminal side is closed, EAGAIN if nothing is left
        pass
    finally:
        os.close(controller)
    return data


def _video(model: str, status: str = "completed", progress: int = 100) -> bytes:
    return json.dumps({"id": "video_x", "status": status, "model": model, "progress": progress}).encode()

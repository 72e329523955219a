"""The CLI for people: every command against a real `sora-mcp emulator` process, --json output,
meaningful exit codes, --help everywhere."""

from __future__ import annotations

import argparse
import io
import json
import re
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from PIL import Image

from sora_mcp.cli import EXIT_FAILED, EXIT_OK, EXIT_TIMEOUT, EXIT_USAGE, build_parser, main
from sora_mcp.cli._progress import Progress


@pytest.fixture(scope="module")
def emulator_url() -> Iterator[str]:
    """``sora-mcp emulator --port 0`` as a child process; its base URL is the one it prints once bound."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sora_mcp", "emulator", "--port", "0", "--render-seconds", "0.3"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert process.stderr is not None
    try:
        ready, _, _ = select.select([process.stderr], [], [], 30)
        assert ready, "the emulator printed no URL within 30 s"
        match = re.search(r"(http://\S+/v1)", process.stderr.readline().decode())
        assert match is not None, "the emulator did not say where it listens"
        yield match.group(1)
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stderr.close()


@pytest.fixture
def cli(emulator_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-cli-test")
    monkeypatch.setenv("OPENAI_BASE_URL", emulator_url)
    monkeypatch.setenv("SORA_MCP_OUTPUT_DIR", str(tmp_path / "out"))
    monkeypatch.setenv("SORA_MCP_INPUT_ROOTS", str(tmp_path))

    def run(*args: str) -> tuple[int, Any]:
        code = main(list(args))
        out = capsys.readouterr().out
        try:
            return code, json.loads(out)
        except ValueError:
            return code, out

    return run


SMALL = ("--model", "t", "--size", "64x64", "--seconds", "1")


def test_every_command_with_json(cli: Any, tmp_path: Path) -> None:
    code, created = cli("generate", "a lantern in fog", *SMALL, "--json")
    assert code == EXIT_OK and created["status"] == "queued"
    video_id = created["id"]
    code, status = cli("status", video_id, "--json")
    assert code == EXIT_OK and status["id"] == video_id
    code, waited = cli("wait", video_id, "--json")
    assert code == EXIT_OK and waited["status"] == "completed"
    code, downloaded = cli("download", video_id, "--variant", "thumbnail", "--json")
    assert code == EXIT_OK and Path(downloaded["path"]).parent == tmp_path / "out"
    assert downloaded["content_type"] == "image/webp"
    code, page = cli("list", "--limit", "5", "--json")
    assert code == EXIT_OK and video_id in [video["id"] for video in page["data"]]
    code, deleted = cli("delete", video_id, "--json")
    assert code == EXIT_OK and deleted == {"id": video_id, "object": "video.deleted", "deleted": True}


def test_human_output(cli: Any, tmp_path: Path) -> None:
    clips = tmp_path / "clips"
    code, text = cli("generate", "a lantern", "--model", "sora-2", "--seconds", "4", "--wait", "--download", str(clips))
    assert code == EXIT_OK
    assert "completed" in text and "~$0.40" in text and "saved" in text
    (saved,) = clips.glob("*.mp4")
    assert str(saved) in text, "the human output says where the file is"
    code, text = cli("list")
    assert code == EXIT_OK and "sora-2" in text


def test_generate_with_image_and_fit(cli: Any, tmp_path: Path) -> None:
    image = tmp_path / "first.png"
    Image.new("RGB", (300, 100), "red").save(image)
    code, _ = cli("generate", "red", *SMALL, "--image", str(image), "--json")
    assert code == EXIT_USAGE, "a size mismatch is a usage error"
    code, created = cli("generate", "red", *SMALL, "--image", str(image), "--fit", "pad", "--json")
    assert code == EXIT_OK and created["status"] == "queued"


def test_exit_codes(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    code, error = cli("status", "video_" + "0" * 48, "--json")
    assert code == EXIT_FAILED and error["error"] == "NotFoundError"
    code, created = cli("generate", "slow", "--model", "t", "--size", "640x480", "--seconds", "20", "--json")
    code, timed_out = cli("wait", created["id"], "--wait-timeout", "0.2", "--json")  # it is queued for 0.5 s
    assert code == EXIT_TIMEOUT and timed_out["video"]["id"] == created["id"]
    code, _ = cli("generate", "x", *SMALL, "--image", "/etc/passwd")
    assert code == EXIT_USAGE
    monkeypatch.delenv("OPENAI_API_KEY")
    code, _ = cli("list")
    assert code == EXIT_USAGE
    assert main(["serve", "--transport", "streamable-http", "--host", "0.0.0.0"]) == EXIT_USAGE
    assert main(["list", "--max-retries", "99"]) == EXIT_USAGE
    assert main([]) == EXIT_USAGE


def test_backend_emulator_needs_no_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SORA_MCP_EMULATOR_RENDER_SECONDS", "0")  # the default 3 s render is waited out for real
    code = main(
        ["generate", "a kite", "--backend", "emulator", *SMALL, "--wait", "--download", str(tmp_path), "--json"]
    )
    document = json.loads(capsys.readouterr().out)
    assert code == EXIT_OK and document[0]["status"] == "completed"
    assert Path(document[1]["path"]).is_file()


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    subparsers = build_parser()._subparsers
    assert subparsers is not None
    [action] = subparsers._group_actions
    assert isinstance(action, argparse._SubParsersAction)
    commands = action.choices
    assert set(commands) == {
        *("serve", "demo", "emulator", "generate", "status", "wait", "download", "list", "delete", "spend"),
        *("install", "uninstall"),
    }
    for name in commands:
        with pytest.raises(SystemExit) as exited:
            main([name, "--help"])
        assert exited.value.code == 0
        assert "usage: sora-mcp" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    assert "OPENAI_API_KEY" in capsys.readouterr().out, "serve --help documents the environment"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_a_bar_on_a_terminal_and_lines_elsewhere() -> None:
    terminal = _Terminal()
    bar = Progress("rendering", stream=terminal, width=10)
    bar.update(50, "in progress")
    bar.update(100, "completed")
    bar.close()
    drawn = terminal.getvalue()
    assert "\rrendering [#####-----]  50.0%" in drawn and "[##########] 100.0%" in drawn
    assert drawn.endswith("\n") and drawn.count("\n") == 1, "one line, redrawn in place"

    log = io.StringIO()
    lines = Progress("rendering", stream=log)
    for percent in (0, 5, 19, 20, 99, 100):
        lines.update(percent, "in progress")
    lines.close()
    assert log.getvalue().splitlines() == [
        "rendering: 0% in progress",
        "rendering: 19% in progress",
        "rendering: 20% in progress",
        "rendering: 99% in progress",
        "rendering: 100% in progress",
    ], "a line per 10 % step, for CI logs"


def test_a_failed_job_and_a_long_list(cli: Any, emulator_url: str) -> None:
    """A job that fails: the wait exits 1 saying why and what to do, its status line shows the error;
    a list longer than a page says how to get the next one."""
    with httpx2.Client() as http:
        fault = {"kind": "fail_job", "error_code": "moderation_blocked", "error_message": "Blocked."}
        added = http.post(emulator_url.replace("/v1", "/_emulator/faults"), json=fault)
        assert added.status_code == 201
    code, created = cli("generate", "a lantern", *SMALL, "--json")
    assert code == EXIT_OK
    code, failed = cli("wait", created["id"], "--json")
    assert code == EXIT_FAILED and failed["error"] == "VideoJobError"
    assert failed["message"] == (
        f"Video {created['id']} failed (moderation_blocked: Blocked.). The prompt or reference image was blocked by "
        "the content policy: rephrase it without real people, copyrighted characters or music, and use a reference "
        "image without human faces."
    )
    code, line = cli("status", created["id"])
    assert code == EXIT_OK
    assert line.strip() == f"{created['id']}  failed  0%  t  64x64  1s  error moderation_blocked: Blocked."
    cli("generate", "another", *SMALL, "--json")
    code, page = cli("list", "--limit", "1")
    assert code == EXIT_OK
    first, more = page.strip().splitlines()
    assert more.startswith("more: sora-mcp list --after ") and more.split()[-1] == first.split()[0]


@pytest.fixture
def embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    """The CLI with the embedded emulator (in this process): no key, no server to start."""
    monkeypatch.setenv("SORA_MCP_OUTPUT_DIR", str(tmp_path / "out"))

    def run(*args: str, render_seconds: float = 0.0) -> tuple[int, str, str]:
        monkeypatch.setenv("SORA_MCP_EMULATOR_RENDER_SECONDS", str(render_seconds))
        code = main([*args, "--backend", "emulator"])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def test_exit_codes_with_the_embedded_emulator(embedded: Any) -> None:
    code, out, err = embedded("generate", "a kite", *SMALL, "--wait")
    assert code == EXIT_OK and out.startswith("video_") and "  completed  100%  t  64x64  1s" in out
    assert "rendering" not in out, "progress goes to stderr"
    code, out, err = embedded(
        "generate", "a kite", *SMALL, "--wait", "--wait-timeout", "0.01", "--json", render_seconds=60
    )
    document = json.loads(out)
    assert code == EXIT_TIMEOUT and document["error"] == "WaitTimeoutError"
    assert document["video"]["status"] in ("queued", "in_progress")
    assert "wait again with the same id to resume" in err
    code, out, err = embedded("status", "video_" + "0" * 48)
    assert code == EXIT_FAILED and out == ""
    assert err.startswith("sora-mcp: The server answered 404: Video with id 'video_") and "list_videos" in err
    code, out, err = embedded("generate", "a kite", "--size", "wide")
    assert code == EXIT_USAGE and "Size 'wide' is not WIDTHxHEIGHT." in err

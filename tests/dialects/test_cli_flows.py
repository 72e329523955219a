"""Every CLI command against every dialect: `python -m sora_mcp …` as a real process, configured only
through the environment a user would set, talking over loopback HTTP to the emulator speaking that
server's dialect. What the server lacks exits 1 with a plain message on stderr, never a traceback,
and each command's ✓ or ✗ is the one the README's matrix shows for the matching tool. (The CLI has no
remix command.) `generate` then `wait` run as the user runs them; every other command gets a video made in
this process, so each test pays for one or two Python starts, not eight."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from sora_mcp import SoraClient
from sora_mcp.cli import EMULATOR_DIALECTS
from sora_mcp.emulator import Emulator, serve_emulator
from sora_mcp.emulator._dialects import DIALECTS

from .support import NAMES, OPERATIONS, PLAINLY_UNSUPPORTED, PROFILES, PROMPT, make_emulator, settings_for
from .test_matrix import README, readme_matrix

pytestmark = pytest.mark.anyio


def test_the_cli_offers_every_dialect() -> None:
    # The CLI names them itself so that `sora-mcp --help` does not import the emulator.
    assert tuple(DIALECTS) == EMULATOR_DIALECTS


def readme_column(name: str) -> dict[str, bool]:
    """Row label -> whether the README's matrix shows ✓ for this server."""
    lines = readme_matrix(README.read_text(encoding="utf-8")).splitlines()
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    column = header.index(PROFILES[name].title)
    shown: dict[str, bool] = {}
    for (label, _, _), line in zip(OPERATIONS, lines[2:], strict=True):
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        shown[label] = cells[column].startswith("✓")
    return shown


class Cli:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.results: dict[str, tuple[int, str, str]] = {}

    async def run(self, label: str, *args: str) -> Any:
        """Run ``sora-mcp ARGS --json``; the parsed stdout when it exits 0."""
        command = [sys.executable, "-m", "sora_mcp", *args, "--json"]
        done = await anyio.run_process(command, env=self.env, check=False)
        stdout, stderr = done.stdout.decode(), done.stderr.decode()
        self.results[label] = (done.returncode, stdout, stderr)
        return json.loads(stdout) if done.returncode == 0 else None


def environment(name: str, base_url: str, out: Path) -> dict[str, str]:
    return {
        **os.environ,
        **PROFILES[name].env(base_url),
        "SORA_MCP_OUTPUT_DIR": str(out),
        "SORA_MCP_POLL_INTERVAL": "0.01",
    }


def check_against_readme(name: str, cli: Cli) -> None:
    """Each command ended as the README's matrix says; a ✗ exits 1 with a plain message, no traceback."""
    shown = readme_column(name)
    for label, (code, stdout, stderr) in cli.results.items():
        assert "Traceback" not in stderr, f"{label}: {stderr}"
        assert (code == 0) == shown[label], f"{label}: exit {code}, the README shows {shown[label]}: {stderr}"
        if code != 0:
            assert code == 1 and PLAINLY_UNSUPPORTED.search(stderr), f"{label}: {stderr}"
            assert json.loads(stdout)["message"] in stderr, "--json also prints the error as a document"


@pytest.mark.parametrize("name", NAMES)
async def test_generate_then_wait(name: str, tmp_path: Path) -> None:
    emulator = make_emulator(name)
    profile = PROFILES[name]
    async with serve_emulator(emulator) as base_url:
        cli = Cli(environment(name, base_url, tmp_path / "out"))
        with anyio.fail_after(60):
            created = await cli.run("generate", "generate", PROMPT)
            assert created is not None, cli.results["generate"][2]
            waited = await cli.run("wait", "wait", created["id"], "--wait-timeout", "20")

    check_against_readme(name, cli)
    # What the server left out of its create answer comes from the request.
    assert (created["prompt"], created["model"], created["size"], created["seconds"]) == (
        PROMPT,
        profile.model,
        profile.size,
        str(profile.seconds),
    )
    assert created["id"] in emulator.store.jobs
    assert waited["id"] == created["id"] and waited["status"] == "completed"


async def made_video(name: str, emulator: Emulator, base_url: str, tmp_path: Path) -> str:
    """A video made in this process over the same loopback HTTP, for the commands that need one."""
    settings = settings_for(name, emulator, tmp_path, host=base_url.removesuffix(emulator.dialect.base_path))
    async with SoraClient(settings) as client:
        return (await client.generate_video(PROMPT)).id


# The commands that act on a video already made, each as its own process (a Python start costs about a second).
COMMANDS: dict[str, tuple[str, ...]] = {
    "status": ("status", "{id}"),
    "download video": ("download", "{id}"),
    "download thumbnail": ("download", "{id}", "--variant", "thumbnail"),
    "download spritesheet": ("download", "{id}", "--variant", "spritesheet"),
    "list": ("list",),
    "delete": ("delete", "{id}"),
}


@pytest.mark.parametrize("label", COMMANDS)
@pytest.mark.parametrize("name", NAMES)
async def test_command_on_a_made_video(name: str, label: str, tmp_path: Path) -> None:
    emulator = make_emulator(name)
    out = tmp_path / "out"
    async with serve_emulator(emulator) as base_url:
        video_id = await made_video(name, emulator, base_url, tmp_path)
        cli = Cli(environment(name, base_url, out))
        with anyio.fail_after(60):
            result = await cli.run(label, *(arg.format(id=video_id) for arg in COMMANDS[label]))

    check_against_readme(name, cli)
    saved = sorted(path.name for path in out.iterdir()) if out.exists() else []
    assert not [file for file in saved if file.endswith(".part") or file.startswith(".")], saved
    if label.startswith("download "):
        variant = label.removeprefix("download ")
        kept = [file for file in saved if f".{variant}." in file] if variant != "video" else saved
        assert bool(kept) == (result is not None), f"nothing is saved unless the download worked: {saved}"
    if result is None:
        return
    if label == "status":
        assert (result["id"], result["status"]) == (video_id, "completed")
    elif label.startswith("download "):
        path = Path(result["path"])
        assert path.parent == out and path.stat().st_size == result["bytes"]
        assert label != "download video" or path.read_bytes()[4:8] == b"ftyp"
    elif label == "list":
        assert [video["id"] for video in result["data"]] == [video_id]
    else:
        assert result["deleted"] and video_id not in emulator.store.jobs

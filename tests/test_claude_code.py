"""A real host accepts what `sora-mcp install claude-code` writes: Claude Code (pinned, from the npm
registry) reads the user config from a temporary home and `claude mcp list` connects to the server.

No key, no login and no network are needed: `claude mcp list` only starts each server and checks the
MCP handshake. PATH holds no sora-mcp: the config's command is absolute.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.npm_tools import CLAUDE_CODE, npm_package

pytestmark = pytest.mark.slow  # its tests share one npm install: one file runs on one worker (--dist loadfile)


@pytest.fixture(scope="module")
def claude() -> Path:
    executable = npm_package(CLAUDE_CODE, "claude")
    version = subprocess.run([executable, "--version"], capture_output=True, text=True, timeout=60, check=False)
    assert CLAUDE_CODE[1] in version.stdout, (version.stdout, version.stderr)
    return executable


def host_env(home: Path) -> dict[str, str]:
    """A bare environment: a temporary home, the system PATH only, no telemetry."""
    return {
        "HOME": str(home),
        "PATH": "/usr/bin:/bin",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }


def test_claude_mcp_list_connects(claude: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    existing: dict[str, Any] = {
        "mcpServers": {"other": {"type": "stdio", "command": "/bin/true", "args": []}},
        "numStartups": 7,
    }
    (home / ".claude.json").write_text(json.dumps(existing), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SORA_MCP_", "OPENAI_", "CLAUDE_CONFIG"))}
    installed = subprocess.run(
        [sys.executable, "-m", "sora_mcp", "install", "claude-code", "--backend", "emulator"],
        env={**env, "HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr
    written = json.loads((home / ".claude.json").read_text(encoding="utf-8"))
    assert written["numStartups"] == 7 and written["mcpServers"]["other"] == existing["mcpServers"]["other"]

    listed = subprocess.run(
        [claude, "mcp", "list"], env=host_env(home), cwd=home, capture_output=True, text=True, timeout=180, check=False
    )
    output = listed.stdout + listed.stderr
    [line] = [line for line in output.splitlines() if line.startswith("sora:")] or [output]
    print(line)  # the report quotes it
    assert re.fullmatch(r"sora: .+ -m sora_mcp serve --backend emulator - [✓✔] Connected", line), output
    assert line.startswith(f"sora: {sys.executable} "), "the command is this installation's, by absolute path"
    assert "Missing environment variables" not in output


def test_project_scope_and_a_key_reference(claude: Path, tmp_path: Path) -> None:
    """`--scope project` writes the project's .mcp.json, which Claude Code runs once the project is trusted
    and the servers approved (the dialog's answers, written here as Claude Code stores them); a key given as
    `--api-key-env NAME` is `${NAME:-}`, so an unset variable is empty, not a warning."""
    home, project = tmp_path / "home", tmp_path / "my project"
    home.mkdir()
    project.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SORA_MCP_", "OPENAI_", "CLAUDE_CONFIG"))}
    for argv in (
        ["--backend", "emulator"],
        ["--name", "sora-gateway", "--base-url", "http://127.0.0.1:9/v1", "--api-key-env", "SORA_TEST_UNSET_KEY"],
    ):
        installed = subprocess.run(
            [sys.executable, "-m", "sora_mcp", "install", "claude-code", "--scope", "project", *argv],
            cwd=project,
            env={**env, "HOME": str(home)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert installed.returncode == 0, installed.stderr
    servers = json.loads((project / ".mcp.json").read_text(encoding="utf-8"))["mcpServers"]
    assert servers["sora-gateway"]["env"] == {"OPENAI_API_KEY": "${SORA_TEST_UNSET_KEY:-}"}
    approved = {"hasTrustDialogAccepted": True, "enabledMcpjsonServers": ["sora", "sora-gateway"]}
    (home / ".claude.json").write_text(json.dumps({"projects": {str(project): approved}}), encoding="utf-8")

    listed = subprocess.run(
        [claude, "mcp", "list"],
        env=host_env(home),
        cwd=project,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    output = listed.stdout + listed.stderr
    assert re.search(r"^sora: .+ serve --backend emulator - [✓✔] Connected$", output, flags=re.MULTILINE), output
    assert re.search(r"^sora-gateway: .+ --base-url http://127\.0\.0\.1:9/v1 - [✓✔] Connected$", output, re.M), output
    assert "Missing environment variables" not in output and "Warning" not in output, output

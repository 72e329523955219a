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

import pytest

from tests.npm_tools import CLAUDE_CODE, npm_package

pytestmark = pytest.mark.slow


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
    existing = {"mcpServers": {"other": {"type": "stdio", "command": "/bin/true", "args": []}}, "numStartups": 7}
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

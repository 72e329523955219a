"""The README's commands are run here, so the README cannot go stale.

- The first block holds the two commands: the demo (run for real) and the test command (which is
  what `.ci/run` runs; running pytest inside pytest would recurse, so equality is checked).
- Every `sora-mcp ...` and `claude mcp add ...` line elsewhere is run, or its server is started.
- The Development block's commands are exactly the ones `.ci/run` runs.
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client, StdioServerParameters

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
CI = (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def code_blocks() -> list[list[str]]:
    blocks = re.findall(r"```bash\n(.*?)```", README, flags=re.DOTALL)
    return [[_strip_comment(line) for line in block.splitlines() if _strip_comment(line)] for block in blocks]


def _strip_comment(line: str) -> str:
    return "" if line.lstrip().startswith("#") else re.sub(r"\s+#.*$", "", line).strip()


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SORA_MCP_", "OPENAI_"))}
    env.update(extra)
    return env


def test_readme_starts_with_the_two_commands() -> None:
    assert README.startswith("# sora-mcp\n\n```bash\n")
    first = code_blocks()[0]
    assert first == ["uv run sora-mcp demo", "uv run pytest"]
    assert "\nuv run pytest\n" in CI, ".ci/run must run the README's test command"


def test_development_commands_are_what_ci_runs() -> None:
    development = code_blocks()[-1]
    assert "bash .ci/run" in development
    for line in development:
        if line == "bash .ci/run":
            continue
        for command in line.split("&&"):
            assert f"\n{command.strip()}\n" in CI, command


@pytest.mark.slow
def test_first_command_runs_the_demo(tmp_path: Path) -> None:
    command = shlex.split(code_blocks()[0][0])
    result = subprocess.run(
        [*command, "--render-seconds", "0.5"],
        cwd=ROOT,
        env=clean_env(SORA_MCP_OUTPUT_DIR=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "download_video:" in result.stdout and "read_resource:" in result.stdout
    assert list(tmp_path.glob("video_*.mp4")) and list(tmp_path.glob("video_*.thumbnail.webp"))


def _other_commands() -> list[str]:
    return [line for block in code_blocks()[1:-1] for line in block]


def test_every_other_command_is_known() -> None:
    for line in _other_commands():
        assert line.startswith(("claude mcp add", "sora-mcp ", "uv run sora-mcp ")), line


@pytest.mark.slow
@pytest.mark.anyio
@pytest.mark.parametrize("line", [line for line in _other_commands() if line.startswith("claude mcp add")])
async def test_claude_code_lines_start_the_server(line: str, tmp_path: Path) -> None:
    words = shlex.split(line)
    server = words[words.index("--") + 1 :]
    assert server[:2] == ["uvx", "sora-mcp"]
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "sora_mcp", *server[2:]],
        env=clean_env(SORA_MCP_OUTPUT_DIR=str(tmp_path)),
    )
    with anyio.fail_after(60):
        async with Client(params) as client:
            assert "generate_video" in {tool.name for tool in (await client.list_tools()).tools}


@pytest.mark.slow
@pytest.mark.parametrize("line", [line for line in _other_commands() if "sora-mcp " in line and "claude" not in line])
def test_sora_mcp_lines_run(line: str, tmp_path: Path) -> None:
    words = shlex.split(line)
    words = words[words.index("sora-mcp") + 1 :]
    if words[0] == "emulator":
        _check_emulator_starts(words)
        return
    result = subprocess.run(
        [sys.executable, "-m", "sora_mcp", *words],
        cwd=tmp_path,
        env=clean_env(SORA_MCP_OUTPUT_DIR=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def _check_emulator_starts(words: list[str]) -> None:
    port = _free_port()
    args = [*words[: words.index("--port")], "--port", str(port)] if "--port" in words else [*words]
    process = subprocess.Popen(
        [sys.executable, "-m", "sora_mcp", *args], env=clean_env(), stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL
    )
    try:
        health = _poll(f"http://127.0.0.1:{port}/_emulator/health")
        assert health == 200
    finally:
        process.terminate()
        process.wait(timeout=10)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _poll(url: str) -> int:
    with httpx2.Client() as http:
        for _attempt in range(200):
            try:
                return http.get(url, timeout=0.5).status_code
            except httpx2.TransportError:
                anyio.run(anyio.sleep, 0.05)
    raise AssertionError(f"{url} never answered")

"""The README's commands are run here, so the README cannot go stale.

- The first block holds the two commands: the demo (run for real) and the test command (which is
  what `.ci/run` runs; running pytest inside pytest would recurse, so equality is checked).
- A block marked `<!-- runnable -->` (the HTML comment on the line before its fence) is run as it
  stands, with bash from the repository's folder, in a temporary home with no key or server configured.
- In the other blocks, a line with `<placeholders>` must parse as a `sora-mcp` command; every other
  `sora-mcp ...` line is run (the emulator's, until it answers).
- The Development block's commands are exactly the ones `.ci/run` runs.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx2
import pytest

import sora_mcp
from sora_mcp.cli import build_parser
from tests.emulator.test_command import reported_url

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
CI = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
RUNNABLE = "<!-- runnable -->"


@dataclass(frozen=True)
class Block:
    text: str
    runnable: bool

    @property
    def lines(self) -> list[str]:
        return [_strip_comment(line) for line in self.text.splitlines() if _strip_comment(line)]


def blocks() -> list[Block]:
    found = re.finditer(r"(?:^(<!-- runnable -->)\n)?^```bash\n(.*?)^```", README, flags=re.DOTALL | re.MULTILINE)
    return [Block(text=match.group(2), runnable=bool(match.group(1))) for match in found]


def code_blocks() -> list[list[str]]:
    return [block.lines for block in blocks()]


def _strip_comment(line: str) -> str:
    return "" if line.lstrip().startswith("#") else re.sub(r"\s+#.*$", "", line).strip()


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SORA_MCP_", "OPENAI_", "AZURE_OPENAI_"))}
    env.update(extra)
    return env


def test_readme_starts_with_the_two_commands() -> None:
    assert README.startswith("# sora-mcp\n\n```bash\n")
    first = code_blocks()[0]
    assert first == ["uv run sora-mcp demo", "uv run pytest"]
    assert "\nuv run pytest\n" in CI, ".ci/run must run the README's test command"


def test_then_it_says_how_to_plug_it_in() -> None:
    headings = re.findall(r"^## (.+)$", README, flags=re.MULTILINE)
    assert headings[0] == "Plug it into your assistant"
    section = README.split("## Plug it into your assistant", 1)[1].split("\n## ", 1)[0]
    assert "sora-mcp install" in section and "build_bundle.py" in section and "uvx --from dist/" in section


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


# --- blocks marked runnable ----------------------------------------------------------------------------


def runnable_blocks() -> list[Block]:
    return [block for block in blocks() if block.runnable]


def test_the_runnable_blocks_are_marked() -> None:
    commands = [line for block in runnable_blocks() for line in block.lines]
    assert "uv run sora-mcp install claude-code --backend emulator" in commands
    assert "uv run python scripts/build_bundle.py" in commands
    assert f"uvx --from dist/sora_mcp-{sora_mcp.__version__}-py3-none-any.whl sora-mcp demo" in commands
    assert not [line for line in commands if "<" in line], "a runnable block holds no placeholders"


_RAN: set[str] = set()  # the runnable blocks this process has run, successfully


# uv's words when UV_OFFLINE kept it from something its cache lacks.
OFFLINE_MISS = "the network was disabled"


def _run_block(block: Block, home: Path) -> subprocess.CompletedProcess[str]:
    """Run as a reader would paste it: bash from the repository's folder, in ``home`` (uv's cache is the
    real one, as it is for the reader). uv first answers from that cache (``UV_OFFLINE``: asking the
    index for every dependency again costs ~2 s a command); only when the cache lacks something does
    the block run again online, as on a new machine."""
    home.mkdir(parents=True)
    uv = os.environ.get("UV") or shutil.which("uv")
    assert uv is not None, "uv is needed to run the README"
    cache = subprocess.run([uv, "cache", "dir"], capture_output=True, text=True, check=True).stdout.strip()
    env = clean_env(HOME=str(home), UV_CACHE_DIR=cache)
    env["PATH"] = os.pathsep.join([str(Path(uv).parent), env.get("PATH", "")])
    for offline in ({"UV_OFFLINE": "1"}, {}):
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block.text],
            cwd=ROOT,
            env=env | offline,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if result.returncode == 0 or OFFLINE_MISS not in result.stderr:
            break
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    _RAN.add(block.text)
    return result


@pytest.mark.slow
@pytest.mark.parametrize("block", runnable_blocks(), ids=lambda block: block.lines[0][:60])
def test_runnable_block(block: Block, tmp_path: Path) -> None:
    """Each block in a home of its own. A reader runs the blocks in order (the demo block runs the wheel the
    block before it built), so the earlier blocks this process has not run yet run first."""
    earlier = runnable_blocks()[: runnable_blocks().index(block)]
    for number, before in enumerate(earlier):
        if before.text not in _RAN:
            _run_block(before, tmp_path / f"before-{number}")
    home = tmp_path / "home"
    result = _run_block(block, home)
    text = block.text
    if "install claude-code" in text:
        claude = json.loads((home / ".claude.json").read_text(encoding="utf-8"))["mcpServers"]["sora"]
        assert Path(claude["command"]).is_absolute() and Path(claude["command"]).exists()
        assert claude["args"] == ["-m", "sora_mcp", "serve", "--backend", "emulator"]
        assert (home / ".config" / "Claude" / "claude_desktop_config.json").is_file()
        assert not (home / ".config" / "Code").exists(), "--print writes nothing"
        assert '"servers"' in result.stdout
    if "build_bundle.py" in text:
        assert (ROOT / "dist" / f"sora-mcp-{sora_mcp.__version__}.mcpb").is_file()
    if "uv build" in text:
        assert (ROOT / "dist" / f"sora_mcp-{sora_mcp.__version__}-py3-none-any.whl").is_file()
    if "sora-mcp demo" in text:
        assert "read_resource:" in result.stdout
        assert list((home / ("Movies" if sys.platform == "darwin" else "Videos") / "sora-mcp").glob("video_*.mp4"))


# --- the other blocks ---------------------------------------------------------------------------------


def _other_commands() -> list[str]:
    middle = blocks()[1:-1]
    return [line for block in middle if not block.runnable for line in block.lines]


def test_every_other_command_is_known() -> None:
    for line in _other_commands():
        assert line.startswith(("sora-mcp ", "uv run sora-mcp ")), line


@pytest.mark.parametrize("line", [line for line in _other_commands() if "<" in line])
def test_template_lines_parse(line: str) -> None:
    """A line with placeholders cannot run, but its command and flags must exist."""
    words = shlex.split(line)
    words = words[words.index("sora-mcp") + 1 :]
    filled = [re.sub(r"<[^>]+>", "x", word) for word in words]
    args = build_parser().parse_args(filled)
    assert args.handler is not None


@pytest.mark.slow
@pytest.mark.parametrize("line", [line for line in _other_commands() if "<" not in line])
def test_sora_mcp_lines_run(line: str, tmp_path: Path) -> None:
    words = shlex.split(line)
    words = words[words.index("sora-mcp") + 1 :]
    if words[0] == "emulator":
        _check_emulator_starts(words)
        return
    home = tmp_path / "home"
    home.mkdir()
    if words[0] == "uninstall":  # the README's uninstall follows an install
        subprocess.run(
            [sys.executable, "-m", "sora_mcp", "install", words[1], "--backend", "emulator"],
            env=clean_env(HOME=str(home)),
            capture_output=True,
            timeout=60,
            check=True,
        )
    result = subprocess.run(
        [sys.executable, "-m", "sora_mcp", *words],
        cwd=tmp_path,
        env=clean_env(SORA_MCP_OUTPUT_DIR=str(tmp_path), HOME=str(home)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    if words[0] == "uninstall":
        assert "Removed" in result.stdout


def _check_emulator_starts(words: list[str]) -> None:
    """The README's emulator line, on port 0 (no port to race for): it reports the port it bound, and the
    health check there answers."""
    args = [*words[: words.index("--port")], "--port", "0"] if "--port" in words else [*words, "--port", "0"]
    anyio.run(_emulator_answers, args)


async def _emulator_answers(args: list[str]) -> None:
    command = [sys.executable, "-m", "sora_mcp", *args]
    async with await anyio.open_process(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, env=clean_env()
    ) as process:
        try:
            assert process.stderr is not None
            with anyio.fail_after(30):
                url = await reported_url(process.stderr)
                async with httpx2.AsyncClient(trust_env=False) as http:
                    health = await http.get(url.removesuffix("/v1") + "/_emulator/health")
            assert health.status_code == 200, health.text
        finally:
            process.terminate()
            with anyio.fail_after(10):
                await process.wait()

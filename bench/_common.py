"""Shared helpers of the benchmark scripts: timing, percentiles, machine description."""

from __future__ import annotations

import collections
import os
import platform
import re
import statistics
import subprocess
import sys
import threading
from collections.abc import Sequence

__all__ = [
    "BARE_SERVER",
    "clean_env",
    "describe_machine",
    "drain",
    "percentile",
    "start_emulator",
    "start_http_server",
    "start_sora_mcp",
    "summary",
]

# The baseline of the MCP benchmarks: a bare MCPServer with one echo tool, run on the same interpreter.
BARE_SERVER = """
from mcp.server.mcpserver import MCPServer
mcp = MCPServer("bare")

@mcp.tool()
def echo(text: str) -> str:
    return text

mcp.run()
"""


def percentile(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(values: Sequence[float], unit: str = "ms", scale: float = 1000.0) -> str:
    scaled = [v * scale for v in values]
    return (
        f"n={len(scaled)} median={statistics.median(scaled):.2f}{unit} "
        f"p99={percentile(scaled, 99):.2f}{unit} min={min(scaled):.2f}{unit} max={max(scaled):.2f}{unit}"
    )


def describe_machine() -> str:
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), Python {sys.version.split()[0]}"


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without the developer's sora-mcp / OpenAI settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SORA_MCP_", "OPENAI_"))}
    return env | extra


def start_sora_mcp(*args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """``python -m sora_mcp ARGS`` in the background, stderr piped (servers print their URL there)."""
    return subprocess.Popen(
        [sys.executable, "-m", "sora_mcp", *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def drain(process: subprocess.Popen[bytes], keep: int = 200) -> collections.deque[str]:
    """Read a child's stderr to its end in a thread, keeping the last ``keep`` lines: a child whose
    stderr pipe is never read blocks (on its next log line) once the pipe's buffer is full."""
    assert process.stderr is not None
    stream = process.stderr
    lines: collections.deque[str] = collections.deque(maxlen=keep)

    def read() -> None:
        for line in stream:
            lines.append(line.decode(errors="replace"))

    threading.Thread(target=read, daemon=True).start()
    return lines


def _listening(args: Sequence[str], announced: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """``sora-mcp ARGS`` (which binds port 0) and the URL it announces on its first stderr line, once bound.
    The rest of its stderr is drained: an unread pipe would block it on its next log line."""
    process = start_sora_mcp(*args, env=env)
    assert process.stderr is not None
    line = process.stderr.readline().decode()
    match = re.search(announced + r"(http://\S+)", line)
    if match is None:
        process.kill()
        raise RuntimeError(f"sora-mcp {args[0]} did not start: {line}")
    drain(process)
    return process, match.group(1)


def start_emulator(*args: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """``sora-mcp emulator --port 0 ARGS``; returns it and the base URL (…/v1) it reports once bound."""
    return _listening(["emulator", "--port", "0", *args], "sora-mcp emulator: ", env)


def start_http_server(*args: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """``sora-mcp serve --transport streamable-http --port 0 ARGS``; returns it and its endpoint URL."""
    return _listening(["serve", "--transport", "streamable-http", "--port", "0", *args], "on ", env)

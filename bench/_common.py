"""Shared helpers of the benchmark scripts: timing, percentiles, machine description."""

from __future__ import annotations

import os
import platform
import statistics
import sys
from collections.abc import Sequence

__all__ = ["BARE_SERVER", "describe_machine", "percentile", "summary"]

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

"""Cold start over stdio: from spawning the process until `tools/list` answers.

Compares `sora-mcp serve` (api backend and emulator backend) with a bare MCPServer exposing one
tool on the same interpreter, and prints the ratio.

    uv run python bench/cold_start.py [--runs 10]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters

sys.path.insert(0, str(Path(__file__).parent))
from _common import BARE_SERVER, describe_machine, summary


async def time_start(params: StdioServerParameters) -> float:
    started = time.perf_counter()
    async with Client(params) as client:
        await client.list_tools()
        return time.perf_counter() - started


async def main(runs: int) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SORA_MCP_", "OPENAI_"))}
    with tempfile.TemporaryDirectory() as tmp:
        env["SORA_MCP_OUTPUT_DIR"] = tmp
        bare_file = Path(tmp) / "bare_server.py"
        bare_file.write_text(BARE_SERVER, encoding="utf-8")
        targets = {
            "bare MCPServer (1 tool)": StdioServerParameters(command=sys.executable, args=[str(bare_file)], env=env),
            "sora-mcp serve": StdioServerParameters(command=sys.executable, args=["-m", "sora_mcp", "serve"], env=env),
            "sora-mcp serve --backend emulator": StdioServerParameters(
                command=sys.executable, args=["-m", "sora_mcp", "serve", "--backend", "emulator"], env=env
            ),
        }
        results: dict[str, list[float]] = {name: [] for name in targets}
        for _ in range(runs):
            for name, params in targets.items():  # interleaved, so drift hits all alike
                results[name].append(await time_start(params))
    print(f"cold start until tools/list answers, stdio, {runs} runs each — {describe_machine()}")
    bare = sorted(results["bare MCPServer (1 tool)"])[len(results["bare MCPServer (1 tool)"]) // 2]
    for name, values in results.items():
        median = sorted(values)[len(values) // 2]
        print(f"  {name:36s} {summary(values)}  ratio to bare: {median / bare:.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    anyio.run(main, parser.parse_args().runs)

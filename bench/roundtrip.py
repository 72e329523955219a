"""Tool-call round trip of get_video_status, against a direct HTTP GET to the emulator and a bare
MCP echo tool, all over stdio/loopback on this machine.

    uv run python bench/roundtrip.py [--calls 300]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import httpx2
from mcp import Client, StdioServerParameters

sys.path.insert(0, str(Path(__file__).parent))
from _common import BARE_SERVER, clean_env, describe_machine, start_emulator, summary
from download import completed_video


async def timed(call: Callable[[], Awaitable[object]], count: int) -> list[float]:
    await call()  # warm up
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - started)
    return samples


async def main(count: int) -> None:
    process, base = start_emulator("--render-seconds", "0", env=clean_env())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SORA_MCP_", "OPENAI_"))}
    env.update({"OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": base})
    try:
        video_id = completed_video(base)
        with tempfile.TemporaryDirectory() as tmp:
            env["SORA_MCP_OUTPUT_DIR"] = tmp
            bare = Path(tmp) / "bare.py"
            bare.write_text(BARE_SERVER)
            async with httpx2.AsyncClient(headers={"authorization": "Bearer sk-bench"}) as http:
                direct = await timed(lambda: http.get(f"{base}/videos/{video_id}"), count)
            sora = StdioServerParameters(command=sys.executable, args=["-m", "sora_mcp", "serve"], env=env)
            async with Client(sora) as client:
                tool = await timed(lambda: client.call_tool("get_video_status", {"video_id": video_id}), count)
            echo_server = StdioServerParameters(command=sys.executable, args=[str(bare)], env=env)
            async with Client(echo_server) as client:
                echo = await timed(lambda: client.call_tool("echo", {"text": video_id}), count)
    finally:
        process.terminate()
        process.wait()
    print(f"round trip, {count} sequential calls each — {describe_machine()}")
    print(f"  direct HTTP GET /v1/videos/{{id}}      {summary(direct)}")
    print(f"  bare MCP echo tool (stdio)            {summary(echo)}")
    print(f"  sora-mcp get_video_status (stdio)     {summary(tool)}")
    median = statistics.median
    print(
        f"  ratio get_video_status / direct GET: {median(tool) / median(direct):.2f}x;"
        f" / bare echo: {median(tool) / median(echo):.2f}x;"
        f" overhead over echo + GET: {(median(tool) - median(echo) - median(direct)) * 1000:.2f} ms"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=300)
    anyio.run(main, parser.parse_args().calls)

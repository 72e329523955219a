"""Load over Streamable HTTP: N concurrent MCP clients, each calling get_video_status and list_videos
in a loop for a bounded time against `sora-mcp serve --transport streamable-http --backend emulator`.
Prints calls, errors and latency percentiles. Traffic stays on 127.0.0.1.

    uv run python bench/load.py [--clients 50] [--seconds 20]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import anyio
from mcp import Client

sys.path.insert(0, str(Path(__file__).parent))
from _common import clean_env, describe_machine, percentile, start_http_server


async def worker(url: str, video_id: str, deadline: float, latencies: list[float], errors: list[str]) -> None:
    async with Client(url) as client:
        turn = 0
        while time.monotonic() < deadline:
            started = time.perf_counter()
            if turn % 2 == 0:
                result = await client.call_tool("get_video_status", {"video_id": video_id})
            else:
                result = await client.call_tool("list_videos", {"limit": 10})
            latencies.append(time.perf_counter() - started)
            if result.is_error:
                errors.append(str(result.content))
            turn += 1


async def main(clients: int, seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        process, url = start_http_server(
            "--backend", "emulator", "--emulator-render-seconds", "0.5", "--output-dir", tmp, env=clean_env()
        )
        try:
            async with Client(url) as setup:
                created = await setup.call_tool(
                    "generate_video", {"prompt": "load", "model": "t", "size": "64x64", "seconds": 1}
                )
                video_id = created.structured_content["id"]
            latencies: list[float] = []
            errors: list[str] = []
            cpu_before = time.process_time()
            deadline = time.monotonic() + seconds
            started = time.perf_counter()
            async with anyio.create_task_group() as tg:
                for _ in range(clients):
                    tg.start_soon(worker, url, video_id, deadline, latencies, errors)
            elapsed = time.perf_counter() - started
        finally:
            process.terminate()
            process.wait()
    ms = [v * 1000 for v in latencies]
    print(f"streamable HTTP load: {clients} concurrent clients for {seconds:.0f}s — {describe_machine()}")
    print(f"  calls {len(ms)} ({len(ms) / elapsed:.0f}/s), errors {len(errors)}")
    print(
        f"  latency p50 {percentile(ms, 50):.1f} ms, p90 {percentile(ms, 90):.1f} ms, p99 {percentile(ms, 99):.1f} ms, "
        f"max {max(ms):.1f} ms (client process CPU {time.process_time() - cpu_before:.1f}s)"
    )
    if errors:
        print("  first error:", errors[0][:300])
        raise SystemExit(1)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    anyio.run(main, args.clients, args.seconds)

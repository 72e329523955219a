"""100 jobs waited on concurrently through the MCP server: API requests must stay proportional to
jobs x (render time / poll interval) (no busy polling) and the server's CPU low while it waits.

An external emulator (render R seconds, poll hint P ms) and `sora-mcp serve --transport
streamable-http` in separate processes; the emulator counts requests, /proc gives the server's CPU.

    uv run python bench/wait_many.py [--jobs 100] [--render-seconds 10] [--poll-ms 1000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import anyio
import httpx2
from mcp import Client

sys.path.insert(0, str(Path(__file__).parent))
from _common import clean_env, describe_machine, start_emulator, start_http_server


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def main(jobs: int, render_seconds: float, poll_ms: int) -> None:
    emulator, api = start_emulator(
        "--render-seconds", str(render_seconds), "--poll-after-ms", str(poll_ms), env=clean_env()
    )
    base = api.removesuffix("/v1")
    with tempfile.TemporaryDirectory() as tmp:
        env = clean_env(OPENAI_API_KEY="sk-bench", OPENAI_BASE_URL=f"{base}/v1")
        server, url = start_http_server("--output-dir", tmp, "--wait-timeout", str(render_seconds * 3), env=env)
        try:
            async with Client(url) as client, httpx2.AsyncClient() as http:
                ids = []
                for _ in range(jobs):
                    created = await client.call_tool(
                        "generate_video", {"prompt": "wait", "model": "t", "size": "32x32", "seconds": 1}
                    )
                    ids.append(created.structured_content["id"])
                before = (await http.get(f"{base}/_emulator/stats")).json()["counts"].get("GET /videos/{video_id}", 0)
                cpu_before, started = cpu_seconds(server.pid), time.perf_counter()

                async def wait(video_id: str) -> None:
                    result = await client.call_tool("wait_for_video", {"video_id": video_id})
                    assert result.structured_content["status"] == "completed", result.content

                async with anyio.create_task_group() as tg:
                    for video_id in ids:
                        tg.start_soon(wait, video_id)
                elapsed = time.perf_counter() - started
                cpu = cpu_seconds(server.pid) - cpu_before
                after = (await http.get(f"{base}/_emulator/stats")).json()["counts"]["GET /videos/{video_id}"]
        finally:
            server.terminate()
            emulator.terminate()
            server.wait()
            emulator.wait()
    polls = after - before
    expected = jobs * (elapsed / (poll_ms / 1000))
    print(
        f"{jobs} concurrent wait_for_video calls, render {render_seconds:g}s, poll hint {poll_ms} ms — "
        f"{describe_machine()}"
    )
    print(
        f"  all completed in {elapsed:.1f}s; status requests {polls} "
        f"({polls / jobs:.1f} per job; jobs x elapsed / poll interval = {expected:.0f})"
    )
    print(f"  MCP server CPU while waiting: {cpu:.2f}s over {elapsed:.1f}s = {100 * cpu / elapsed:.1f}% of one core")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--render-seconds", type=float, default=10)
    parser.add_argument("--poll-ms", type=int, default=1000)
    args = parser.parse_args()
    anyio.run(main, args.jobs, args.render_seconds, args.poll_ms)

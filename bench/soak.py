"""Soak: mixed MCP calls with injected faults for a long time; the server's RSS and open file
descriptors are printed every minute and must stay flat.

Two processes are measured from outside: ``sora-mcp emulator`` (the API, with its fault control
plane) and ``sora-mcp serve --transport streamable-http`` pointed at it (the server under test).
Several MCP clients loop over generate -> wait -> status -> download (each variant) -> read the
resource -> list -> remix -> delete, while faults are injected on a schedule (429 with Retry-After,
500s, dropped downloads, slow answers, failed jobs). Every call must end in a result or an
actionable tool error; the counts are printed at the end.

    uv run python bench/soak.py --minutes 30
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import httpx2
from _common import clean_env, describe_machine, start_emulator, start_http_server
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

FAULTS: list[dict[str, Any]] = [
    {"kind": "status", "status": 429, "retry_after": "1", "method": "GET", "times": 3},
    {"kind": "status", "status": 500, "method": "GET", "path": "/videos/{video_id}", "times": 2},
    {"kind": "drop", "after_bytes": 4096, "method": "GET", "path": "/videos/{video_id}/content", "times": 1},
    {"kind": "delay", "delay": 0.5, "method": "GET", "times": 5},
    {"kind": "fail_job", "method": "POST", "path": "/videos", "times": 1},
    {"kind": "status", "status": 503, "method": "POST", "path": "/videos", "times": 1},
]


def resident_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="utf-8") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


async def client_loop(url: str, stop: float, counts: dict[str, int], seed: int) -> None:
    """One MCP client after another: a client whose connection fails is counted and replaced, so the soak
    goes on measuring the server (which must keep answering new clients)."""
    while time.monotonic() < stop:
        try:
            await one_client(url, stop, counts, random.Random(seed))
        except (OSError, httpx2.HTTPError, anyio.BrokenResourceError, ExceptionGroup) as exc:
            counts["client connections lost"] = counts.get("client connections lost", 0) + 1
            print(f"  client {seed}: {type(exc).__name__}: {exc}", file=sys.stderr)
        seed += 1000


async def one_client(url: str, stop: float, counts: dict[str, int], rng: random.Random) -> None:
    async with httpx2.AsyncClient(timeout=120) as http, Client(streamable_http_client(url, http_client=http)) as client:
        while time.monotonic() < stop:
            size = rng.choice(["128x96", "160x96", "96x96"])
            created = await client.call_tool(
                "generate_video", {"prompt": f"soak {rng.random()}", "model": "soak", "size": size, "seconds": 1}
            )
            count(counts, created)
            if created.is_error or not isinstance(created.structured_content, dict):
                continue
            video_id = created.structured_content["id"]
            for name, arguments in (
                ("wait_for_video", {"video_id": video_id, "timeout_seconds": 20}),
                ("get_video_status", {"video_id": video_id}),
                ("download_video", {"video_id": video_id}),
                ("download_video", {"video_id": video_id, "variant": "thumbnail"}),
                ("download_video", {"video_id": video_id, "variant": "spritesheet"}),
                ("list_videos", {"limit": 5}),
            ):
                count(counts, await client.call_tool(name, arguments))
            with contextlib.suppress(Exception):  # a resource read of a download that failed is refused
                await client.read_resource(f"sora://videos/{video_id}/thumbnail")
                counts["resource reads"] = counts.get("resource reads", 0) + 1
            if rng.random() < 0.3:
                count(counts, await client.call_tool("remix_video", {"video_id": video_id, "prompt": "again"}))
            deleted = {"video_id": video_id, "delete_local_files": True}
            count(counts, await client.call_tool("delete_video", deleted))


def count(counts: dict[str, int], result: Any) -> None:
    text = " ".join(getattr(block, "text", "") for block in result.content)
    if result.is_error and re.fullmatch(r"Error executing tool \w+", text.strip()):
        counts["crashes"] = counts.get("crashes", 0) + 1
        print(f"  crash: {text}", file=sys.stderr)
    key = "tool errors" if result.is_error else "results"
    counts[key] = counts.get(key, 0) + 1


async def inject_faults(control: str, stop: float) -> None:
    rng = random.Random(7)
    async with httpx2.AsyncClient(timeout=30) as http:
        while time.monotonic() < stop:
            try:
                await http.post(f"{control}/faults", json=rng.choice(FAULTS))
            except httpx2.HTTPError as exc:  # the soak measures the server; a slow control plane only skips a fault
                print(f"  fault not injected: {type(exc).__name__}", file=sys.stderr)
            await anyio.sleep(rng.uniform(2, 6))


async def report(
    pids: dict[str, int], stop: float, interval: float, rows: list[tuple[float, dict[str, tuple[int, int]]]]
) -> None:
    started = time.monotonic()
    while True:
        sample = {name: (resident_kib(pid), open_fds(pid)) for name, pid in pids.items()}
        rows.append((time.monotonic() - started, sample))
        cells = "  ".join(f"{name}: RSS {rss / 1024:7.1f} MiB, {fds:3d} fds" for name, (rss, fds) in sample.items())
        print(f"{(time.monotonic() - started) / 60:5.1f} min  {cells}", flush=True)
        if time.monotonic() >= stop:
            return
        await anyio.sleep(min(interval, max(0.0, stop - time.monotonic())))


async def soak(minutes: float, clients: int, interval: float) -> None:
    output = Path(tempfile.mkdtemp(prefix="sora-soak-"))
    emulator, api = start_emulator("--render-seconds", "1", "--poll-after-ms", "200", env=clean_env())
    env = clean_env(
        OPENAI_BASE_URL=api,
        OPENAI_API_KEY="sk-soak",
        SORA_MCP_OUTPUT_DIR=str(output),
        SORA_MCP_STATE_DIR=str(output / "state"),  # its own spend ledger, not the user's
    )
    server, url = start_http_server(env=env)
    stop = time.monotonic() + minutes * 60
    counts: dict[str, int] = {}
    rows: list[tuple[float, dict[str, tuple[int, int]]]] = []
    try:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(report, {"server": server.pid, "emulator": emulator.pid}, stop, interval, rows)
            tasks.start_soon(inject_faults, api.removesuffix("/v1") + "/_emulator", stop)
            for seed in range(clients):
                tasks.start_soon(client_loop, url, stop, counts, seed)
    finally:
        for process in (server, emulator):
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(10)
    first, last = rows[1][1]["server"] if len(rows) > 1 else rows[0][1]["server"], rows[-1][1]["server"]
    print(f"\n{describe_machine()}")
    print(f"calls: {dict(sorted(counts.items()))}")
    print(
        f"server RSS {first[0] / 1024:.1f} -> {last[0] / 1024:.1f} MiB (x{last[0] / max(first[0], 1):.2f}), "
        f"fds {first[1]} -> {last[1]} (after the first minute's warm-up)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between RSS/fd samples")
    args = parser.parse_args()
    anyio.run(soak, args.minutes, args.clients, args.interval)


if __name__ == "__main__":
    main()

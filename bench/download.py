"""Download throughput and peak memory for large assets, SoraClient against curl, same emulator.

The emulator serves a video padded to SIZE bytes over loopback. Each download runs in a fresh
process so its peak RSS is its own. Memory must not grow with the file size: compare the sizes.

    uv run python bench/download.py [--sizes-mb 50 500]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2

sys.path.insert(0, str(Path(__file__).parent))
from _common import describe_machine

CLIENT_CHILD = """
import json, resource, sys, time, anyio
from pathlib import Path
from sora_mcp import Settings, SoraClient

async def main():
    base, video_id, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    settings = Settings(api_key="sk-bench", base_url=base, output_dir=out.parent, max_retries=0, timeout=600)
    async with SoraClient(settings) as client:
        started = time.perf_counter()
        result = await client.download_video(video_id, out.name)
        elapsed = time.perf_counter() - started
    print(json.dumps({"seconds": elapsed, "bytes": result.bytes,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
anyio.run(main)
"""

CURL_CHILD = """
import json, resource, subprocess, sys, time
url, out = sys.argv[1], sys.argv[2]
started = time.perf_counter()
subprocess.run(["curl", "-sS", "-f", "-o", out, "-H", "Authorization: Bearer sk-bench", url], check=True)
elapsed = time.perf_counter() - started
print(json.dumps({"seconds": elapsed, "peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_emulator(pad_bytes: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sora_mcp",
            "emulator",
            "--port",
            str(port),
            "--render-seconds",
            "0",
            "--pad-video-bytes",
            str(pad_bytes),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/v1"
    with httpx2.Client() as http:
        for _ in range(400):
            try:
                http.get(base.replace("/v1", "/_emulator/health"), timeout=0.5)
                break
            except httpx2.TransportError:
                time.sleep(0.025)
    return process, base


def completed_video(base: str) -> str:
    headers = {"authorization": "Bearer sk-bench"}
    with httpx2.Client(headers=headers) as http:
        video_id = http.post(
            f"{base}/videos", json={"prompt": "big", "model": "t", "size": "64x64", "seconds": "1"}
        ).json()["id"]
        for _ in range(400):
            if http.get(f"{base}/videos/{video_id}").json()["status"] == "completed":
                return str(video_id)
            time.sleep(0.025)
    raise RuntimeError("the video never completed")


def run_child(code: str, *args: str) -> dict[str, float]:
    output = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True, text=True).stdout
    figures: dict[str, float] = json.loads(output.strip().splitlines()[-1])
    return figures


def main(sizes_mb: list[int]) -> None:
    if shutil.which("curl") is None:
        raise SystemExit("curl is needed for the comparison: apt-get install curl")
    print(f"large downloads over loopback, fresh process each — {describe_machine()}")
    for size_mb in sizes_mb:
        process, base = start_emulator(size_mb * 1024 * 1024)
        try:
            video_id = completed_video(base)
            with tempfile.TemporaryDirectory() as tmp:
                ours = run_child(CLIENT_CHILD, base, video_id, os.path.join(tmp, "ours.mp4"))
                os.remove(os.path.join(tmp, "ours.mp4"))
                curl = run_child(CURL_CHILD, f"{base}/videos/{video_id}/content", os.path.join(tmp, "curl.mp4"))
        finally:
            process.terminate()
            process.wait()
        mb = size_mb * 1024 * 1024 / 1e6
        print(
            f"  {size_mb:4d} MiB  SoraClient {mb / ours['seconds']:7.1f} MB/s, peak RSS {ours['peak_rss_mb']:6.1f} MiB"
            f" | curl {mb / curl['seconds']:7.1f} MB/s, peak RSS {curl['peak_rss_mb']:5.1f} MiB"
            f" | time ratio {ours['seconds'] / curl['seconds']:.2f}x"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes-mb", type=int, nargs="+", default=[50, 500])
    main(parser.parse_args().sizes_mb)

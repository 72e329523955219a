"""Large downloads: SoraClient.download_content against curl writing and fsyncing the same file.

The emulator serves a video padded to SIZE bytes over loopback. Each download runs in a fresh
process so its peak RSS is its own, and the contenders are interleaved round by round (the order
rotates), so load from other work on the machine hits all of them alike:

* ``curl+fsync``: ``curl -o FILE URL`` then ``sync FILE`` (coreutils: fsync of that one file). This
  is the baseline: SoraClient fsyncs before it renames the finished file into place. The same run
  also gives ``curl`` alone (the time before the sync), for reference.
* ``SoraClient``: ``download_content`` as shipped.
* ``SoraClient 256K``: the same, with httpcore2's HTTP/1.1 read size raised from 64 KiB to 256 KiB
  *in the benchmark process only* (``httpcore2.AsyncHTTP11Connection.READ_NUM_BYTES``).
* ``SoraClient 256K backend`` (``--backend-variant``): the same read size through a network backend
  wrapper (public httpcore2 interfaces) instead of the class attribute.

Times are medians over the rounds; ratios are SoraClient's median over curl+fsync's median, and
the median of the round-by-round ratios. CPU is user+system time of the download (SoraClient: measured
around the call; curl: the curl and sync processes), which load from other work disturbs less than
wall time. Peak RSS must not grow with the file size:
compare the sizes.

    uv run python bench/download.py [--sizes-mb 50 500] [--rounds 5] [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2

sys.path.insert(0, str(Path(__file__).parent))
from _common import clean_env, describe_machine, start_emulator

# argv: base URL, video id, output file, read size (0: httpcore2's default), "backend" | "constant"
CLIENT_CHILD = """
import json, resource, sys, time, anyio, httpcore2, httpx2
from pathlib import Path
from sora_mcp import Settings, SoraClient

base, video_id, out, read_size, how = sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]), sys.argv[5]


class WideReadStream(httpcore2.AsyncNetworkStream):
    def __init__(self, stream):
        self._stream = stream

    async def read(self, max_bytes, timeout=None):
        return await self._stream.read(max(max_bytes, read_size) if max_bytes >= 65536 else max_bytes, timeout)

    async def write(self, buffer, timeout=None):
        await self._stream.write(buffer, timeout)

    async def aclose(self):
        await self._stream.aclose()

    async def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        return WideReadStream(await self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info):
        return self._stream.get_extra_info(info)


class WideReadBackend(httpcore2.AsyncNetworkBackend):
    def __init__(self):
        self._backend = httpcore2.AnyIOBackend()

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        return WideReadStream(await self._backend.connect_tcp(host, port, timeout, local_address, socket_options))

    async def sleep(self, seconds):
        await self._backend.sleep(seconds)


async def main():
    http = None
    if read_size and how == "constant":
        httpcore2.AsyncHTTP11Connection.READ_NUM_BYTES = read_size
    elif read_size:
        transport = httpx2.AsyncHTTPTransport()
        transport._pool = httpcore2.AsyncConnectionPool(ssl_context=httpx2.create_ssl_context(),
                                                         network_backend=WideReadBackend())
        http = httpx2.AsyncClient(transport=transport, follow_redirects=False)
    settings = Settings(api_key="sk-bench", base_url=base, output_dir=out.parent, max_retries=0, timeout=600)
    async with SoraClient(settings, http_client=http) as client:
        before = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        result = await client.download_content(video_id, out.name, variant="video")
        elapsed = time.perf_counter() - started
    if http is not None:
        await http.aclose()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"seconds": elapsed, "bytes": result.bytes, "peak_rss_mb": usage.ru_maxrss / 1024,
                      "cpu_seconds": usage.ru_utime + usage.ru_stime - before.ru_utime - before.ru_stime}))

anyio.run(main)
"""

# argv: URL, output file. Times curl, then `sync FILE` (fsync of that file), in one run.
CURL_CHILD = """
import json, os, resource, subprocess, sys, time
url, out = sys.argv[1], sys.argv[2]
started = time.perf_counter()
subprocess.run(["curl", "-sS", "-f", "-o", out, "-H", "Authorization: Bearer sk-bench", url], check=True)
fetched = time.perf_counter()
subprocess.run(["sync", out], check=True)
synced = time.perf_counter()
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"seconds": synced - started, "curl_seconds": fetched - started, "bytes": os.path.getsize(out),
                  "peak_rss_mb": usage.ru_maxrss / 1024, "cpu_seconds": usage.ru_utime + usage.ru_stime}))
"""

READ_SIZE = 256 * 1024


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


def median(results: list[dict[str, float]], key: str) -> float:
    return statistics.median(result[key] for result in results)


def measure(size_mb: int, rounds: int, folder: Path, backend_variant: bool) -> None:
    size = size_mb * 1024 * 1024
    process, base = start_emulator("--render-seconds", "0", "--pad-video-bytes", str(size), env=clean_env())
    try:
        video_id = completed_video(base)
        url = f"{base}/videos/{video_id}/content"
        # Untimed warm-up: the emulator renders the clip once, the page cache and the CPU settle.
        subprocess.run(["curl", "-sS", "-f", "-o", os.devnull, "-H", "Authorization: Bearer sk-bench", url], check=True)
        contenders: dict[str, tuple[str, ...]] = {  # child code, then its arguments ({out}: the file)
            "curl+fsync": (CURL_CHILD, url, "{out}"),
            "SoraClient": (CLIENT_CHILD, base, video_id, "{out}", "0", "constant"),
            "SoraClient 256K": (CLIENT_CHILD, base, video_id, "{out}", str(READ_SIZE), "constant"),
        }
        if backend_variant:
            contenders["SoraClient 256K backend"] = (CLIENT_CHILD, base, video_id, "{out}", str(READ_SIZE), "backend")
        results: dict[str, list[dict[str, float]]] = {name: [] for name in contenders}
        names = list(contenders)
        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            for turn in range(rounds):
                for name in names[turn % len(names) :] + names[: turn % len(names)]:  # rotated each round
                    code, *args = contenders[name]
                    out = os.path.join(tmp, "download.mp4")
                    result = run_child(code, *(arg.format(out=out) for arg in args))
                    if result["bytes"] != size:
                        raise RuntimeError(f"{name} wrote {result['bytes']} bytes, not {size}")
                    results[name].append(result)
                    os.remove(out)
    finally:
        process.terminate()
        process.wait()
    mb = size / 1e6
    curl_fsync = median(results["curl+fsync"], "seconds")
    curl_only = median(results["curl+fsync"], "curl_seconds")
    print(f"\n{size_mb} MiB, {rounds} rounds (medians):")
    columns = ("time", 9), ("MB/s", 8), ("CPU", 8), ("peak RSS", 10), ("/ curl+fsync", 13), ("/ curl", 8)
    print(f"  {'contender':26s}" + "".join(f" {title:>{width}s}" for title, width in columns))
    rss = max(result["peak_rss_mb"] for result in results["curl+fsync"])
    print(f"  {'curl (no fsync)':26s} {curl_only * 1000:7.0f}ms {mb / curl_only:8.1f} {'':8s} {rss:8.1f}MiB")
    for name, values in results.items():
        seconds = median(values, "seconds")
        rss = max(value["peak_rss_mb"] for value in values)
        print(
            f"  {name:26s} {seconds * 1000:7.0f}ms {mb / seconds:8.1f} {median(values, 'cpu_seconds') * 1000:6.0f}ms"
            f" {rss:8.1f}MiB {seconds / curl_fsync:12.2f}x {seconds / curl_only:7.2f}x"
        )
    for name in [name for name in results if name.startswith("SoraClient")]:
        pairs = zip(results[name], results["curl+fsync"], strict=True)
        ratios = [ours["seconds"] / curl["seconds"] for ours, curl in pairs]
        listed = ", ".join(f"{ratio:.2f}" for ratio in ratios)
        print(f"  {name} / curl+fsync round by round: {listed} (median {statistics.median(ratios):.2f}x)")


def main(sizes_mb: list[int], rounds: int, folder: Path, backend_variant: bool) -> None:
    for tool in ("curl", "sync"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is needed for the comparison (apt-get install curl coreutils)")
    print(f"large downloads over loopback, fresh process each, written to {folder} — {describe_machine()}")
    for size_mb in sizes_mb:
        measure(size_mb, rounds, folder, backend_variant)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes-mb", type=int, nargs="+", default=[50, 500])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path(tempfile.gettempdir()),
        help="where files are written (a real disk: fsync must cost what it costs)",
    )
    parser.add_argument("--backend-variant", action="store_true", help="also time 256 KiB reads via a network backend")
    args = parser.parse_args()
    main(args.sizes_mb, args.rounds, args.dir, args.backend_variant)

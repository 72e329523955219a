"""Emulator render time for each size and duration (the real H.264/AAC encode, on this machine).

uv run python bench/render.py [--seconds 4 8 12] [--media full|fast]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import describe_machine

from sora_mcp._catalog import SIZES_720P, SIZES_1024P, SIZES_1080P
from sora_mcp.emulator._media import MediaMode, render_media

PROMPT = "A calico cat playing a grand piano on a small stage, warm spotlight, slow dolly-in"


def main(durations: list[int], mode: MediaMode) -> None:
    print(f"emulator render time (video + thumbnail + spritesheet), {mode} media — {describe_machine()}")
    print(f"  {'size':>10} " + " ".join(f"{d:>7}s" for d in durations))
    for size in (*SIZES_720P, *SIZES_1024P, *SIZES_1080P):
        width, height = (int(v) for v in size.split("x"))
        cells = []
        for seconds in durations:
            started = time.perf_counter()
            media = render_media(PROMPT, width, height, seconds, mode=mode)
            elapsed = time.perf_counter() - started
            cells.append(f"{elapsed:7.2f}s")
            assert media.video
        print(f"  {size:>10} " + " ".join(cells))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, nargs="+", default=[4, 8, 12])
    parser.add_argument("--media", choices=["full", "fast"], default="full", help="the emulator's media mode")
    args = parser.parse_args()
    main(args.seconds, args.media)

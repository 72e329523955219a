"""A small progress display: a bar on a terminal, plain lines elsewhere (CI logs, pipes)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from ._text import printable

__all__ = ["Progress"]


class Progress:
    """Shows a percentage. On a TTY it redraws one line; otherwise it prints a line per 10 % step."""

    def __init__(self, label: str, *, stream: TextIO | None = None, width: int = 30) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.tty = self.stream.isatty()
        self._last_step = -1
        self._started = time.monotonic()
        self._drawn = False

    def update(self, percent: float, message: str = "") -> None:
        percent = max(0.0, min(100.0, percent))
        if self.tty:
            filled = round(self.width * percent / 100)
            bar = "#" * filled + "-" * (self.width - filled)
            elapsed = time.monotonic() - self._started
            self.stream.write(f"\r{self.label} [{bar}] {percent:5.1f}% {elapsed:5.1f}s {printable(message)[:40]:<40}")
            self.stream.flush()
            self._drawn = True
            return
        step = int(percent // 10)
        if step > self._last_step:
            self._last_step = step
            suffix = f" {message}" if message else ""
            print(printable(f"{self.label}: {percent:.0f}%{suffix}"), file=self.stream, flush=True)

    def close(self) -> None:
        if self.tty and self._drawn:
            self.stream.write("\n")
            self.stream.flush()

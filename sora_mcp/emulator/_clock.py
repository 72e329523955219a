"""Where the emulator's time comes from: the system's by default, or a FakeClock that moves only
when a test advances it, so a job goes from queued to expired without any real waiting."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

__all__ = ["Clock", "FakeClock", "SystemClock"]


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds on a clock that never goes back: job status and progress."""
        ...

    def time(self) -> float:
        """Unix time in seconds: created_at, completed_at, expires_at."""
        ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()


@dataclass
class FakeClock:
    """Both readings move together, and only through ``advance``."""

    now: float = 1_700_000_000.0

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock does not go back")
        self.now += seconds

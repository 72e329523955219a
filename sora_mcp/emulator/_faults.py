"""Fault injection and request statistics."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, fields, replace
from typing import Literal

from pydantic import TypeAdapter, ValidationError

__all__ = ["Fault", "FaultPlan", "RequestStats"]

FaultKind = Literal["status", "drop", "delay", "slow", "fail_job"]


@dataclass
class Fault:
    """One injected misbehaviour, matched against requests in the order faults were added.

    kind: ``status`` answers ``status`` with the error envelope (429 also sends ``retry_after`` /
    ``retry_after_ms``); ``drop`` cuts a download after ``after_bytes``; ``delay`` sleeps ``delay``
    seconds before answering; ``slow`` sleeps ``delay`` seconds between the chunks of a download;
    ``fail_job`` makes the created job end ``failed`` with ``error_code``.
    ``path`` is a route template without /v1 (``/videos/{video_id}/content``); None matches any.
    ``times`` is how often it fires (None: forever).
    """

    kind: FaultKind
    method: str | None = None
    path: str | None = None
    times: int | None = 1
    status: int = 500
    retry_after: str | None = None
    retry_after_ms: int | None = None
    after_bytes: int = 65536
    delay: float = 0.0
    error_code: str = "moderation_blocked"
    error_message: str = "Your request was blocked by our moderation system."

    @classmethod
    def from_json(cls, data: object) -> Fault:
        """A fault from a JSON object, every field checked for its type (a number where text is expected
        is refused here, not discovered as a crash by the next API call)."""
        if not isinstance(data, dict):
            raise TypeError("a fault is a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        try:
            return _FAULT.validate_python(data)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ValueError(f"invalid fault: {problems}") from None

    def matches(self, kind: FaultKind, method: str, template: str) -> bool:
        if self.kind != kind or self.times == 0:
            return False
        if self.method is not None and self.method.upper() != method:
            return False
        return self.path is None or self.path == template


_FAULT = TypeAdapter(Fault)


@dataclass
class FaultPlan:
    """The active faults; thread-safe because tests add faults from outside the event loop."""

    active: list[Fault] = field(default_factory=list[Fault])
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, fault: Fault) -> Fault:
        """Activate a copy of ``fault`` (its ``times`` counts down; the caller's object stays as it was)."""
        active = replace(fault)
        with self._lock:
            self.active.append(active)
        return active

    def clear(self) -> None:
        with self._lock:
            self.active.clear()

    def take(self, kind: FaultKind, method: str, template: str) -> Fault | None:
        """The first matching fault, consuming one of its ``times``."""
        with self._lock:
            for fault in self.active:
                if fault.matches(kind, method, template):
                    if fault.times is not None:
                        fault.times -= 1
                    return fault
        return None


@dataclass
class RequestStats:
    """Every API request seen: (method, route template, status)."""

    requests: list[tuple[str, str, int]] = field(default_factory=list[tuple[str, str, int]])

    def record(self, method: str, template: str, status: int) -> None:
        self.requests.append((method, template, status))

    def count(self, method: str, template: str) -> int:
        return sum(1 for m, t, _ in self.requests if m == method and t == template)

    def counts(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for method, template, _status in self.requests:
            key = f"{method} {template}"
            totals[key] = totals.get(key, 0) + 1
        return totals

    def reset(self) -> None:
        self.requests.clear()

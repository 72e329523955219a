"""Helpers of the client tests: a recorded sleep (no test really waits out a backoff), a fake
clock, and a wiretap on the HTTP client so tests can assert what went over the wire.

The wiretap is an httpx event hook: requests still reach the real emulator; we only look at them.
"""

from __future__ import annotations

import io
import socket
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

import anyio
import httpx2
from PIL import Image

from sora_mcp import SoraClient, Video

# A tiny clip for a model the catalog does not know, so the emulator renders it quickly.
SMALL: dict[str, Any] = {"model": "test-model", "size": "128x96", "seconds": 1}
REAL_PAUSE = 0.01


class Sleeps:
    """Records every delay the client asks for and really pauses at most 10 ms: enough for the
    emulator's render threads to make progress, never long enough to slow the suite down."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await anyio.sleep(min(delay, REAL_PAUSE))


class FakeTime(Sleeps):
    """A monotonic clock that moves only when the client sleeps, by exactly what it asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    async def __call__(self, delay: float) -> None:
        self.now += delay
        await super().__call__(delay)


@dataclass
class Sent:
    """One request as it left the client."""

    method: str
    url: httpx2.URL
    headers: httpx2.Headers
    body: bytes

    @property
    def path(self) -> str:
        return self.url.path

    def json(self) -> Any:
        assert self.headers["content-type"] == "application/json", self.headers.get("content-type")
        return httpx2.Response(200, content=self.body).json()

    def form(self) -> dict[str, tuple[str | None, str | None, bytes]]:
        """Multipart parts by name: (filename, content type, payload)."""
        content_type = self.headers["content-type"]
        assert content_type.startswith("multipart/form-data"), content_type
        message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + self.body)
        parts: dict[str, tuple[str | None, str | None, bytes]] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            assert isinstance(name, str) and isinstance(payload, bytes)
            parts[name] = (part.get_filename(), part.get("content-type"), payload)
        return parts

    def text_fields(self) -> dict[str, str]:
        return {name: payload.decode() for name, (filename, _, payload) in self.form().items() if filename is None}


@dataclass
class Wiretap:
    """Every request the client sent, in order (an httpx ``request`` event hook)."""

    sent: list[Sent] = field(default_factory=list[Sent])

    async def __call__(self, request: httpx2.Request) -> None:
        self.sent.append(Sent(request.method, request.url, request.headers, await request.aread()))

    def only(self, method: str, path_suffix: str) -> list[Sent]:
        return [s for s in self.sent if s.method == method and s.path.endswith(path_suffix)]


def image_bytes(size: tuple[int, int], fmt: str = "PNG", color: str = "orange") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt)
    return buffer.getvalue()


async def finished(client: SoraClient, **overrides: Any) -> Video:
    """A completed small video."""
    video = await client.generate_video("a small test clip", **{**SMALL, **overrides})
    with anyio.fail_after(20):
        return await client.wait_for_completion(video.id, timeout=60)


def closed_port() -> int:
    """A loopback port nothing listens on (it was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])

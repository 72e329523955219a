"""A hostile HTTP server on loopback, for tests: it answers each request however the test says,
down to the bytes on the wire (lies about content, trickles, never ends, hangs up mid-answer).

Handlers get the parsed request and return the raw bytes to send, as an async iterator; returning
``None`` closes the connection without an answer (a lost response). One connection per request.
"""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
from anyio.abc import SocketStream

MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"


@dataclass(frozen=True)
class Request:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


Answer = AsyncIterator[bytes] | None
Handler = Callable[[Request], Awaitable[Answer]]


def head(
    status: int, headers: dict[str, str] | None = None, *, length: int | None = None, chunked: bool = False
) -> bytes:
    lines = [f"HTTP/1.1 {status} X", "connection: close", *(f"{k}: {v}" for k, v in (headers or {}).items())]
    if length is not None:
        lines.append(f"content-length: {length}")
    if chunked:
        lines.append("transfer-encoding: chunked")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def whole(status: int, body: bytes, content_type: str = "application/json", **extra: str) -> AsyncIterator[bytes]:
    yield head(status, {"content-type": content_type, **extra}, length=len(body)) + body


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


async def endless(content_type: str = "video/mp4", *, pause: float = 0.0) -> AsyncIterator[bytes]:
    """A chunked MP4 body that never ends (or a trickle, with ``pause`` between small chunks)."""
    yield head(200, {"content-type": content_type}, chunked=True) + chunk(MP4_HEAD)
    piece = b"\x00" * (1 if pause else 256 * 1024)
    while True:
        if pause:
            await anyio.sleep(pause)  # the hostile server trickles; the client under test must not wait it out
        yield chunk(piece)


def gzip_bomb(decoded_size: int) -> bytes:
    return gzip.compress(MP4_HEAD + b"\x00" * decoded_size, compresslevel=9)


@dataclass
class Hostile:
    handler: Handler
    requests: list[Request] = field(default_factory=list[Request])

    async def _serve(self, stream: SocketStream) -> None:
        async with stream:
            request = await _read_request(stream)
            if request is None:
                return
            self.requests.append(request)
            answer = await self.handler(request)
            if answer is None:
                return
            try:
                async for data in answer:
                    await stream.send(data)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError, ConnectionError):
                return  # the client gave up: that is what several tests want


async def _read_request(stream: SocketStream) -> Request | None:
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        try:
            buffer += await stream.receive()
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            return None
    head_bytes, _, body = buffer.partition(b"\r\n\r\n")
    request_line, *header_lines = head_bytes.decode("latin-1").split("\r\n")
    method, target, _version = request_line.split(" ", 2)
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in header_lines)}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        body += await stream.receive()
    return Request(method, target, headers, body)


@asynccontextmanager
async def hostile_server(handler: Handler) -> AsyncIterator[tuple[str, Hostile]]:
    """Serve ``handler`` on a free loopback port; yields (base URL ending /v1, the server's record)."""
    hostile = Hostile(handler)
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    async with listener, anyio.create_task_group() as tasks:
        tasks.start_soon(listener.serve, hostile._serve)
        try:
            yield f"http://127.0.0.1:{port}/v1", hostile
        finally:
            tasks.cancel_scope.cancel()

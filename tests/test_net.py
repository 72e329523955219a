"""The listening socket behind the emulator and the HTTP transports (port 0 read back before serving)."""

from __future__ import annotations

import asyncio
import socket

import anyio
import pytest

from sora_mcp._net import listen

pytestmark = pytest.mark.anyio


async def test_connections_accepted_by_asyncio_have_nagle_off() -> None:
    """uvicorn serves on asyncio, which sets TCP_NODELAY only on sockets whose proto is TCP: without it a
    kept-alive connection's answers each waited ~40 ms for the client's delayed ACK."""
    sock = listen("127.0.0.1", 0)
    assert sock.proto == socket.IPPROTO_TCP
    accepted: asyncio.Queue[int] = asyncio.Queue()

    async def on_connect(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer: socket.socket = writer.get_extra_info("socket")
        await accepted.put(peer.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(on_connect, sock=sock)
    async with server:
        port = sock.getsockname()[1]
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            with anyio.fail_after(10):
                nodelay = await accepted.get()
        finally:
            writer.close()
    assert nodelay != 0


def test_port_zero_is_read_back() -> None:
    sock = listen("127.0.0.1", 0)
    try:
        assert sock.getsockname()[1] > 0 and not sock.getblocking()
    finally:
        sock.close()

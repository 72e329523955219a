"""Serving the emulator on a real socket: for the CLI and for tests over loopback HTTP."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import uvicorn
from starlette.types import ASGIApp

from .._net import listen
from ._app import Emulator
from ._config import EmulatorConfig

__all__ = ["base_url", "run", "serve_emulator"]


def base_url(host: str, port: int, path: str = "/v1") -> str:
    """The API's base URL (…/v1, or the dialect's path: Azure's /openai/v1) on ``host:port``; an IPv6
    host goes in brackets."""
    return f"http://{f'[{host}]' if ':' in host else host}:{port}{path}"


@asynccontextmanager
async def serve_emulator(
    emulator: Emulator, host: str = "127.0.0.1", port: int = 0, *, app: ASGIApp | None = None
) -> AsyncIterator[str]:
    """Serve ``emulator`` with uvicorn in the current event loop; yields its base URL (…/v1, or the
    path its dialect serves the API under). ``app`` serves a wrapper of the emulator's app instead
    (tests that hold or inspect requests on the wire)."""
    sock = listen(host, port)
    config = uvicorn.Config(app or emulator.app, log_level="critical", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve, [sock])
        with anyio.fail_after(10):
            while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
                await anyio.sleep(0.005)
        try:
            yield base_url(host, sock.getsockname()[1], emulator.dialect.base_path)
        finally:
            server.should_exit = True
            server.force_exit = True
    sock.close()


def run(host: str, port: int, config: EmulatorConfig) -> None:
    """Serve the emulator until interrupted (the `sora-mcp emulator` command). The socket is bound
    before the URL is printed, so the URL names the real port even for ``--port 0``."""
    emulator = Emulator(config)
    with listen(host, port) as sock:
        url = base_url(host, sock.getsockname()[1], emulator.dialect.base_path)
        dialect = f" ({emulator.dialect.name} dialect)" if emulator.dialect.name != "openai" else ""
        print(f"sora-mcp emulator: {url}{dialect}", file=sys.stderr, flush=True)
        server = uvicorn.Server(uvicorn.Config(emulator.app, log_level="warning", lifespan="off"))
        server.run(sockets=[sock])

"""Serving the emulator on a real socket: for the CLI and for tests over loopback HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import uvicorn

from .._net import listen
from ._app import Emulator
from ._config import EmulatorConfig

__all__ = ["run", "serve_emulator"]


@asynccontextmanager
async def serve_emulator(emulator: Emulator, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Serve ``emulator`` with uvicorn in the current event loop; yields its base URL (…/v1)."""
    sock = listen(host, port)
    server = uvicorn.Server(uvicorn.Config(emulator.app, log_level="critical", lifespan="off", access_log=False))
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve, [sock])
        with anyio.fail_after(10):
            while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
                await anyio.sleep(0.005)
        try:
            yield f"http://{host}:{sock.getsockname()[1]}/v1"
        finally:
            server.should_exit = True
            server.force_exit = True
    sock.close()


def run(host: str, port: int, config: EmulatorConfig) -> None:
    """Serve the emulator until interrupted (the `sora-mcp emulator` command)."""
    uvicorn.run(Emulator(config).app, host=host, port=port, log_level="warning", lifespan="off")

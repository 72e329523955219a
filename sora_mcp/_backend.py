"""Backend wiring, for the CLI and the MCP server alike: a SoraClient for the chosen backend.

``api`` talks to ``settings.base_url``; ``emulator`` runs the local emulator in this process and
points the client at it (no key of the user's is needed or sent). The emulator, and with it PyAV
and Pillow, is imported only when that backend is chosen.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx2
from pydantic import SecretStr

from ._client import SoraClient
from ._config import Settings

__all__ = ["EMULATOR_BASE_URL", "open_client"]

EMULATOR_BASE_URL = "http://emulator.sora-mcp.invalid/v1"
EMULATOR_KEY = "sk-emulator-local"  # the embedded emulator accepts any key; this one is not a secret


def emulator_settings(settings: Settings) -> Settings:
    """Settings that point the client at the embedded emulator."""
    return settings.model_copy(
        update={
            "base_url": EMULATOR_BASE_URL,
            "api_key": SecretStr(EMULATOR_KEY),
            "auth_style": "bearer",
            "api_version": None,
        }
    )


@asynccontextmanager
async def open_client(
    settings: Settings, *, http_client: httpx2.AsyncClient | None = None
) -> AsyncIterator[SoraClient]:
    """A client of the configured backend, closed (with whatever it runs on) on exit.

    ``http_client`` is injected by tests; with the api backend and none given, the client builds its
    own on first use.
    """
    async with AsyncExitStack() as stack:
        if settings.backend == "emulator":
            from .emulator import Emulator, EmulatorConfig

            emulator = Emulator(
                EmulatorConfig(
                    render_seconds=settings.emulator_render_seconds,
                    queue_seconds=min(0.5, settings.emulator_render_seconds),
                    poll_after_ms=max(50, min(1000, int(settings.emulator_render_seconds * 100))),
                    render_ahead=True,  # a person is watching: the download comes at once, as from a real server
                )
            )
            settings = emulator_settings(settings)
            if http_client is None:
                transport = httpx2.ASGITransport(app=emulator.app)
                http_client = await stack.enter_async_context(httpx2.AsyncClient(transport=transport))
        yield await stack.enter_async_context(SoraClient(settings, http_client=http_client))

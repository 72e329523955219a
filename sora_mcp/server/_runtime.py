"""What the MCP server (and the CLI) holds while it runs: one HTTP client, one SoraClient and,
with ``--backend emulator``, the embedded emulator that the client talks to in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import httpx2
from pydantic import SecretStr

from .._client import SoraClient
from .._config import Settings
from ..emulator import Emulator, EmulatorConfig

__all__ = ["EMULATOR_BASE_URL", "Runtime", "open_runtime"]

EMULATOR_BASE_URL = "http://emulator.sora-mcp.invalid/v1"
EMULATOR_KEY = "sk-emulator-local"  # the embedded emulator accepts any key; this one is not a secret


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    client: SoraClient
    emulator: Emulator | None = None


def emulator_settings(settings: Settings) -> Settings:
    """Settings that point the client at the embedded emulator (no key of the user's is needed or sent)."""
    return settings.model_copy(
        update={
            "base_url": EMULATOR_BASE_URL,
            "api_key": SecretStr(EMULATOR_KEY),
            "auth_style": "bearer",
            "api_version": None,
        }
    )


@asynccontextmanager
async def open_runtime(settings: Settings, *, http_client: httpx2.AsyncClient | None = None) -> AsyncIterator[Runtime]:
    """Open the long-lived parts, closing them in reverse order on exit."""
    async with AsyncExitStack() as stack:
        emulator: Emulator | None = None
        if settings.backend == "emulator":
            emulator = Emulator(
                EmulatorConfig(
                    render_seconds=settings.emulator_render_seconds,
                    queue_seconds=min(0.5, settings.emulator_render_seconds),
                    poll_after_ms=max(50, min(1000, int(settings.emulator_render_seconds * 100))),
                )
            )
            settings = emulator_settings(settings)
            if http_client is None:
                transport = httpx2.ASGITransport(app=emulator.app)
                http_client = await stack.enter_async_context(httpx2.AsyncClient(transport=transport))
        client = await stack.enter_async_context(SoraClient(settings, http_client=http_client))
        yield Runtime(settings=settings, client=client, emulator=emulator)

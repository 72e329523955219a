"""Fixtures of the client tests: every client here records its sleeps, and its HTTP client carries a
wiretap (see ``support``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest

from sora_mcp import Settings, SoraClient
from sora_mcp.emulator import Emulator

from .support import Sleeps, Wiretap


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def wiretap() -> Wiretap:
    return Wiretap()


@pytest.fixture
async def http_client(emulator: Emulator, wiretap: Wiretap) -> AsyncIterator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app=emulator.app)
    async with httpx2.AsyncClient(transport=transport, event_hooks={"request": [wiretap]}) as http:
        yield http


@pytest.fixture
async def client(settings: Settings, http_client: httpx2.AsyncClient, sleeps: Sleeps) -> AsyncIterator[SoraClient]:
    async with SoraClient(settings, http_client=http_client, sleep=sleeps) as sora:
        yield sora


@pytest.fixture
def make_client(settings: Settings, http_client: httpx2.AsyncClient, sleeps: Sleeps) -> Callable[..., SoraClient]:
    """A client of the in-process emulator with some settings changed (the HTTP client is shared)."""

    def make(
        *,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        clock: Callable[[], float] | None = None,
        **overrides: Any,
    ) -> SoraClient:
        seams: dict[str, Any] = {"sleep": sleep or sleeps}
        if clock is not None:
            seams["clock"] = clock
        return SoraClient(settings.model_copy(update=overrides), http_client=http_client, **seams)

    return make


@pytest.fixture
async def live_client(settings: Settings, live_base_url: str, sleeps: Sleeps) -> AsyncIterator[SoraClient]:
    """A client that owns its HTTP client and talks to the emulator over real loopback HTTP."""
    async with SoraClient(settings.model_copy(update={"base_url": live_base_url}), sleep=sleeps) as sora:
        yield sora


@pytest.fixture
def images(settings: Settings) -> Path:
    """The folder reference images may be read from."""
    return settings.input_roots[0]

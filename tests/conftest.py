"""Shared fixtures: an emulator per test, reached in-process (ASGITransport) or over loopback HTTP."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Literal

import httpx2
import pytest

from sora_mcp import Settings
from sora_mcp._client import SoraClient
from sora_mcp.emulator import Clock, Emulator, EmulatorConfig, SystemClock, serve_emulator

TEST_KEY = "sk-test-0123456789abcdefSECRET"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "full_media: the emulator renders real-size, full-rate media (the test inspects it)"
    )
    # An xdist controller (it runs no test) boots the shared LiteLLM gateway before its workers start.
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        from tests.gateway import session

        if session.runs_gateway_tests(config):
            session.start_for_workers(config)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's real keys, proxies or sora-mcp settings."""
    for name in list(os.environ):
        if name.startswith(("SORA_MCP_", "OPENAI_", "AZURE_OPENAI_")) or name.lower().endswith("_proxy"):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _own_state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test (and each server it starts) keeps its spend ledger in a folder of its own, never the user's."""
    state = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    monkeypatch.setenv("LOCALAPPDATA", str(state))


@pytest.fixture
def emulator_config(request: pytest.FixtureRequest) -> EmulatorConfig:
    """Jobs complete at once; media is small and cheap unless the test is marked ``full_media``."""
    media: Literal["full", "fast"] = "full" if request.node.get_closest_marker("full_media") else "fast"
    return EmulatorConfig(render_seconds=0.0, queue_seconds=0.0, poll_after_ms=10, media=media)


@pytest.fixture
def emulator_clock() -> Clock:
    """Parametrize with a FakeClock (and a render_seconds > 0) to hold jobs pending until advanced."""
    return SystemClock()


@pytest.fixture
def emulator(emulator_config: EmulatorConfig, emulator_clock: Clock) -> Emulator:
    return Emulator(emulator_config, clock=emulator_clock)


@pytest.fixture
async def http_client(emulator: Emulator) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=emulator.app)) as http:
        yield http


@pytest.fixture
async def live_base_url(emulator: Emulator) -> AsyncIterator[str]:
    """The same emulator served by uvicorn on a free loopback port: real HTTP."""
    async with serve_emulator(emulator, host="127.0.0.1", port=0) as base_url:
        yield base_url


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    images = tmp_path / "images"
    images.mkdir()
    return Settings(
        api_key=TEST_KEY,
        base_url="http://emulator.test/v1",
        output_dir=tmp_path / "out",
        input_roots=[images],
        poll_interval=0.01,
    )


@pytest.fixture
async def client(settings: Settings, http_client: httpx2.AsyncClient) -> AsyncIterator[SoraClient]:
    async with SoraClient(settings, http_client=http_client) as sora:
        yield sora

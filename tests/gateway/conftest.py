"""One real LiteLLM proxy (pinned, see litellm_proxy.py) in front of one emulator, for the whole session:
a proxy start costs 7-25 s, so every gateway test shares it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from sora_mcp.emulator import Emulator, EmulatorConfig, serve_emulator

from .litellm_proxy import ProxyInfo, litellm_proxy

UPSTREAM_KEY = "sk-upstream-only-the-emulator-knows"


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """Session scope here (tests/conftest.py has it per function) so the gateway below lives for the session."""
    return "asyncio"


@dataclass(frozen=True)
class Gateway:
    emulator: Emulator
    upstream_url: str  # the emulator's …/v1, for looking behind the proxy
    proxy: ProxyInfo


@pytest.fixture(scope="session")
async def gateway(anyio_backend: str) -> AsyncIterator[Gateway]:
    # The emulator accepts only UPSTREAM_KEY, so every success also shows LiteLLM sends its configured key
    # upstream and not the client's. A 2 s render leaves time to see a pending video through the proxy.
    emulator = Emulator(EmulatorConfig(api_key=UPSTREAM_KEY, render_seconds=2.0, queue_seconds=0.1, poll_after_ms=100))
    async with (
        serve_emulator(emulator) as upstream_url,
        litellm_proxy(upstream_url, upstream_api_key=UPSTREAM_KEY) as proxy,
    ):
        yield Gateway(emulator, upstream_url, proxy)

"""One real LiteLLM proxy (pinned, see litellm_proxy.py) in front of one emulator, for the whole session.

A proxy start costs 7-25 s, so every gateway test shares one, and it boots in a background thread (its
own event loop) as soon as collection selects a gateway test: it starts while the other tests run, and
no session-long event loop is left running in the test thread (the CLI tests call ``anyio.run``)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import anyio
import pytest

from sora_mcp.emulator import Emulator, EmulatorConfig, serve_emulator

from .litellm_proxy import ProxyInfo, litellm_proxy

UPSTREAM_KEY = "sk-upstream-only-the-emulator-knows"
READY_WITHIN = 900  # the first run installs LiteLLM from the package index


@dataclass(frozen=True)
class Gateway:
    emulator: Emulator
    upstream_url: str  # the emulator's …/v1, for looking behind the proxy
    proxy: ProxyInfo


class _Background:
    """The emulator and the proxy, served from a thread of their own until the session ends."""

    def __init__(self) -> None:
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.gateway: Gateway | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="litellm-gateway", daemon=True)

    def start(self) -> None:
        if not self.thread.is_alive() and not self.ready.is_set():
            self.thread.start()

    def _run(self) -> None:
        try:
            anyio.run(self._serve)
        except BaseException as exc:  # reported by wait(), in the test that needs the gateway
            self.error = exc
        finally:
            self.ready.set()

    async def _serve(self) -> None:
        # The emulator accepts only UPSTREAM_KEY, so every success also shows LiteLLM sends its configured
        # key upstream and not the client's. A 2 s render leaves time to see a pending video through the proxy.
        config = EmulatorConfig(api_key=UPSTREAM_KEY, render_seconds=2.0, queue_seconds=0.1, poll_after_ms=100)
        emulator = Emulator(config)
        async with (
            serve_emulator(emulator) as upstream,
            litellm_proxy(upstream, upstream_api_key=UPSTREAM_KEY) as proxy,
        ):
            self.gateway = Gateway(emulator, upstream, proxy)
            self.ready.set()
            await anyio.to_thread.run_sync(self.stop.wait)

    def wait(self) -> Gateway:
        if not self.ready.wait(READY_WITHIN):
            raise TimeoutError(f"the LiteLLM gateway was not ready within {READY_WITHIN} s")
        if self.gateway is None:
            raise RuntimeError(f"the LiteLLM gateway did not start: {self.error!r}") from self.error
        return self.gateway

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=60)


_BACKGROUND = _Background()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Start the gateway early, while other tests run, when this process will run gateway tests: not for
    ``--collect-only``, and not in xdist workers (each collects every test; the one that runs the
    gateway file starts it with its first test)."""
    if config.option.collectonly or os.environ.get("PYTEST_XDIST_WORKER") is not None:
        return
    if any("tests/gateway/" in item.nodeid for item in items):
        _BACKGROUND.start()


@pytest.fixture(scope="session")
def gateway() -> Iterator[Gateway]:
    _BACKGROUND.start()
    yield _BACKGROUND.wait()
    _BACKGROUND.close()

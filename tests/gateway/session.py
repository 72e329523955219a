"""One real LiteLLM proxy (pinned, see litellm_proxy.py) in front of one emulator, for the whole test session.

A proxy start costs 7-25 s, so every gateway test shares one, booted in a background thread (its own event
loop) as early as possible, so that it starts while other tests run:

- without xdist, by the process that runs the tests, as soon as its collection selects a gateway test;
- with xdist, by the controller when the run will include the gateway tests (``start_for_workers``, from
  ``pytest_configure``, before the workers exist). The controller holds an exclusive lock on a file while the
  gateway boots and releases it once ``gateway.json`` (or ``error.txt``) is written; a worker that needs the
  gateway waits on that lock (``gateway``), so nobody polls and only one proxy runs, whichever worker gets
  the gateway tests.

No session-long event loop is left running in a test thread (the CLI tests call ``anyio.run``).
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest

from sora_mcp.emulator import Emulator, EmulatorConfig, serve_emulator

from .litellm_proxy import ProxyInfo, litellm_proxy

UPSTREAM_KEY = "sk-upstream-only-the-emulator-knows"
READY_WITHIN = 900  # the first run installs LiteLLM from the package index
HANDOFF = "SORA_TESTS_GATEWAY_DIR"  # not SORA_MCP_…: the tests clear those from their environment
GATEWAY_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Gateway:
    upstream_url: str  # the emulator's …/v1, for looking behind the proxy
    proxy: ProxyInfo

    def to_json(self) -> str:
        proxy = {**dataclasses.asdict(self.proxy), "log_path": str(self.proxy.log_path)}
        return json.dumps({"upstream_url": self.upstream_url, "proxy": proxy})

    @classmethod
    def from_json(cls, text: str) -> Gateway:
        data = json.loads(text)
        proxy = ProxyInfo(**{**data["proxy"], "log_path": Path(data["proxy"]["log_path"])})
        return cls(upstream_url=data["upstream_url"], proxy=proxy)


class _Background:
    """The emulator and the proxy, served from a thread of their own until ``close``."""

    def __init__(self, on_ready: Callable[[_Background], None] = lambda _: None) -> None:
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.gateway: Gateway | None = None
        self.error: BaseException | None = None
        self.on_ready = on_ready
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
            self._set_ready()

    def _set_ready(self) -> None:
        if not self.ready.is_set():
            self.ready.set()
            self.on_ready(self)

    async def _serve(self) -> None:
        # The emulator accepts only UPSTREAM_KEY, so every success also shows LiteLLM sends its configured
        # key upstream and not the client's. A 2 s render leaves time to see a pending video through the proxy.
        config = EmulatorConfig(api_key=UPSTREAM_KEY, render_seconds=2.0, queue_seconds=0.1, poll_after_ms=100)
        async with (
            serve_emulator(Emulator(config)) as upstream,
            litellm_proxy(upstream, upstream_api_key=UPSTREAM_KEY) as proxy,
        ):
            self.gateway = Gateway(upstream, proxy)
            self._set_ready()
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


def start_here() -> None:
    """Boot the gateway in this process (idempotent)."""
    _BACKGROUND.start()


def gateway() -> Gateway:
    """The session's gateway: the controller's when it started one for the workers, else this process's."""
    shared = os.environ.get(HANDOFF)
    if shared:
        return _from_controller(Path(shared))
    start_here()
    return _BACKGROUND.wait()


def close_here() -> None:
    if _BACKGROUND.thread.is_alive():
        _BACKGROUND.close()


def _from_controller(directory: Path) -> Gateway:
    descriptor = os.open(directory / "ready.lock", os.O_RDONLY)
    try:
        # Blocks until the controller releases its exclusive lock, i.e. until the gateway is up or has failed.
        waiter = threading.Thread(target=fcntl.flock, args=(descriptor, fcntl.LOCK_SH), daemon=True)
        waiter.start()
        waiter.join(READY_WITHIN)
        if waiter.is_alive():
            raise TimeoutError(f"the LiteLLM gateway was not ready within {READY_WITHIN} s")
    finally:
        os.close(descriptor)
    if (directory / "error.txt").exists():
        raise RuntimeError(f"the LiteLLM gateway did not start: {(directory / 'error.txt').read_text()}")
    return Gateway.from_json((directory / "gateway.json").read_text(encoding="utf-8"))


def runs_gateway_tests(config: pytest.Config) -> bool:
    """Whether this run's arguments include the gateway tests (nothing filtered by -k or -m)."""
    if config.option.collectonly or config.option.keyword or config.option.markexpr:
        return False
    for arg in config.args:
        path = Path(config.invocation_params.dir, arg.split("::", 1)[0]).resolve()
        if path == GATEWAY_DIR or GATEWAY_DIR.is_relative_to(path) or path.is_relative_to(GATEWAY_DIR):
            return True
    return False


def start_for_workers(config: pytest.Config) -> None:
    """In an xdist controller, before the workers start: boot the gateway here and tell them where to find it."""
    directory = Path(tempfile.mkdtemp(prefix="sora-tests-gateway-"))
    descriptor = os.open(directory / "ready.lock", os.O_CREAT | os.O_RDWR, 0o600)
    fcntl.flock(descriptor, fcntl.LOCK_EX)

    def publish(background: _Background) -> None:
        if background.gateway is not None:
            (directory / "gateway.json").write_text(background.gateway.to_json(), encoding="utf-8")
        else:
            (directory / "error.txt").write_text(repr(background.error), encoding="utf-8")
        fcntl.flock(descriptor, fcntl.LOCK_UN)

    background = _Background(on_ready=publish)

    def stop() -> None:
        background.close()
        os.close(descriptor)
        shutil.rmtree(directory, ignore_errors=True)
        os.environ.pop(HANDOFF, None)

    os.environ[HANDOFF] = str(directory)
    config.add_cleanup(stop)
    background.start()

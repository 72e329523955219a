"""A real LiteLLM proxy, pinned, in front of an upstream that speaks /v1/videos (our emulator), for gateway tests.

OpenAI's own Videos API is gone; users reach the contract through gateways, so we test through the real thing,
never a mock. LiteLLM runs from its own isolated environment made by ``uvx`` (it must never become a dependency
of the project or share our venv), in two steps with separate time limits:

1. install (first use only, a minute or more with a cold uv cache): ``uvx`` builds the pinned environment, then
   we compile its bytecode once. uv does not compile by default and PYTHONDONTWRITEBYTECODE=1 (set where these
   tests were written) stops Python from caching it, so without this every start re-compiles litellm's thousands
   of modules: 23 s to answer instead of 10;
2. start (bounded): the environment's own ``litellm`` executable (one process, so terminating it ends it; ``uvx``
   would put a second process in between and re-resolve on every start) with a config written to a temp dir,
   port 0, no database, telemetry vetoed, the model cost map read from the package and every non-loopback HTTP
   request sent to a dead loopback proxy.

If LiteLLM cannot be installed or started the caller gets an error that says what to run by hand, never a skip:
a gateway test that silently does not run would hide exactly the regressions it is here for.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Final

import anyio
import httpx2
from anyio.abc import Process

__all__ = ["LITELLM_VERSION", "LiteLLMProxyError", "ProxyInfo", "litellm_proxy"]

LITELLM_VERSION: Final = "1.108.7"  # the newest whose [proxy] extra installs from the package index
LITELLM_REQUIREMENT: Final = f"litellm[proxy]=={LITELLM_VERSION}"

INSTALL_TIMEOUT: Final = 900.0  # a cold install downloads ~116 packages (~200 MB); later runs hit uv's cache
START_TIMEOUT: Final = 120.0  # ~10 s on an idle machine, 25 s seen with both cores busy
STOP_TIMEOUT: Final = 15.0  # it shuts down in well under a second when asked; then it is killed

# Where LiteLLM's HTTP clients (aiohttp and httpx both honour the standard proxy variables) send anything not on
# loopback: port 9 (discard) refuses, so a request that would have left the machine (an id LiteLLM did not mint
# is looked up at https://api.openai.com, for one) fails fast and locally instead.
_DEAD_PROXY: Final = "http://127.0.0.1:9"

_LISTENING: Final = re.compile(rb"Uvicorn running on https?://[^\s/]+:(\d+)")

# Run inside LiteLLM's environment by the install step: compile it once (a marker in the environment says it is
# done; walking 116 packages to find out costs 3 s), then say where it is and what it is. The JSON goes on the
# last line: compileall prints what it could not compile (packages ship test data that is not Python 3), which is
# not a failure.
_INSTALL_SCRIPT: Final = """\
import compileall, importlib.metadata, json, pathlib, sys, sysconfig
marker = pathlib.Path(sys.prefix, ".bytecode-compiled-by-sora-mcp-tests")
if not marker.exists():
    compileall.compile_dir(sysconfig.get_path("purelib"), quiet=1, workers=0)
    marker.touch()
print(json.dumps({"scripts": sysconfig.get_path("scripts"), "version": importlib.metadata.version("litellm")}))
"""


class LiteLLMProxyError(RuntimeError):
    """LiteLLM could not be installed or started; the message says what to run by hand."""


@dataclasses.dataclass(frozen=True, slots=True)
class ProxyInfo:
    base_url: str  # http://127.0.0.1:<port>/v1
    master_key: str  # what clients send as `Authorization: Bearer …`
    version: str  # litellm's version, as installed
    model: str  # the model name clients ask for
    upstream_api_key: str  # what LiteLLM sends upstream: never the master key
    log_path: Path  # LiteLLM's stdout and stderr, for the curious while the proxy runs
    install_seconds: float  # the install step (uvx + bytecode check) in this process, 0.0 when already done
    startup_seconds: float  # from spawning the process to the first answer


@dataclasses.dataclass(frozen=True, slots=True)
class _Installed:
    executable: Path
    version: str
    seconds: float


_installed: _Installed | None = None  # one install step per test process


def _uvx() -> list[str]:
    if uvx := shutil.which("uvx"):
        return [uvx]
    if uv := shutil.which("uv"):
        return [uv, "tool", "run"]
    raise LiteLLMProxyError(
        "neither `uvx` nor `uv` is on PATH: install uv (https://docs.astral.sh/uv/), then run\n"
        f"  uvx --from '{LITELLM_REQUIREMENT}' litellm --version"
    )


def _by_hand() -> str:
    env = " ".join(f"{name}={shlex.quote(value)}" for name, value in sorted(_LITELLM_SETTINGS.items()))
    return f"  {env} \\\n  uvx --from '{LITELLM_REQUIREMENT}' litellm --config config.yaml --host 127.0.0.1 --port 4000"


def _tail(data: bytes, lines: int = 40) -> str:
    text = data.decode("utf-8", "replace").rstrip()
    return "\n".join(text.splitlines()[-lines:]) or "(empty)"


async def _install() -> _Installed:
    global _installed
    if _installed is not None:
        return _Installed(_installed.executable, _installed.version, 0.0)
    by_hand = f"  uvx --from '{LITELLM_REQUIREMENT}' litellm --version"
    # Said up front (pytest shows it with the failure): the first run may sit here for a minute or more.
    print(f"installing {LITELLM_REQUIREMENT} with uvx (once; a cold uv cache takes a minute or more)", file=sys.stderr)
    started = time.monotonic()
    try:
        with anyio.fail_after(INSTALL_TIMEOUT):
            # Offline first: when uv's cache has it this takes 0.3 s instead of 4 s of index revalidation.
            for offline in (["--offline"], []):
                command = [*_uvx(), *offline, "--from", LITELLM_REQUIREMENT, "python", "-c", _INSTALL_SCRIPT]
                result = await anyio.run_process(command, stdin=subprocess.DEVNULL, check=False)
                if result.returncode == 0:
                    break
    except TimeoutError:
        raise LiteLLMProxyError(
            f"installing {LITELLM_REQUIREMENT} with uvx took more than {INSTALL_TIMEOUT:.0f} s; run by hand:\n{by_hand}"
        ) from None
    seconds = time.monotonic() - started
    if result.returncode != 0:
        raise LiteLLMProxyError(
            f"installing {LITELLM_REQUIREMENT} with uvx failed (exit {result.returncode}); run by hand:\n{by_hand}\n"
            f"--- its output (tail) ---\n{_tail(result.stdout + result.stderr)}"
        )
    try:
        found = json.loads(result.stdout.decode().splitlines()[-1])
        executable = Path(found["scripts"]) / ("litellm.exe" if sys.platform == "win32" else "litellm")
        version = str(found["version"])
    except (ValueError, IndexError, KeyError, TypeError) as exc:
        raise LiteLLMProxyError(
            f"the {LITELLM_REQUIREMENT} environment did not describe itself: {exc!r}\n"
            f"--- its output (tail) ---\n{_tail(result.stdout + result.stderr)}"
        ) from None
    if version != LITELLM_VERSION or not executable.is_file():
        raise LiteLLMProxyError(
            f"uvx gave litellm {version} at {executable}, not {LITELLM_VERSION}; run by hand:\n{by_hand}"
        )
    print(f"litellm {version} ready at {executable} after {seconds:.1f} s", file=sys.stderr)
    _installed = _Installed(executable, version, seconds)
    return _installed


# What LiteLLM 1.108.7 reads that matters here (from its source):
_LITELLM_SETTINGS: Final[Mapping[str, str]] = {
    # litellm_core_utils/get_model_cost_map.py: otherwise every start fetches the cost map from GitHub, retrying
    # three times (7 s lost when offline) before falling back to the copy in the package.
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    # proxy/telemetry/settings.py: the veto (off is already the default without stored consent, and the old
    # `--telemetry False` flag is a no-op kept for old command lines).
    "LITELLM_TELEMETRY_DISABLED": "true",
    "HTTP_PROXY": _DEAD_PROXY,
    "HTTPS_PROXY": _DEAD_PROXY,
    "NO_PROXY": "127.0.0.1,localhost",
}


def _environment(home: Path) -> dict[str, str]:
    """Built from nothing, not inherited: no DATABASE_URL (no database), no developer keys, no PORT, no proxies
    of ours; HOME is the temp dir so nothing LiteLLM writes outlives it."""
    env = {name: os.environ[name] for name in ("PATH", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT") if name in os.environ}
    env.update(_LITELLM_SETTINGS)
    env.update({"HOME": str(home), "PYTHONUNBUFFERED": "1"})
    return env


def _config(upstream_base_url: str, model: str, upstream_api_key: str, master_key: str) -> str:
    # JSON is YAML (LiteLLM reads the file with yaml.safe_load): exact quoting without a YAML writer.
    return json.dumps(
        {
            "model_list": [
                {
                    "model_name": model,
                    "litellm_params": {
                        "model": f"openai/{model}",
                        "api_base": upstream_base_url,
                        "api_key": upstream_api_key,
                    },
                }
            ],
            "general_settings": {"master_key": master_key},
        },
        indent=2,
    )


async def _stop(process: Process) -> None:
    # Shielded: this runs while the test is being torn down, often because it was cancelled, and a proxy left
    # running would outlive the tests with its port and ~330 MB of memory.
    with anyio.CancelScope(shield=True):
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            with anyio.move_on_after(STOP_TIMEOUT):
                await process.wait()
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        await process.aclose()


async def _wait_until_ready(process: Process, log_path: Path, http: httpx2.AsyncClient, info: ProxyInfo) -> str:
    """Wait for the port in LiteLLM's log, then for an answer that lists ``info.model``; returns the base URL."""
    log = anyio.Path(log_path)
    port: int | None = None
    while True:
        if process.returncode is not None:
            raise LiteLLMProxyError(f"LiteLLM exited with {process.returncode} before answering")
        if port is None and (found := _LISTENING.search(await log.read_bytes())):
            port = int(found[1])
        if port is not None:
            with contextlib.suppress(httpx2.TransportError):
                if (await http.get(f"http://127.0.0.1:{port}/health/liveliness")).status_code == 200:
                    break
        # A child process offers nothing to await for "listening" or "ready": poll its log and its health route.
        await anyio.sleep(0.1)
    # Alive is not configured: check that it read our config (a typo there still starts a proxy with no models).
    models = await http.get(
        f"http://127.0.0.1:{port}/v1/models", headers={"Authorization": f"Bearer {info.master_key}"}
    )
    try:
        names = [entry.get("id") for entry in models.json()["data"]]
    except (ValueError, KeyError, TypeError, AttributeError):
        names = []
    if info.model not in names:
        raise LiteLLMProxyError(
            f"LiteLLM answers but does not serve {info.model!r}: "
            f"/v1/models said {models.status_code} {models.text[:500]}"
        )
    return f"http://127.0.0.1:{port}/v1"


@asynccontextmanager
async def litellm_proxy(
    upstream_base_url: str, *, model: str = "sora-2", upstream_api_key: str = "sk-upstream-litellm-test"
) -> AsyncIterator[ProxyInfo]:
    """A real LiteLLM proxy (``LITELLM_VERSION``) routing ``model`` to ``openai/<model>`` at ``upstream_base_url``
    (…/v1), on a free loopback port, for the duration of the block. Raises `LiteLLMProxyError` if it cannot be
    installed or started."""
    installed = await _install()
    with tempfile.TemporaryDirectory(prefix="litellm-proxy-", ignore_cleanup_errors=True) as tmp:
        root = Path(tmp)
        (root / "home").mkdir()
        config_path = root / "config.yaml"
        log_path = root / "litellm.log"
        info = ProxyInfo(
            base_url="",  # known once it answers
            master_key="sk-litellm-master-" + secrets.token_hex(12),  # LiteLLM insists on the sk- prefix
            version=installed.version,
            model=model,
            upstream_api_key=upstream_api_key,
            log_path=log_path,
            install_seconds=installed.seconds,
            startup_seconds=0.0,
        )
        await anyio.Path(config_path).write_text(_config(upstream_base_url, model, upstream_api_key, info.master_key))
        # Port 0: uvicorn binds a free port itself and logs which, so there is no window in which another
        # process can take a port we picked.
        command = [str(installed.executable), "--config", str(config_path), "--host", "127.0.0.1", "--port", "0"]
        log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        started = time.monotonic()
        try:
            process = await anyio.open_process(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log_fd,
                stderr=subprocess.STDOUT,
                cwd=root,
                env=_environment(root / "home"),
            )
        finally:
            os.close(log_fd)  # the child has its own copy
        try:
            async with httpx2.AsyncClient(timeout=5.0, trust_env=False) as http:
                try:
                    with anyio.fail_after(START_TIMEOUT):
                        base_url = await _wait_until_ready(process, log_path, http, info)
                except (LiteLLMProxyError, TimeoutError) as exc:
                    reason = str(exc) or f"LiteLLM did not answer within {START_TIMEOUT:.0f} s"
                    await _stop(process)
                    raise LiteLLMProxyError(
                        f"{reason}.\nStarted as: {shlex.join(command)}\n"
                        f"By hand, with the config below saved as config.yaml:\n{_by_hand()}\n"
                        f"--- config ---\n{await anyio.Path(config_path).read_text()}\n"
                        f"--- LiteLLM's output (tail) ---\n{_tail(await anyio.Path(log_path).read_bytes())}"
                    ) from None
            ready = dataclasses.replace(info, base_url=base_url, startup_seconds=time.monotonic() - started)
            yield ready
        finally:
            await _stop(process)

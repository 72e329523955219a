"""`sora-mcp emulator` as a user runs it: a real process that reports the port it bound."""

from __future__ import annotations

import re
import subprocess
import sys

import anyio
import httpx2
import pytest
from anyio.abc import ByteReceiveStream
from anyio.streams.text import TextReceiveStream

pytestmark = pytest.mark.anyio

# port 0 would be the requested port echoed back, not a bound one
URL = re.compile(
    r"^sora-mcp emulator: (http://127\.0\.0\.1:([1-9]\d*)(?:/openai)?/v1)( \(\S+ dialect\))?$", re.MULTILINE
)


async def reported_url(stderr: ByteReceiveStream) -> str:
    seen = ""
    async for text in TextReceiveStream(stderr):
        seen += text
        match = URL.search(seen)
        if match:
            return match.group(1)
    raise AssertionError(f"the emulator exited without reporting a bound URL: {seen!r}")


@pytest.mark.parametrize(
    ("dialect", "path", "auth"),
    [("openai", "/v1", {"authorization": "Bearer sk-test"}), ("azure", "/openai/v1", {"api-key": "any-key"})],
)
async def test_port_zero_reports_the_bound_port(dialect: str, path: str, auth: dict[str, str]) -> None:
    command = [sys.executable, "-m", "sora_mcp", "emulator", "--port", "0", "--dialect", dialect]
    async with await anyio.open_process(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL) as process:
        try:
            assert process.stderr is not None
            with anyio.fail_after(30):
                url = await reported_url(process.stderr)
                async with httpx2.AsyncClient() as http:
                    response = await http.get(f"{url}/videos", headers=auth)
            assert url.endswith(path) and response.status_code == 200 and response.json()["object"] == "list"
        finally:
            process.terminate()
            with anyio.fail_after(10):
                await process.wait()

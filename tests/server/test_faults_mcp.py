"""Faults seen through the MCP tools: each is recovered or comes back as a tool error that says what
to do; no partial file appears under a final name; a create is never sent twice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest
from mcp import Client

from sora_mcp import Settings
from sora_mcp.emulator import Emulator, EmulatorConfig, Fault, serve_emulator
from sora_mcp.server import create_server
from tests.client.support import closed_port
from tests.server.conftest import SMALL, error_text, structured

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def over_loopback(emulator: Emulator, settings: Settings, **overrides: object) -> AsyncIterator[Client]:
    async with serve_emulator(emulator) as base_url:
        configured = settings.model_copy(update={"base_url": base_url, **overrides})
        async with Client(create_server(configured)) as client:
            yield client


async def _completed(client: Client) -> str:
    created = structured(await client.call_tool("generate_video", {"prompt": "a bell", **SMALL}))
    with anyio.fail_after(20):
        structured(await client.call_tool("wait_for_video", {"video_id": created["id"], "timeout_seconds": 15}))
    return str(created["id"])


SERVER_FAILED = "The server failed; try again in a moment. If it persists, check the provider's status page."


@pytest.mark.parametrize(
    ("fault", "answer", "advice"),
    [
        (Fault(kind="status", status=429, retry_after_ms=10, method="GET"), None, None),
        (Fault(kind="status", status=429, method="GET"), None, None),
        (Fault(kind="status", status=500, method="GET"), None, None),
        (Fault(kind="status", status=502, method="GET"), None, None),
        (
            Fault(kind="status", status=503, method="GET", times=None),
            "503: The server had an error while processing your request.",
            SERVER_FAILED,
        ),
        (
            Fault(kind="status", status=429, retry_after="3600", method="GET"),
            "429: Rate limit reached for requests.",
            "Rate limited or out of quota: wait 3600s and try again, or check the account's limits and billing.",
        ),
    ],
    ids=["429-hint", "429-no-hint", "500", "502", "503-persistent", "429-long-hint"],
)
async def test_status_faults_on_reads(
    emulator: Emulator, mcp_client: Client, fault: Fault, answer: str | None, advice: str | None
) -> None:
    """Transient faults are retried away (answer None); the rest end in the server's answer and what to do."""
    created = structured(await mcp_client.call_tool("generate_video", {"prompt": "a bell", **SMALL}))
    emulator.faults.add(fault)
    result = await mcp_client.call_tool("get_video_status", {"video_id": created["id"]})
    if answer is None:
        assert structured(result)["id"] == created["id"]
        return
    text = error_text(result)
    assert text.startswith(f"Error executing tool get_video_status: The server answered {answer}"), text
    assert advice is not None and text.endswith(advice), text


@pytest.mark.parametrize("status", [429, 500, 502, 503])
async def test_create_faults_are_reported_and_never_repeated(
    emulator: Emulator, mcp_client: Client, status: int
) -> None:
    emulator.faults.add(Fault(kind="status", status=status, method="POST", times=None, retry_after="1"))
    text = error_text(await mcp_client.call_tool("generate_video", {"prompt": "a bell", **SMALL}))
    assert f"Error executing tool generate_video: The server answered {status}: " in text
    if status == 429:
        assert text.endswith(
            "Rate limited or out of quota: wait 1s and try again, or check the account's limits and billing."
        )
    else:
        assert "The server may have created the job before it failed: do not send it again blindly." in text
    assert emulator.stats.count("POST", "/videos") == 1


async def test_connection_refused(settings: Settings) -> None:
    configured = settings.model_copy(update={"base_url": f"http://127.0.0.1:{closed_port()}/v1", "max_retries": 0})
    async with Client(create_server(configured)) as client:
        text = error_text(await client.call_tool("list_videos", {}))
    assert "Could not reach" in text and "OPENAI_BASE_URL" in text


async def test_slow_server_past_the_timeout(emulator: Emulator, settings: Settings) -> None:
    emulator.faults.add(Fault(kind="delay", delay=5, method="GET", times=None))
    async with over_loopback(emulator, settings, timeout=0.2, max_retries=0) as client:
        with anyio.fail_after(5):
            text = error_text(await client.call_tool("list_videos", {}))
    assert "SORA_MCP_TIMEOUT" in text


async def test_dropped_download_recovers_or_leaves_nothing(emulator: Emulator, settings: Settings) -> None:
    async with over_loopback(emulator, settings) as client:
        video_id = await _completed(client)
        emulator.faults.add(Fault(kind="drop", path="/videos/{video_id}/content", after_bytes=500))
        saved = Path(structured(await client.call_tool("download_video", {"video_id": video_id}))["path"])
        assert saved.stat().st_size > 500
        saved.unlink()
        emulator.faults.add(Fault(kind="drop", path="/videos/{video_id}/content", after_bytes=500, times=None))
        text = error_text(await client.call_tool("download_video", {"video_id": video_id}))
        assert "download again" in text
        uris = {str(r.uri) for r in (await client.list_resources()).resources}
    assert not saved.exists() and f"sora://videos/{video_id}/video" not in uris
    assert not [p for p in settings.output_dir.iterdir() if p.name.endswith(".part")]


async def test_job_failure_and_expired_assets(emulator: Emulator, mcp_client: Client) -> None:
    video_id = await _completed(mcp_client)
    emulator.expire_assets(video_id)
    expired = error_text(await mcp_client.call_tool("download_video", {"video_id": video_id}))
    assert f"The server answered 404: The assets of video '{video_id}' have expired." in expired
    emulator.faults.add(Fault(kind="fail_job", error_code="server_overloaded", error_message="Try later."))
    # the same request again: new_job, or the first (completed) job would be returned as a duplicate
    again = {"prompt": "a bell", **SMALL, "new_job": True}
    failed = structured(await mcp_client.call_tool("generate_video", again))
    with anyio.fail_after(20):
        text = error_text(await mcp_client.call_tool("wait_for_video", {"video_id": failed["id"]}))
    assert "server_overloaded" in text and "start a new job" in text


async def test_server_restarted_between_calls(settings: Settings) -> None:
    """The API server restarts and forgets its jobs: the MCP server says what to do, then goes on."""
    first = Emulator(EmulatorConfig(render_seconds=0, queue_seconds=0))
    async with serve_emulator(first, port=0) as base_url:
        port = int(base_url.rsplit(":", 1)[1].split("/")[0])
        configured = settings.model_copy(update={"base_url": base_url})
        async with Client(create_server(configured)) as client:
            created = structured(await client.call_tool("generate_video", {"prompt": "a bell", **SMALL}))
            async with serve_emulator(Emulator(EmulatorConfig()), port=0):
                pass
    second = Emulator(EmulatorConfig(render_seconds=0, queue_seconds=0))
    async with serve_emulator(second, port=port), Client(create_server(configured)) as client:
        text = error_text(await client.call_tool("get_video_status", {"video_id": created["id"]}))
        assert (
            f"Video with id '{created['id']}' not found. Check the id (list_videos shows the ones that exist)" in text
        )
        assert structured(await client.call_tool("list_videos", {}))["videos"] == []

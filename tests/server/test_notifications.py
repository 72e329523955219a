"""A download announces itself (list-changed and updated notifications) in both protocol eras, and a
client that cancels wait_for_video stops the server's polling."""

from __future__ import annotations

import warnings
from typing import Any

import anyio
import httpx2
import mcp.types as types
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError
from mcp.shared.subscriptions import ResourcesListChanged, ResourceUpdated

from sora_mcp import Settings
from sora_mcp.emulator import Emulator, EmulatorConfig
from sora_mcp.server import create_server
from tests.server.conftest import SMALL, structured

pytestmark = pytest.mark.anyio


async def _completed_video(client: Client) -> str:
    created = structured(await client.call_tool("generate_video", {"prompt": "a bell", **SMALL}))
    with anyio.fail_after(20):
        structured(await client.call_tool("wait_for_video", {"video_id": created["id"], "timeout_seconds": 15}))
    return str(created["id"])


async def test_download_notifies_legacy_sessions(settings: Settings, http_client: httpx2.AsyncClient) -> None:
    """2025-11-25 hosts: the capabilities say so, list_changed comes on every download, and
    resources/updated to the sessions subscribed to that URI (and no longer once unsubscribed)."""
    listed = anyio.Event()
    updated: list[str] = []

    async def on_message(message: Any) -> None:
        if isinstance(message, types.ResourceListChangedNotification):
            listed.set()
        if isinstance(message, types.ResourceUpdatedNotification):
            updated.append(str(message.params.uri))

    server = create_server(settings, http_client=http_client)
    async with Client(server, mode="legacy", message_handler=on_message) as client:
        capabilities = client.server_capabilities.resources
        assert capabilities is not None and capabilities.list_changed and capabilities.subscribe
        video_id = await _completed_video(client)
        uri = f"sora://videos/{video_id}/video"
        for subscribed in (uri, f"sora://videos/{video_id}/thumbnail"):  # the thumbnail's is kept to the end
            with pytest.warns(MCPDeprecationWarning):  # a handshake-era method, as such hosts send it
                await client.subscribe_resource(subscribed)
        await client.call_tool("download_video", {"video_id": video_id})
        with anyio.fail_after(5):
            await listed.wait()
        assert updated == [uri]
        with pytest.warns(MCPDeprecationWarning):
            await client.unsubscribe_resource(uri)
        listed = anyio.Event()
        await client.call_tool("download_video", {"video_id": video_id})
        with anyio.fail_after(5):
            await listed.wait()
    assert updated == [uri], "no update after unsubscribing"
    assert server.subscriptions.count() == 0, "a closed connection's subscriptions are forgotten"


async def test_download_notifies_listeners_in_the_stateless_era(
    settings: Settings, http_client: httpx2.AsyncClient
) -> None:
    server = create_server(settings, http_client=http_client)
    async with Client(server) as client:
        assert client.protocol_version == "2026-07-28"
        video_id = await _completed_video(client)
        uri = f"sora://videos/{video_id}/video"
        events: list[Any] = []
        async with client.listen(resources_list_changed=True, resource_subscriptions=[uri]) as subscription:
            await client.call_tool("download_video", {"video_id": video_id})
            with anyio.fail_after(5):
                async for event in subscription:
                    events.append(event)
                    if len(events) == 2:
                        break
    assert any(isinstance(event, ResourcesListChanged) for event in events)
    assert any(isinstance(event, ResourceUpdated) and event.uri == uri for event in events)


@pytest.mark.parametrize("era", ["auto", "legacy"])
async def test_cancelling_a_wait_stops_the_polling(settings: Settings, era: str) -> None:
    emulator = Emulator(EmulatorConfig(render_seconds=120, queue_seconds=0, poll_after_ms=200))
    polls = "GET", "/videos/{video_id}"
    async with (
        httpx2.AsyncClient(transport=httpx2.ASGITransport(app=emulator.app)) as http,
        Client(create_server(settings, http_client=http), mode=era) as client,
    ):
        created = structured(await client.call_tool("generate_video", {"prompt": "slow", **SMALL}))
        with anyio.move_on_after(0.5) as scope:
            await client.call_tool("wait_for_video", {"video_id": created["id"], "timeout_seconds": 60})
        assert scope.cancelled_caught
        polled = emulator.stats.count(*polls)
        assert polled >= 2, "the wait was polling"
        # A wait still running would poll every 200 ms (the shortest hint sora-mcp follows): give it 3 intervals.
        await anyio.sleep(0.6)
        assert emulator.stats.count(*polls) <= polled + 1
        status = structured(await client.call_tool("get_video_status", {"video_id": created["id"]}))
        assert status["status"] == "in_progress", "cancelling the wait does not cancel the job"


async def test_subscriptions_are_bounded_per_connection(settings: Settings, http_client: httpx2.AsyncClient) -> None:
    """A handshake-era client may hold 256 subscriptions; subscribing again to one it holds costs
    nothing, unsubscribing from one it never held is harmless, and the 257th is refused."""
    server = create_server(settings, http_client=http_client)
    async with Client(server, mode="legacy") as client:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MCPDeprecationWarning)  # handshake-era methods, as such hosts send them
            for n in range(256):
                await client.subscribe_resource(f"sora://videos/video_{n}/video")
            await client.subscribe_resource("sora://videos/video_0/video")
            await client.unsubscribe_resource("sora://videos/video_never/video")
            for foreign in ("sora://videos/%ff/video", "sora://videos/video_1/poster", "sora://videos//video"):
                with pytest.raises(MCPError) as refused:
                    await client.subscribe_resource(foreign)
                assert str(refused.value) == "Only sora://videos/{video_id}/{kind} resources can be subscribed to."
            assert server.subscriptions.count() == 256
            with pytest.raises(MCPError) as refused:
                await client.subscribe_resource("sora://videos/video_256/video")
            assert str(refused.value) == "At most 256 subscriptions per connection: unsubscribe from some first."
            await client.unsubscribe_resource("sora://videos/video_0/video")
            await client.subscribe_resource("sora://videos/video_256/video")
        assert server.subscriptions.count() == 256

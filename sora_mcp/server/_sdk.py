"""Every use of the MCP SDK's private parts, in one place (mcp 2.3 has no public way to do these).

- Handshake-era hosts (2025-11-25 and older) act on resource change notifications only when the
  server advertises ``resources.listChanged`` and ``resources.subscribe``: ``MCPServer`` advertises
  neither, so the low-level server's initialization options are patched and the subscribe and
  unsubscribe requests are served here.
- A subscription belongs to a client connection, not to a request: the per-request session does
  not last, ``session._connection`` does, and its exit stack tells us when it closes.

``tests/server/test_sdk_seams.py`` fails, on every transport, if an SDK upgrade breaks either.
2026-07-28 clients use ``subscriptions/listen``, which ``MCPServer`` serves itself.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio
from mcp.server import InitializationOptions, NotificationOptions, ServerRequestContext
from mcp.server.connection import Connection
from mcp.server.mcpserver import MCPServer
from mcp.server.session import ServerSession
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, EmptyResult, SubscribeRequestParams, UnsubscribeRequestParams

from ._library import parse_asset_uri

__all__ = ["LegacySubscriptions", "advertise_resource_changes"]

log = logging.getLogger("sora_mcp.server")

MAX_SUBSCRIPTIONS_PER_CONNECTION = 256
_FORGET_REGISTERED = "sora_mcp.subscriptions"


def connection_of(session: ServerSession) -> Connection:
    """The client connection a request came on: per-request sessions change, it does not."""
    return session._connection  # private: mcp 2.3 gives request handlers no public handle on it


def advertise_resource_changes(server: MCPServer[Any], subscriptions: LegacySubscriptions) -> None:
    """Declare ``resources.listChanged`` (and ``subscribe``) to handshake-era hosts and serve
    ``resources/subscribe`` and ``resources/unsubscribe`` for them."""
    lowlevel = server._lowlevel_server  # private: no public accessor in mcp 2.3
    create_options = lowlevel.create_initialization_options

    def with_list_changed(
        notification_options: NotificationOptions | None = None,
        experimental_capabilities: dict[str, dict[str, Any]] | None = None,
        extensions: dict[str, dict[str, Any]] | None = None,
    ) -> InitializationOptions:
        options = notification_options or NotificationOptions(resources_changed=True)
        return create_options(
            notification_options=options, experimental_capabilities=experimental_capabilities, extensions=extensions
        )

    lowlevel.create_initialization_options = with_list_changed  # type: ignore[method-assign]
    lowlevel.add_request_handler(
        method="resources/subscribe", params_type=SubscribeRequestParams, handler=subscriptions.subscribe
    )
    lowlevel.add_request_handler(
        method="resources/unsubscribe", params_type=UnsubscribeRequestParams, handler=subscriptions.unsubscribe
    )


class LegacySubscriptions:
    """Which handshake-era connections subscribed to which of our resource URIs, bounded per
    connection and forgotten when the connection closes, on every transport."""

    def __init__(self) -> None:
        self.by_uri: dict[str, dict[Connection, ServerSession]] = {}
        self._counts: dict[Connection, int] = {}

    async def subscribe(self, ctx: ServerRequestContext[Any, Any], params: SubscribeRequestParams) -> EmptyResult:
        uri = str(params.uri)
        if parse_asset_uri(uri) is None:
            raise MCPError(INVALID_PARAMS, "Only sora://videos/{video_id}/{kind} resources can be subscribed to.")
        connection = connection_of(ctx.session)
        if not connection.state.get(_FORGET_REGISTERED):
            connection.state[_FORGET_REGISTERED] = True
            connection.exit_stack.callback(self.forget, connection)
        subscribers = self.by_uri.setdefault(uri, {})
        if connection not in subscribers:
            if self._counts.get(connection, 0) >= MAX_SUBSCRIPTIONS_PER_CONNECTION:
                raise MCPError(
                    INVALID_PARAMS,
                    f"At most {MAX_SUBSCRIPTIONS_PER_CONNECTION} subscriptions per connection: "
                    "unsubscribe from some first.",
                )
            self._counts[connection] = self._counts.get(connection, 0) + 1
        subscribers[connection] = ctx.session
        return EmptyResult()

    async def unsubscribe(self, ctx: ServerRequestContext[Any, Any], params: UnsubscribeRequestParams) -> EmptyResult:
        self._drop(str(params.uri), connection_of(ctx.session))
        return EmptyResult()

    def _drop(self, uri: str, connection: Connection) -> None:
        subscribers = self.by_uri.get(uri, {})
        if subscribers.pop(connection, None) is not None:
            self._counts[connection] -= 1
        if not subscribers:
            self.by_uri.pop(uri, None)

    def forget(self, connection: Connection) -> None:
        for uri in list(self.by_uri):
            self._drop(uri, connection)
        self._counts.pop(connection, None)

    def count(self) -> int:
        return sum(len(subscribers) for subscribers in self.by_uri.values())

    async def notify(self, uri: str) -> None:
        for connection, session in list(self.by_uri.get(uri, {}).items()):
            try:
                await session.send_resource_updated(uri=uri)
            except (MCPError, anyio.BrokenResourceError, anyio.ClosedResourceError):  # that client is gone
                self.forget(connection)

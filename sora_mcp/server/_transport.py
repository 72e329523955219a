"""Running the server: stdio, SSE or Streamable HTTP.

HTTP transports bind to 127.0.0.1 by default and always check Host and Origin (DNS-rebinding
protection). Binding to any other address needs an explicit allowed-origins list and a bearer
token; every HTTP request must then carry ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import hmac
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp, Receive, Scope, Send

from .._config import LOOPBACK_HOSTS, Settings
from .._errors import ConfigurationError
from .._images import MAX_DATA_URL_CHARS
from .._net import listen
from ._app import SoraMCPServer, create_server

__all__ = [
    "BearerTokenMiddleware",
    "build_http_app",
    "check_http_settings",
    "run",
    "security_settings",
    "serve_http",
    "serving_http",
]

log = logging.getLogger("sora_mcp.server")

LOOPBACK_HOST_PATTERNS = ["127.0.0.1:*", "localhost:*", "[::1]:*"]
LOOPBACK_ORIGIN_PATTERNS = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
# Above the largest call the tools accept (a data URL of MAX_DATA_URL_CHARS plus the rest), so such a call
# reaches the tool and gets its actionable error instead of a bare 413 from the transport.
MAX_BODY = MAX_DATA_URL_CHARS + 1024 * 1024
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})  # noqa: S104 - names, not a bind


def check_http_settings(settings: Settings) -> None:
    """Refuse an exposed HTTP server without a token and an explicit origin allow-list."""
    if settings.host in LOOPBACK_HOSTS:
        return
    missing = []
    if settings.auth_token is None:
        missing.append("a bearer token (--auth-token or SORA_MCP_AUTH_TOKEN)")
    if not settings.allowed_origins:
        missing.append("the allowed browser origins (--allowed-origin or SORA_MCP_ALLOWED_ORIGINS)")
    if settings.host in WILDCARD_HOSTS and not settings.allowed_hosts:
        missing.append("the Host names clients use (--allowed-host or SORA_MCP_ALLOWED_HOSTS)")
    if missing:
        raise ConfigurationError(
            f"Binding to {settings.host} exposes the server beyond this machine, which needs "
            + " and ".join(missing)
            + ".",
            hint="Or keep the default --host 127.0.0.1.",
        )


def security_settings(settings: Settings) -> TransportSecuritySettings:
    hosts = [*LOOPBACK_HOST_PATTERNS, *settings.allowed_hosts]
    if settings.host not in LOOPBACK_HOSTS | WILDCARD_HOSTS:
        hosts.append(f"{settings.host}:*")
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=hosts,
        allowed_origins=[*LOOPBACK_ORIGIN_PATTERNS, *settings.allowed_origins],
    )


class BearerTokenMiddleware:
    """Reject every HTTP request that lacks ``Authorization: Bearer <token>`` (constant-time compare)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._authorized(scope):
            await self.app(scope, receive, send)
            return
        body = b'{"error":"unauthorized","error_description":"Send Authorization: Bearer <token>."}'
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b'Bearer realm="sora-mcp"'),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _authorized(self, scope: Scope) -> bool:
        for name, value in scope["headers"]:
            if name == b"authorization":
                return hmac.compare_digest(value, self._expected)
        return False


def build_http_app(mcp: SoraMCPServer, settings: Settings) -> ASGIApp:
    """The ASGI app of the chosen HTTP transport, with host/origin checks and the bearer token."""
    check_http_settings(settings)
    security = security_settings(settings)
    if settings.transport == "sse":
        app: ASGIApp = mcp.sse_app(transport_security=security, host=settings.host, max_request_body_size=MAX_BODY)
    else:
        app = mcp.streamable_http_app(transport_security=security, host=settings.host, max_request_body_size=MAX_BODY)
    if settings.auth_token is not None:
        app = BearerTokenMiddleware(app, settings.auth_token.get_secret_value())
    return app


def endpoint_url(settings: Settings, port: int) -> str:
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    path = "/sse" if settings.transport == "sse" else "/mcp"
    return f"http://{host}:{port}{path}"


@asynccontextmanager
async def serving_http(mcp: SoraMCPServer, settings: Settings) -> AsyncIterator[str]:
    """Serve ``mcp`` on the configured HTTP transport in this event loop; yields the endpoint URL with
    the port actually bound (``--port 0`` picks a free one). One runtime is shared by every connection."""
    import uvicorn  # only the HTTP transports need it

    app = build_http_app(mcp, settings)
    sock = listen(settings.host, settings.port)
    url = endpoint_url(settings, sock.getsockname()[1])
    async with mcp.open_runtime() as runtime, anyio.create_task_group() as tasks:
        mcp.shared_runtime = runtime
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False))
        tasks.start_soon(server.serve, [sock])
        try:
            yield url
        finally:
            server.should_exit = True
            server.force_exit = True  # streams still open (SSE, listen) would hold the shutdown
    sock.close()


async def serve_http(settings: Settings) -> None:
    """Serve an HTTP transport until cancelled."""
    async with serving_http(create_server(settings), settings) as url:
        print(f"sora-mcp: serving {settings.transport} on {url}", file=sys.stderr, flush=True)
        await anyio.sleep_forever()


def run(settings: Settings) -> None:
    """Run the server on the configured transport until it is stopped."""
    if settings.transport == "stdio":
        create_server(settings).run(transport="stdio")
        return
    anyio.run(serve_http, settings)

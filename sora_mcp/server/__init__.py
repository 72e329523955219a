"""The sora-mcp MCP server: tools, resources and prompts over stdio, SSE and Streamable HTTP."""

from ._app import SoraMCPServer, create_server
from ._transport import build_http_app, run, serve_http, serving_http

__all__ = ["SoraMCPServer", "build_http_app", "create_server", "run", "serve_http", "serving_http"]

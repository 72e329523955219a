"""Fixtures of the hardening tests: settings pointed at a hostile server, the MCP server in-process."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from mcp import Client

from sora_mcp import Settings
from sora_mcp.server import create_server

from ..conftest import TEST_KEY
from .hostile import Handler, Hostile, hostile_server


def video_json(video_id: str = "video_a", status: str = "completed", **extra: Any) -> bytes:
    body = {"id": video_id, "object": "video", "status": status, "model": "sora-2", "progress": 100, **extra}
    body |= {"size": "720x1280", "seconds": "4", "created_at": 1}
    return json.dumps(body).encode()


def hostile_settings(base_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    images = tmp_path / "images"
    images.mkdir(exist_ok=True)
    values: dict[str, Any] = {
        "api_key": TEST_KEY,
        "base_url": base_url,
        "output_dir": tmp_path / "out",
        "input_roots": [images],
        "max_retries": 0,
    }
    return Settings(**(values | overrides))


@asynccontextmanager
async def mcp_against(
    handler: Handler, tmp_path: Path, **overrides: Any
) -> AsyncIterator[tuple[Client, Hostile, Settings]]:
    async with hostile_server(handler) as (url, hostile):
        settings = hostile_settings(url, tmp_path, **overrides)
        async with Client(create_server(settings)) as client:
            yield client, hostile, settings


Make = Callable[..., Any]

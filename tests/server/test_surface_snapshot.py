"""The whole MCP surface (tools, schemas, annotations, templates, prompts) is in reviewed files.

The tools are listed in ``sora_mcp/server/tools.json``, which the server answers ``tools/list`` with
(``test_listing.py`` keeps it current: ``uv run python scripts/write_tool_listing.py``). A change to a
resource template or a prompt shows up as a diff of ``tests/server/surface.json``. Regenerate it
deliberately with::

    UPDATE_SNAPSHOTS=1 uv run pytest tests/server/test_surface_snapshot.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from sora_mcp import Settings
from sora_mcp.server import create_server

pytestmark = pytest.mark.anyio

SNAPSHOT = Path(__file__).with_name("surface.json")


async def _surface(settings: Settings) -> dict[str, Any]:
    async with Client(create_server(settings)) as client:
        tools = (await client.list_tools()).tools
        templates = (await client.list_resource_templates()).resource_templates
        prompts = (await client.list_prompts()).prompts
    return {
        "tools": [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in tools],
        "resource_templates": [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in templates],
        "prompts": [p.model_dump(mode="json", by_alias=True, exclude_none=True) for p in prompts],
    }


async def test_surface_matches_snapshot(tmp_path: Path) -> None:
    # Fixed settings: descriptions quote the defaults, so the snapshot must not depend on the machine.
    settings = Settings(api_key="sk-snapshot", output_dir=tmp_path, input_roots=[tmp_path])
    surface = await _surface(settings)
    del surface["tools"]  # reviewed in sora_mcp/server/tools.json
    rendered = json.dumps(surface, indent=2, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(rendered, encoding="utf-8")
    assert SNAPSHOT.exists(), "no snapshot yet: run with UPDATE_SNAPSHOTS=1 and review the file"
    assert json.loads(SNAPSHOT.read_text(encoding="utf-8")) == json.loads(rendered)


async def test_every_tool_is_annotated_and_typed(tmp_path: Path) -> None:
    surface = await _surface(Settings(api_key="sk-snapshot", output_dir=tmp_path, input_roots=[tmp_path]))
    for tool in surface["tools"]:
        assert tool.get("description"), tool["name"]
        assert "\n " not in tool["description"], f"{tool['name']}: source indentation in what the model reads"
        assert tool.get("title"), tool["name"]
        assert tool.get("outputSchema", {}).get("type") == "object", tool["name"]
        hints = tool["annotations"]
        assert {"readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"} <= hints.keys(), tool["name"]
    destructive = {tool["name"] for tool in surface["tools"] if tool["annotations"]["destructiveHint"]}
    assert destructive == {"delete_video"}

"""Every file in manifests/ parses, has what its host requires, and the command it names really
starts the server (run over stdio with the official MCP client)."""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters

import sora_mcp
from tests.server.conftest import TOOL_NAMES, model_tools

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[1]
MANIFESTS = ROOT / "manifests"
TOOLS = set(TOOL_NAMES)


def load(relative: str) -> dict[str, Any]:
    data = json.loads((MANIFESTS / relative).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_every_json_file_parses() -> None:
    files = sorted(MANIFESTS.rglob("*.json"))
    assert len(files) >= 7
    for path in files:
        json.loads(path.read_text(encoding="utf-8"))


def test_mcpb_manifest() -> None:
    manifest = load("mcpb/manifest.json")
    for key in ("manifest_version", "name", "version", "description", "author", "server"):
        assert manifest[key], key
    assert manifest["version"] == sora_mcp.__version__
    assert manifest["server"]["mcp_config"]["command"] == "uv"
    key = manifest["user_config"]["api_key"]
    assert key["sensitive"] is True and key["type"] == "string"
    assert {tool["name"] for tool in manifest["tools"]} == TOOLS
    assert manifest["server"]["mcp_config"]["env"]["OPENAI_API_KEY"] == "${user_config.api_key}"


def test_registry_server_json() -> None:
    server = load("server.json")
    assert re.fullmatch(r"[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+", server["name"])
    assert 1 <= len(server["description"]) <= 100
    assert server["version"] == sora_mcp.__version__ != "latest"
    [package] = server["packages"]
    assert package["registryType"] == "pypi" and package["identifier"] == "sora-mcp"
    assert package["version"] == server["version"] and package["transport"] == {"type": "stdio"}
    secrets = [env for env in package["environmentVariables"] if env.get("isSecret")]
    assert [env["name"] for env in secrets] == ["OPENAI_API_KEY"]
    # PyPI ownership proof for the registry
    assert f"mcp-name: {server['name']}" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_vscode_key_is_a_password_input() -> None:
    config = load("vscode/mcp.json")
    [prompt] = config["inputs"]
    assert prompt["password"] is True
    assert config["servers"]["sora"]["env"]["OPENAI_API_KEY"] == f"${{input:{prompt['id']}}}"


def _entries() -> list[tuple[str, str, list[str], dict[str, str]]]:
    """(label, command, args, env) of every server entry of every host file."""
    entries: list[tuple[str, str, list[str], dict[str, str]]] = []
    for relative, top in (
        ("claude-desktop/claude_desktop_config.json", "mcpServers"),
        ("claude-desktop/claude_desktop_config.emulator.json", "mcpServers"),
        ("claude-code/.mcp.json", "mcpServers"),
        ("vscode/mcp.json", "servers"),
        ("cursor/mcp.json", "mcpServers"),
    ):
        for name, entry in load(relative)[top].items():
            entries.append((f"{relative}:{name}", entry["command"], entry["args"], entry.get("env", {})))
    for line in (MANIFESTS / "claude-code" / "add.sh").read_text(encoding="utf-8").splitlines():
        if line.startswith("claude mcp add"):
            words = shlex.split(line)
            command = words[words.index("--") + 1 :]
            entries.append((f"add.sh:{words[3]}", command[0], command[1:], {}))
    manifest = load("mcpb/manifest.json")["server"]["mcp_config"]
    entries.append(("mcpb", manifest["command"], manifest["args"], {}))
    return entries


def _runnable(command: str, args: list[str]) -> tuple[str, list[str]]:
    """`uvx sora-mcp ...` runs the published package; here it runs this checkout the same way."""
    if command == "uvx":
        assert args[0] == "sora-mcp"
        return sys.executable, ["-m", "sora_mcp", *args[1:]]
    assert command == "uv" and args[:3] == ["run", "--directory", "${__dirname}"]
    return "uv", ["run", "--directory", str(ROOT), *args[3:]]


@pytest.mark.slow
@pytest.mark.parametrize(("label", "command", "args", "env"), _entries(), ids=lambda v: v if isinstance(v, str) else "")
async def test_named_command_starts_the_server(
    label: str, command: str, args: list[str], env: dict[str, str], tmp_path: Path
) -> None:
    assert args[args.index("sora-mcp") + 1] == "serve", "hosts must start the MCP server"
    executable, argv = _runnable(command, args)
    child_env = {k: v for k, v in os.environ.items() if not k.startswith(("SORA_MCP_", "OPENAI_"))}
    child_env["SORA_MCP_OUTPUT_DIR"] = str(tmp_path)
    params = StdioServerParameters(command=executable, args=argv, env=child_env, cwd=str(tmp_path))
    with anyio.fail_after(120):
        async with Client(params) as client:
            tools = model_tools((await client.list_tools()).tools)
    assert tools == TOOLS, label

"""The MCP Bundle starts: `scripts/build_bundle.py` makes dist/sora-mcp-<version>.mcpb holding only what
runs; the mcpb CLI (pinned) unpacks and validates it; its command, with `${__dirname}` and `user_config`
substituted by mcpb's own getMcpConfigForManifest (the code Claude Desktop uses), starts the server in
a bare environment, and the official MCP client lists the tools.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters

import sora_mcp
from tests.npm_tools import MCPB, npm_package
from tests.server.conftest import TOOL_NAMES, model_tools

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
RUNTIME_ONLY = {"manifest.json", "pyproject.toml", "uv.lock", "README.md"} | (
    {"LICENSE"} if (ROOT / "LICENSE").is_file() else set()
)

# How this machine reaches the package index (certificates, proxies): the user's session has them too.
NETWORK = {"SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "UV_NATIVE_TLS", "UV_SYSTEM_CERTS"}
NETWORK |= {"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"}

# What Claude Desktop does with a manifest's mcp_config (mcpb's shared implementation).
SUBSTITUTE = """
import { getMcpConfigForManifest } from "@anthropic-ai/mcpb";
import { readFileSync } from "node:fs";
const [manifestPath, extensionPath, userConfig, home] = process.argv.slice(1);
const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
const config = await getMcpConfigForManifest({
  manifest, extensionPath, userConfig: JSON.parse(userConfig), pathSeparator: "/",
  systemDirs: {
    HOME: home, DATA: home, DOCUMENTS: home + "/Documents", DOWNLOADS: home + "/Downloads", DESKTOP: home + "/Desktop",
  },
});
process.stdout.write(JSON.stringify(config));
"""


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_bundle.py"), "--out-dir", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    path = out / f"sora-mcp-{sora_mcp.__version__}.mcpb"
    print(built.stdout)  # the report quotes the size and the file list
    return path


@pytest.fixture(scope="module")
def mcpb() -> Path:
    return npm_package(MCPB, "mcpb")


@pytest.fixture(scope="module")
def unpacked(bundle: Path, mcpb: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("Claude Extensions") / "sora-mcp"
    result = subprocess.run([mcpb, "unpack", bundle, folder], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return folder


def test_the_bundle_holds_only_what_runs(bundle: Path) -> None:
    with zipfile.ZipFile(bundle) as archive:
        names = archive.namelist()
    assert len(names) == len(set(names))
    # Everything the package tracks: code and the data it reads at run time (the player's page and library).
    tracked = subprocess.run(["git", "ls-files", "sora_mcp"], cwd=ROOT, capture_output=True, text=True, check=True)
    package = set(tracked.stdout.split())
    assert "sora_mcp/server/player/player.html" in package
    assert set(names) == RUNTIME_ONLY | package
    assert not [name for name in names if name.split("/")[0] in {"tests", "bench", ".ci", "docs", "manifests"}]


def test_the_build_is_reproducible(bundle: Path, tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_bundle.py"), "--out-dir", str(tmp_path)],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert (tmp_path / bundle.name).read_bytes() == bundle.read_bytes()


def test_mcpb_validates_the_unpacked_manifest(unpacked: Path, mcpb: Path) -> None:
    result = subprocess.run(
        [mcpb, "validate", unpacked / "manifest.json"], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0 and "validation passes" in result.stdout, result.stdout + result.stderr
    manifest = json.loads((unpacked / "manifest.json").read_text(encoding="utf-8"))
    assert (unpacked / manifest["server"]["entry_point"]).is_file()


def substituted(mcpb: Path, unpacked: Path, user_config: dict[str, Any], home: Path) -> dict[str, Any]:
    prefix = mcpb.parents[2]  # <prefix>/node_modules/.bin/mcpb
    result = subprocess.run(
        [
            *("node", "--input-type=module", "-e", SUBSTITUTE),
            *(str(unpacked / "manifest.json"), str(unpacked), json.dumps(user_config), str(home)),
        ],
        cwd=prefix,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = json.loads(result.stdout)
    assert "${" not in json.dumps(config), f"left unsubstituted: {config}"
    return config


def launch(config: dict[str, Any], home: Path) -> StdioServerParameters:
    """The command as the host starts it: `uv` found on the host's PATH, the config's env over a bare one.
    uv's cache is the user's real one (the host runs as the user), so only the bundle's venv is new."""
    uv = os.environ.get("UV") or shutil.which("uv")  # `uv run` names itself in $UV
    if uv is None:
        pytest.fail("uv is not on PATH: the bundle runs with uv (https://docs.astral.sh/uv/)")
    uv_dir = str(Path(uv).parent)
    cache = subprocess.run([uv, "cache", "dir"], capture_output=True, text=True, check=True).stdout.strip()
    env = {"HOME": str(home), "PATH": os.pathsep.join((uv_dir, "/usr/bin", "/bin"))}
    env.update({name: value for name, value in os.environ.items() if name in NETWORK or name.startswith("UV_INDEX")})
    env.update(UV_CACHE_DIR=cache, **config.get("env", {}))
    return StdioServerParameters(command=config["command"], args=config["args"], env=env, cwd=str(home))


@pytest.mark.anyio
async def test_the_bundle_starts_with_the_emulator(unpacked: Path, mcpb: Path, tmp_path: Path) -> None:
    videos = tmp_path / "videos"
    config = substituted(mcpb, unpacked, {"backend": "emulator", "output_dir": str(videos)}, tmp_path)
    assert config["command"] == "uv"
    assert config["args"][:6] == ["run", "--directory", str(unpacked), "--frozen", "--no-dev", "sora-mcp"]
    assert config["env"]["SORA_MCP_BACKEND"] == "emulator" and config["env"]["OPENAI_API_KEY"] == ""
    started = time.monotonic()
    with anyio.fail_after(600):  # first launch: uv makes the bundle's venv from the lock
        async with Client(launch(config, tmp_path)) as client:
            print(f"first launch (new venv, warm uv cache): {time.monotonic() - started:.1f}s")
            assert model_tools((await client.list_tools()).tools) == set(TOOL_NAMES)
            listed = await client.call_tool("list_videos", {})
            assert not listed.is_error, listed.content
            [player] = (await client.read_resource("ui://sora-mcp/player")).contents
            assert player.mime_type == "text/html;profile=mcp-app" and "<video" in getattr(player, "text", "")
    installed = {path.name.split("-")[0].lower() for path in (unpacked / ".venv").glob("lib/*/site-packages/*")}
    assert "mcp" in installed and "av" in installed
    assert not installed & {"pytest", "ruff", "mypy", "hypothesis", "openai", "coverage"}, "no dev group"


@pytest.mark.anyio
async def test_the_bundle_with_nothing_configured_says_what_to_do(unpacked: Path, mcpb: Path, tmp_path: Path) -> None:
    config = substituted(mcpb, unpacked, {}, tmp_path)
    assert config["env"]["OPENAI_BASE_URL"] == "" and config["env"]["SORA_MCP_OUTPUT_DIR"] == ""
    with anyio.fail_after(600):
        async with Client(launch(config, tmp_path)) as client:
            assert model_tools((await client.list_tools()).tools) == set(TOOL_NAMES)
            result = await client.call_tool("list_videos", {})
    assert result.is_error
    text = " ".join(getattr(block, "text", "") for block in result.content)
    assert "OPENAI_BASE_URL" in text and "--backend emulator" in text

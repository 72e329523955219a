"""Every file in manifests/ parses and has what its host or registry requires; the host examples are
exactly what `sora-mcp install` writes (whose configs are started the way hosts start them in
tests/test_install.py and by Claude Code itself in tests/test_claude_code.py); the bundle's manifest is
started in tests/test_bundle.py. And no file tells anyone to run a package we have not published.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

import sora_mcp
from sora_mcp.cli import build_parser
from sora_mcp.cli._install import HOSTS, build_entry, fragment, options_from_args, render
from tests.server.conftest import TOOL_NAMES

ROOT = Path(__file__).resolve().parents[1]
MANIFESTS = ROOT / "manifests"
TOOLS = set(TOOL_NAMES)
PLACEHOLDER = ["/path/to/sora-mcp/.venv/bin/python", "-m", "sora_mcp"]  # as manifests/README.md explains


def load(relative: str) -> dict[str, Any]:
    data = json.loads((MANIFESTS / relative).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def examples() -> list[tuple[str, str]]:
    """(file, the install command that writes it), from the table in manifests/README.md."""
    text = (MANIFESTS / "README.md").read_text(encoding="utf-8")
    return re.findall(r"^\| \[`([^`]+)`\]\(\1\) \| `(sora-mcp install [^`]+)` \|$", text, flags=re.MULTILINE)


def test_every_json_file_parses_and_is_described() -> None:
    files = sorted(path.relative_to(MANIFESTS).as_posix() for path in MANIFESTS.rglob("*.json"))
    for name in files:
        json.loads((MANIFESTS / name).read_text(encoding="utf-8"))
    assert set(files) == {file for file, _ in examples()} | {"mcpb/manifest.json", "server.json"}


def test_there_is_an_example_for_every_host() -> None:
    hosts = {shlex.split(command)[2] for _, command in examples()}
    assert hosts == set(HOSTS)


@pytest.mark.parametrize(("file", "command"), examples())
def test_each_example_is_what_install_writes(file: str, command: str) -> None:
    args = build_parser().parse_args(shlex.split(command)[1:])
    entry = build_entry(args.host, options_from_args(args), command=PLACEHOLDER, name=args.name, scope=args.scope)
    expected = render(fragment(args.host, args.name, entry))
    assert (MANIFESTS / file).read_text(encoding="utf-8") == expected, f"regenerate {file} from: {command}"


def test_vscode_key_is_a_password_input() -> None:
    config = load("vscode/mcp.json")
    [prompt] = config["inputs"]
    assert prompt["password"] is True
    assert config["servers"]["sora"]["env"]["OPENAI_API_KEY"] == f"${{input:{prompt['id']}}}"


def test_claude_code_project_file_expands_to_empty_when_unset() -> None:
    """`${VAR}` unset makes Claude Code warn and pass the text through; `${VAR:-}` passes an empty value."""
    env = load("claude-code/.mcp.json")["mcpServers"]["sora"]["env"]
    assert env == {"OPENAI_API_KEY": "${AZURE_OPENAI_API_KEY:-}"}


def test_mcpb_manifest() -> None:
    manifest = load("mcpb/manifest.json")
    for key in ("manifest_version", "name", "version", "description", "author", "server"):
        assert manifest[key], key
    assert manifest["version"] == sora_mcp.__version__
    config = manifest["server"]["mcp_config"]
    assert config["command"] == "uv"
    run = config["args"][: config["args"].index("sora-mcp")]
    assert run[:3] == ["run", "--directory", "${__dirname}"]
    assert "--frozen" in run and ("--no-dev" in run or "--no-default-groups" in run), "locked runtime deps only"
    assert config["args"][config["args"].index("sora-mcp") + 1] == "serve"
    key = manifest["user_config"]["api_key"]
    assert key["sensitive"] is True and key["type"] == "string"
    assert {tool["name"] for tool in manifest["tools"]} == TOOLS
    assert config["env"]["OPENAI_API_KEY"] == "${user_config.api_key}"


def test_mcpb_user_config_is_always_substituted() -> None:
    """mcpb leaves `${user_config.x}` as literal text when x has no value and no default: every optional
    field the env uses needs a default, and none points at the retired api.openai.com."""
    manifest = load("mcpb/manifest.json")
    used = re.findall(r"\$\{user_config\.([a-z_]+)\}", json.dumps(manifest["server"]["mcp_config"]))
    for name in used:
        option = manifest["user_config"][name]
        assert option.get("required") or "default" in option, name
        assert "${" not in str(option.get("default", "")), f"{name}: mcpb does not substitute inside defaults"
    assert "api.openai.com" not in json.dumps(manifest["user_config"])


# The registry's Package object (schema 2025-12-11) allows no other fields; `_meta` keeps only this key.
PACKAGE_FIELDS = {
    *("registryType", "registryBaseUrl", "identifier", "version", "fileSha256", "runtimeHint", "transport"),
    *("runtimeArguments", "packageArguments", "environmentVariables"),
}
PUBLISHER_META = "io.modelcontextprotocol.registry/publisher-provided"


def test_registry_server_json() -> None:
    server = load("server.json")
    assert re.fullmatch(r"[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+", server["name"])
    assert 1 <= len(server["description"]) <= 100
    assert server["version"] == sora_mcp.__version__ != "latest"
    [package] = server["packages"]
    assert set(package) <= PACKAGE_FIELDS
    assert package["registryType"] == "pypi" and package["identifier"] == "sora-mcp"
    assert package["version"] == server["version"] and package["transport"] == {"type": "stdio"}
    secrets = [env for env in package["environmentVariables"] if env.get("isSecret")]
    assert [env["name"] for env in secrets] == ["OPENAI_API_KEY"]
    assert "api.openai.com" not in json.dumps(package)
    # It says how it will be published, and that it is not yet.
    assert set(server["_meta"]) == {PUBLISHER_META}
    assert len(json.dumps(server["_meta"][PUBLISHER_META]).encode()) <= 4096
    assert "not yet published" in json.dumps(server["_meta"])
    # PyPI ownership proof for the registry
    assert f"mcp-name: {server['name']}" in (ROOT / "README.md").read_text(encoding="utf-8")


# --- nothing points at a package we do not publish ---------------------------------------------------

SKIP = {".git", ".venv", "tests", "dist", "build", "node_modules", "__pycache__", ".mypy_cache", ".ruff_cache"}
TEXT = {".md", ".json", ".py", ".sh", ".toml", ".yml", ".yaml", ".txt", ".cfg", ".ini", ""}
UNPINNED_UVX = re.compile(r"\buvx\s+(?:(?:--?[a-z][\w-]*(?:[ =](?!sora-mcp)\S+)?)\s+)*sora-mcp\b")


def shipped_text_files() -> list[Path]:
    files = []
    for path in ROOT.rglob("*"):
        parts = path.relative_to(ROOT).parts
        if path.is_file() and not SKIP & set(parts) and path.suffix in TEXT and path.stat().st_size < 1_000_000:
            files.append(path)
    return files


def _tells_to_run_unpublished(text: str) -> list[str]:
    found = [match.group(0) for match in UNPINNED_UVX.finditer(text) if "--from" not in match.group(0)]
    for config in re.findall(r'"command":\s*"uvx",\s*"args":\s*\[([^\]]*)\]', text):
        args = json.loads(f"[{config}]")
        if "--from" not in args and "sora-mcp" in args:
            found.append(f"uvx {' '.join(args)}")
    return found


def test_the_scanner_finds_what_it_looks_for() -> None:
    assert _tells_to_run_unpublished("claude mcp add sora -- uvx sora-mcp serve")
    assert _tells_to_run_unpublished("run `uvx --python 3.12 sora-mcp demo`")
    assert _tells_to_run_unpublished('{"command": "uvx", "args": ["sora-mcp", "serve"]}')
    assert not _tells_to_run_unpublished("uvx --from dist/sora_mcp-0.1.0-py3-none-any.whl sora-mcp demo")
    assert not _tells_to_run_unpublished('{"command": "uvx", "args": ["--from", "./w.whl", "sora-mcp"]}')


def test_no_file_tells_anyone_to_run_an_unpublished_package() -> None:
    files = shipped_text_files()
    assert {"README.md", "manifests/README.md", "manifests/server.json"} <= {
        p.relative_to(ROOT).as_posix() for p in files
    }
    offenders = {
        path.relative_to(ROOT).as_posix(): found
        for path in files
        if (found := _tells_to_run_unpublished(path.read_text(encoding="utf-8", errors="replace")))
    }
    assert not offenders, f"`uvx sora-mcp` runs whatever PyPI has under that name (nothing of ours yet): {offenders}"

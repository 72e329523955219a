"""`sora-mcp install HOST` / `uninstall HOST`.

- Where each host keeps its config, for macOS, Linux and Windows: tested as data (paths with spaces,
  backslashes escaped in the JSON written).
- The entry: an absolute command, settings as `serve` flags, the key only the way the host expects it.
- The file: other servers kept, backed up before a change, idempotent, never rewritten when it is not
  JSON, `--print` writes nothing and masks a key.
- The written config starts the server the way its host would (absolute command, the entry's env
  over a minimal environment, no PATH lookup of sora-mcp), checked with the official MCP client.
  Claude Code itself runs in tests/test_claude_code.py.
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import stat
import subprocess
import sys
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters
from pydantic import SecretStr

from sora_mcp.cli import EXIT_OK, EXIT_USAGE, main
from sora_mcp.cli._demo import _print_next_steps
from sora_mcp.cli._install import (
    HOSTS,
    Entry,
    InstallError,
    ServerOptions,
    build_entry,
    config_path,
    mask,
    merge,
    parse,
    remove,
    render,
)
from sora_mcp.emulator import EmulatorConfig
from tests.server.conftest import TOOL_NAMES, model_tools

HOST_KEY = "sk-host-config-0123456789WXYZ"
EMULATOR = ServerOptions(backend="emulator")
LITELLM = ServerOptions(base_url="http://localhost:4000/v1", model="sora-2")
UNIX_COMMAND = ["/home/ann lee/sora-mcp/.venv/bin/python", "-m", "sora_mcp"]
WINDOWS_COMMAND = [r"C:\Users\Ann Lee\sora-mcp\.venv\Scripts\python.exe", "-m", "sora_mcp"]
MAC_COMMAND = ["/Users/ann lee/sora-mcp/.venv/bin/python", "-m", "sora_mcp"]


# --- where the file is ---------------------------------------------------------------------------

MAC = {"HOME": "/Users/ann lee"}
LINUX = {"HOME": "/home/ann lee"}
WINDOWS = {"USERPROFILE": r"C:\Users\Ann Lee", "APPDATA": r"C:\Users\Ann Lee\AppData\Roaming"}
LAYOUTS = [
    ("claude-desktop", "darwin", MAC, "/Users/ann lee/Library/Application Support/Claude/claude_desktop_config.json"),
    ("claude-desktop", "win32", WINDOWS, r"C:\Users\Ann Lee\AppData\Roaming\Claude\claude_desktop_config.json"),
    ("claude-desktop", "linux", LINUX, "/home/ann lee/.config/Claude/claude_desktop_config.json"),
    ("claude-desktop", "linux", {**LINUX, "XDG_CONFIG_HOME": "/xdg"}, "/xdg/Claude/claude_desktop_config.json"),
    (
        "claude-desktop",
        "linux",
        {**LINUX, "XDG_CONFIG_HOME": "rel"},
        "/home/ann lee/.config/Claude/claude_desktop_config.json",
    ),
    ("claude-desktop", "win32", {"USERPROFILE": r"D:\u"}, r"D:\u\AppData\Roaming\Claude\claude_desktop_config.json"),
    ("claude-code", "darwin", MAC, "/Users/ann lee/.claude.json"),
    ("claude-code", "linux", LINUX, "/home/ann lee/.claude.json"),
    ("claude-code", "win32", WINDOWS, r"C:\Users\Ann Lee\.claude.json"),
    ("claude-code", "linux", {**LINUX, "CLAUDE_CONFIG_DIR": "/cfg"}, "/cfg/.claude.json"),
    ("vscode", "darwin", MAC, "/Users/ann lee/Library/Application Support/Code/User/mcp.json"),
    ("vscode", "win32", WINDOWS, r"C:\Users\Ann Lee\AppData\Roaming\Code\User\mcp.json"),
    ("vscode", "linux", LINUX, "/home/ann lee/.config/Code/User/mcp.json"),
    ("cursor", "darwin", MAC, "/Users/ann lee/.cursor/mcp.json"),
    ("cursor", "win32", WINDOWS, r"C:\Users\Ann Lee\.cursor\mcp.json"),
    ("cursor", "linux", LINUX, "/home/ann lee/.cursor/mcp.json"),
    ("windsurf", "darwin", MAC, "/Users/ann lee/.codeium/windsurf/mcp_config.json"),
    ("windsurf", "win32", WINDOWS, r"C:\Users\Ann Lee\.codeium\windsurf\mcp_config.json"),
    ("windsurf", "linux", LINUX, "/home/ann lee/.codeium/windsurf/mcp_config.json"),
]


@pytest.mark.parametrize(("host", "platform", "env", "expected"), LAYOUTS)
def test_config_path(host: str, platform: str, env: dict[str, str], expected: str) -> None:
    path = config_path(host, platform=platform, env=env)
    assert str(path) == expected
    assert isinstance(path, PureWindowsPath if platform == "win32" else PurePosixPath)


def test_every_host_has_a_layout() -> None:
    assert {host for host, *_ in LAYOUTS} == set(HOSTS)
    for host in HOSTS:
        assert {platform for h, platform, *_ in LAYOUTS if h == host} == {"darwin", "win32", "linux"}


@pytest.mark.parametrize(
    ("host", "platform", "project", "expected"),
    [
        ("claude-code", "linux", "/work/my app", "/work/my app/.mcp.json"),
        ("vscode", "darwin", "/work/app", "/work/app/.vscode/mcp.json"),
        ("cursor", "win32", r"C:\work\my app", r"C:\work\my app\.cursor\mcp.json"),
    ],
)
def test_project_scope(host: str, platform: str, project: str, expected: str) -> None:
    path = config_path(host, platform=platform, env={}, scope="project", project_dir=project)
    assert str(path) == expected


@pytest.mark.parametrize("host", ["claude-desktop", "windsurf"])
def test_hosts_without_a_project_file_refuse_project_scope(host: str) -> None:
    with pytest.raises(InstallError, match="no project-level config file"):
        config_path(host, platform="linux", env=LINUX, scope="project", project_dir="/p")


def test_no_home_is_a_clear_error() -> None:
    with pytest.raises(InstallError, match=r"HOME is not set.*--config"):
        config_path("cursor", platform="linux", env={})
    with pytest.raises(InstallError, match="USERPROFILE is not set"):
        config_path("cursor", platform="win32", env={})


# --- the entry -------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [UNIX_COMMAND, WINDOWS_COMMAND, MAC_COMMAND], ids=["linux", "win32", "darwin"])
@pytest.mark.parametrize("host", list(HOSTS))
def test_paths_with_spaces_and_backslashes_survive_the_json(host: str, command: list[str]) -> None:
    options = ServerOptions(backend="emulator", output_dir=command[0].rsplit("\\" if "\\" in command[0] else "/", 3)[0])
    entry = build_entry(host, options, command=command)
    text = render(merge(None, host, "sora", entry))
    if "\\" in command[0]:
        assert json.dumps(command[0]) in text and "\\\\Ann Lee\\\\" in text, "backslashes are JSON-escaped"
    written = json.loads(text)[HOSTS[host].servers_key]["sora"]
    assert written["command"] == command[0]
    assert written["args"][:2] == ["-m", "sora_mcp"]
    assert written["args"][written["args"].index("--output-dir") + 1] == options.output_dir


@pytest.mark.parametrize("host", list(HOSTS))
def test_entry_shape(host: str) -> None:
    server = build_entry(host, EMULATOR, command=UNIX_COMMAND).server
    assert server["command"] == UNIX_COMMAND[0]
    assert server["args"] == ["-m", "sora_mcp", "serve", "--backend", "emulator"]
    assert "env" not in server, "the emulator needs no key"
    assert ("type" in server) == (host in ("claude-code", "vscode"))
    if "type" in server:
        assert server["type"] == "stdio"


def test_settings_become_serve_flags() -> None:
    options = ServerOptions(
        base_url="https://res.openai.azure.com/openai/v1/",
        auth_style="azure",
        model="my-sora",
        output_dir="/videos",
        read_only=True,
        api_key_env="AZURE_OPENAI_API_KEY",
    )
    server = build_entry("cursor", options, command=UNIX_COMMAND).server
    assert server["args"][2:] == [
        *("serve", "--backend", "api", "--base-url", "https://res.openai.azure.com/openai/v1"),
        *("--auth-style", "azure", "--model", "my-sora", "--output-dir", "/videos", "--read-only"),
    ]


@pytest.mark.parametrize(
    ("host", "reference"),
    [
        ("claude-code", "${MY_KEY:-}"),  # Claude Code's expansion; ':-' keeps an unset variable empty, no warning
        ("vscode", "${env:MY_KEY}"),
        ("cursor", "${env:MY_KEY}"),
        ("windsurf", "${env:MY_KEY}"),
    ],
)
def test_key_by_reference(host: str, reference: str) -> None:
    entry = build_entry(host, ServerOptions(base_url="http://gw/v1", api_key_env="MY_KEY"), command=UNIX_COMMAND)
    assert entry.server["env"] == {"OPENAI_API_KEY": reference}
    assert not entry.inputs


def test_claude_desktop_expands_no_variables() -> None:
    with pytest.raises(InstallError, match=r"does not expand environment variables.*--api-key-stdin.*mcpb"):
        build_entry("claude-desktop", ServerOptions(base_url="http://gw/v1", api_key_env="K"), command=UNIX_COMMAND)


def test_vscode_asks_for_the_key_as_a_password() -> None:
    entry = build_entry("vscode", LITELLM, command=UNIX_COMMAND, name="sora-gw")
    [prompt] = entry.inputs
    assert prompt == {
        "type": "promptString",
        "id": "sora-gw-api-key",
        "description": "API key of the /v1/videos server (sora-mcp)",
        "password": True,
    }
    assert entry.server["env"] == {"OPENAI_API_KEY": "${input:sora-gw-api-key}"}


@pytest.mark.parametrize("host", ["claude-desktop", "claude-code", "cursor", "windsurf"])
def test_no_key_is_written_when_none_was_given(host: str) -> None:
    entry = build_entry(host, LITELLM, command=UNIX_COMMAND)
    assert "env" not in entry.server and not entry.inputs
    assert any("No key is configured" in note for note in entry.notes)


def test_a_typed_key_goes_into_the_env_block() -> None:
    options = ServerOptions(base_url="http://gw/v1", api_key=SecretStr(HOST_KEY))
    entry = build_entry("claude-desktop", options, command=UNIX_COMMAND)
    assert entry.server["env"] == {"OPENAI_API_KEY": HOST_KEY}
    assert HOST_KEY not in repr(options), "the key stays out of reprs and logs"


def test_auth_style_none_needs_no_key() -> None:
    entry = build_entry(
        "vscode", ServerOptions(base_url="http://vllm:8000/v1", auth_style="none"), command=UNIX_COMMAND
    )
    assert "env" not in entry.server and not entry.inputs and not entry.notes


@pytest.mark.parametrize(
    ("options", "scope", "message"),
    [
        (ServerOptions(), "user", r"(?s)2026-09-24.*--base-url URL.*--backend emulator"),
        (ServerOptions(base_url="https://<resource>.openai.azure.com/openai/v1"), "user", "placeholder"),
        (ServerOptions(base_url="api.example.com/v1"), "user", "not an http"),
        (ServerOptions(backend="emulator", base_url="http://gw/v1"), "user", "needs no --base-url"),
        (ServerOptions(backend="emulator", api_key_env="K"), "user", "needs no --api-key-env"),
        (ServerOptions(base_url="http://gw/v1", api_key_env="MY-KEY"), "user", "not an environment variable name"),
        (ServerOptions(base_url="http://gw/v1", auth_style="none", api_key_env="K"), "user", "sends no key"),
        (ServerOptions(base_url="http://gw/v1", api_key=SecretStr(" ")), "user", "empty"),
        (ServerOptions(base_url="http://gw/v1", api_key=SecretStr(HOST_KEY)), "project", "shared"),
        (ServerOptions(base_url="http://gw/v1", model=""), "user", "--model is empty"),
    ],
)
def test_refusals(options: ServerOptions, scope: Any, message: str) -> None:
    with pytest.raises(InstallError, match=message) as refused:
        build_entry("claude-code", options, command=UNIX_COMMAND, scope=scope)
    assert HOST_KEY not in str(refused.value)


def test_names_and_commands_are_checked() -> None:
    with pytest.raises(InstallError, match="--name"):
        build_entry("cursor", EMULATOR, command=UNIX_COMMAND, name="my server")
    with pytest.raises(InstallError, match="absolute path"):
        build_entry("cursor", EMULATOR, command=["sora-mcp"])


# --- the file ----------------------------------------------------------------------------------------


def test_merge_keeps_everything_else_and_is_idempotent() -> None:
    document: dict[str, Any] = {
        "numStartups": 3,
        "mcpServers": {"other": {"command": "/bin/other", "args": []}, "sora": {"command": "/old", "args": []}},
        "projects": {"/p": {"mcpServers": {"x": {}}}},
    }
    entry = build_entry("claude-code", EMULATOR, command=UNIX_COMMAND)
    once = merge(document, "claude-code", "sora", entry)
    assert merge(once, "claude-code", "sora", entry) == once
    assert once["numStartups"] == 3 and once["projects"] == document["projects"]
    assert once["mcpServers"]["other"] == {"command": "/bin/other", "args": []}
    assert list(once["mcpServers"]) == ["other", "sora"], "an existing entry is replaced in place"
    assert once["mcpServers"]["sora"] == entry.server
    assert document["mcpServers"]["sora"] == {"command": "/old", "args": []}, "the input is not modified"


def test_vscode_inputs_are_replaced_not_duplicated_and_removed_with_the_server() -> None:
    theirs = {"type": "promptString", "id": "github-token", "password": True}
    document = {"inputs": [theirs], "servers": {"github": {"type": "http", "url": "https://x"}}}
    entry = build_entry("vscode", LITELLM, command=UNIX_COMMAND)
    twice = merge(merge(document, "vscode", "sora", entry), "vscode", "sora", entry)
    assert [i["id"] for i in twice["inputs"]] == ["github-token", "sora-api-key"]
    removed = remove(twice, "vscode", "sora")
    assert removed == document


def test_remove_only_touches_our_entry() -> None:
    document = {"mcpServers": {"a": {"command": "/a"}, "sora": {"command": "/s"}}}
    assert remove(document, "cursor", "sora") == {"mcpServers": {"a": {"command": "/a"}}}
    assert remove(document, "cursor", "absent") == document


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"servers": {}, // mine\n}', "not valid JSON"),
        ("{bad", "not valid JSON.*line 1 column 2"),
        ("[1, 2]", "not an object"),
    ],
)
def test_parse_refuses_what_is_not_a_json_object(text: str, message: str) -> None:
    with pytest.raises(InstallError, match=message):
        parse(text, "mcp.json")


def test_merge_refuses_a_servers_key_of_the_wrong_shape() -> None:
    entry = Entry(server={"command": "/x"})
    with pytest.raises(InstallError, match='"mcpServers" in this file is not an object'):
        merge({"mcpServers": []}, "cursor", "sora", entry)


def test_mask() -> None:
    assert mask(HOST_KEY) == "sk-…WXYZ"
    assert mask("sk-short") == "sk-…"
    assert mask("azure0123456789abcdef") == "…cdef"


# --- the command -------------------------------------------------------------------------------------


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary home: every host's user config lands under it."""
    folder = tmp_path / "home dir"
    folder.mkdir()
    for name in ("HOME", "USERPROFILE"):
        monkeypatch.setenv(name, str(folder))
    for name in ("APPDATA", "XDG_CONFIG_HOME", "CLAUDE_CONFIG_DIR"):
        monkeypatch.delenv(name, raising=False)
    return folder


def user_config(host: str, home: Path) -> Path:
    return Path(config_path(host, env={"HOME": str(home), "USERPROFILE": str(home)}))


def test_install_writes_backs_up_and_is_idempotent(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = user_config("claude-desktop", home)
    path.parent.mkdir(parents=True)
    original = '{\n  "mcpServers": {"fs": {"command": "npx", "args": ["fs"]}},\n  "theme": "dark"\n}\n'
    path.write_text(original, encoding="utf-8")

    assert main(["install", "claude-desktop", "--backend", "emulator"]) == EXIT_OK
    out = capsys.readouterr().out
    assert f'Installed "sora" in Claude Desktop (user config): {path}' in out
    written = json.loads(path.read_text(encoding="utf-8"))
    assert written["theme"] == "dark" and written["mcpServers"]["fs"] == {"command": "npx", "args": ["fs"]}
    assert written["mcpServers"]["sora"] == {
        "command": sys.executable,
        "args": ["-m", "sora_mcp", "serve", "--backend", "emulator"],
    }
    [backup] = path.parent.glob("claude_desktop_config.json.*.bak")
    assert backup.read_text(encoding="utf-8") == original and backup.name in out

    before = path.read_bytes()
    assert main(["install", "claude-desktop", "--backend", "emulator"]) == EXIT_OK
    assert "nothing changed" in capsys.readouterr().out
    assert path.read_bytes() == before and len(list(path.parent.glob("*.bak"))) == 1

    assert main(["install", "claude-desktop", "--backend", "emulator", "--model", "sora-2-pro"]) == EXIT_OK
    assert len(list(path.parent.glob("*.bak"))) == 2
    assert json.loads(path.read_text(encoding="utf-8"))["mcpServers"]["sora"]["args"][-2:] == ["--model", "sora-2-pro"]

    assert main(["uninstall", "claude-desktop"]) == EXIT_OK
    assert json.loads(path.read_text(encoding="utf-8")) == json.loads(original)
    assert main(["uninstall", "claude-desktop"]) == EXIT_OK
    assert "nothing to remove" in capsys.readouterr().out


def test_install_refuses_a_file_that_is_not_json(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = user_config("vscode", home)
    path.parent.mkdir(parents=True)
    path.write_text('{\n  // my servers\n  "servers": {}\n}\n', encoding="utf-8")
    before = path.read_bytes()
    assert main(["install", "vscode", "--backend", "emulator"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "not valid JSON" in err and "was not changed" in err and '"servers"' in err, "it shows what to paste"
    assert path.read_bytes() == before and not list(path.parent.glob("*.bak"))
    assert main(["uninstall", "vscode"]) == EXIT_USAGE


def test_install_refuses_to_default_to_a_dead_endpoint(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["install", "cursor"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "2026-09-24" in err and "--base-url URL" in err and "--backend emulator" in err
    assert not user_config("cursor", home).exists()


def test_print_writes_nothing_and_masks_the_key(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(HOST_KEY + "\n"))
    argv = ["install", "claude-desktop", "--base-url", "https://gw.example/v1", "--api-key-stdin", "--print"]
    assert main(argv) == EXIT_OK
    captured = capsys.readouterr()
    assert HOST_KEY not in captured.out + captured.err
    shown = json.loads(captured.out)
    assert shown["mcpServers"]["sora"]["env"] == {"OPENAI_API_KEY": "sk-…WXYZ"}
    assert "nothing written" in captured.err
    assert not any(home.rglob("*")), "nothing was written"


def test_a_typed_key_is_written_for_the_user_only(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(HOST_KEY + "\n"))
    assert main(["install", "windsurf", "--base-url", "https://gw.example/v1", "--api-key-stdin"]) == EXIT_OK
    captured = capsys.readouterr()
    assert HOST_KEY not in captured.out + captured.err
    path = user_config("windsurf", home)
    assert json.loads(path.read_text(encoding="utf-8"))["mcpServers"]["sora"]["env"]["OPENAI_API_KEY"] == HOST_KEY
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_config_option_and_symlinks(home: Path, tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "cursor.json"
    real.parent.mkdir()
    real.write_text('{"mcpServers": {}}', encoding="utf-8")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    assert main(["install", "cursor", "--backend", "emulator", "--config", str(link)]) == EXIT_OK
    assert link.is_symlink(), "a symlinked config (dotfiles) stays a symlink"
    assert "sora" in json.loads(real.read_text(encoding="utf-8"))["mcpServers"]


def test_project_scope_writes_the_project_file(home: Path, tmp_path: Path) -> None:
    project = tmp_path / "my project"
    project.mkdir()
    argv = ["install", "claude-code", "--scope", "project", "--project-dir", str(project)]
    assert main([*argv, "--base-url", "http://gw/v1", "--api-key-env", "GW_KEY"]) == EXIT_OK
    written = json.loads((project / ".mcp.json").read_text(encoding="utf-8"))
    assert written["mcpServers"]["sora"]["env"] == {"OPENAI_API_KEY": "${GW_KEY:-}"}


def test_output_dir_is_made_absolute(home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["install", "cursor", "--backend", "emulator", "--output-dir", "clips"]) == EXIT_OK
    args = json.loads(user_config("cursor", home).read_text(encoding="utf-8"))["mcpServers"]["sora"]["args"]
    assert args[args.index("--output-dir") + 1] == str((tmp_path / "clips").resolve())


# --- what the hosts run ------------------------------------------------------------------------------


def install(home: Path, *argv: str, stdin: str | None = None) -> None:
    """Run `sora-mcp install` as a person would: its own process, a home of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SORA_MCP_", "OPENAI_", "XDG_CONFIG"))}
    env.update(HOME=str(home), USERPROFILE=str(home))
    result = subprocess.run(
        [sys.executable, "-m", "sora_mcp", "install", *argv],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def host_launch(
    entry: dict[str, Any], home: Path, host_env: dict[str, str], inputs: dict[str, str]
) -> StdioServerParameters:
    """What a host starts: the entry's command as written (absolute, no PATH lookup of sora-mcp), its env
    block, with ${input:...} and ${env:...} resolved the way the host does, over a minimal environment."""

    def resolve(value: str) -> str:
        value = re.sub(r"\$\{input:([^}]+)\}", lambda m: inputs[m.group(1)], value)
        value = re.sub(r"\$\{env:([^}]+)\}", lambda m: host_env.get(m.group(1), ""), value)
        assert "${" not in value, f"the host would not expand {value!r}"
        return value

    command = entry["command"]
    assert Path(command).is_absolute() and Path(command).exists()
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", **{k: resolve(v) for k, v in entry.get("env", {}).items()}}
    return StdioServerParameters(command=command, args=list(entry["args"]), env=env, cwd=str(home))


async def list_tools(params: StdioServerParameters, *, call_list_videos: bool = False) -> set[str]:
    with anyio.fail_after(60):
        async with Client(params) as client:
            names = model_tools((await client.list_tools()).tools)
            if call_list_videos:
                result = await client.call_tool("list_videos", {})
                assert not result.is_error, result.content
    return names


@pytest.mark.slow
@pytest.mark.anyio
@pytest.mark.parametrize("host", ["claude-desktop", "vscode", "cursor", "windsurf"])
async def test_the_written_emulator_config_starts_the_server(host: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    install(home, host, "--backend", "emulator", "--output-dir", str(tmp_path / "videos"))
    document = json.loads(user_config(host, home).read_text(encoding="utf-8"))
    entry = document[HOSTS[host].servers_key]["sora"]
    assert await list_tools(host_launch(entry, home, {}, {})) == set(TOOL_NAMES)


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    """The live emulator of these tests answers only the key the host config hands over."""
    return EmulatorConfig(api_key=HOST_KEY, render_seconds=0.0, queue_seconds=0.0)


@pytest.mark.slow
@pytest.mark.anyio
@pytest.mark.parametrize(
    ("host", "key_flags", "host_env", "inputs"),
    [
        ("vscode", [], {}, {"sora-api-key": HOST_KEY}),  # VS Code prompts (password) and substitutes the answer
        ("cursor", ["--api-key-env", "GW_KEY"], {"GW_KEY": HOST_KEY}, {}),  # ${env:GW_KEY} from Cursor's environment
        ("claude-desktop", ["--api-key-stdin"], {}, {}),  # a typed key in the env block
    ],
)
async def test_the_key_reaches_a_real_server(
    host: str,
    key_flags: list[str],
    host_env: dict[str, str],
    inputs: dict[str, str],
    live_base_url: str,
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    stdin = HOST_KEY + "\n" if "--api-key-stdin" in key_flags else None
    install(home, host, "--base-url", live_base_url, "--output-dir", str(tmp_path / "videos"), *key_flags, stdin=stdin)
    document = json.loads(user_config(host, home).read_text(encoding="utf-8"))
    entry = document[HOSTS[host].servers_key]["sora"]
    params = host_launch(entry, home, host_env, inputs)
    assert await list_tools(params, call_list_videos=True) == set(TOOL_NAMES)


# --- the demo's closing hints ------------------------------------------------------------------------


@pytest.mark.slow
def test_the_demo_hints_work_when_pasted(tmp_path: Path) -> None:
    """Each hint is run as a shell would split it, in a bare home, outside `uv run`."""
    lines: list[str] = []
    _print_next_steps(lines.append, tmp_path)
    commands = [line.split(":", 1)[1].strip() for line in lines if " install " in line and ":" in line]
    assert len(commands) == len(HOSTS), lines
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin"}
    for command in commands:
        words = shlex.split(command)
        assert words[0] == sys.executable, "an absolute command: no `sora-mcp` on PATH needed"
        host = words[words.index("install") + 1]
        printed = subprocess.run(
            [*words, "--print"], env=env, cwd=home, capture_output=True, text=True, timeout=60, check=False
        )
        assert printed.returncode == 0, printed.stderr
        entry = json.loads(printed.stdout)[HOSTS[host].servers_key]["sora"]
        assert entry["command"] == sys.executable and "emulator" in entry["args"]
        assert not any(home.rglob("*.json")), "--print wrote nothing"
    done = subprocess.run(shlex.split(commands[0]), env=env, cwd=home, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "sora" in json.loads((home / ".claude.json").read_text(encoding="utf-8"))["mcpServers"]

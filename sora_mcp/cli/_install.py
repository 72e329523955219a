"""``sora-mcp install HOST`` and ``sora-mcp uninstall HOST``: this installation, in an MCP host's config.

A host starts the command written here itself, with its own (often minimal) environment and PATH.
So the command is absolute: the Python of this very installation running ``-m sora_mcp``. It works
outside ``uv run``, needs no ``sora-mcp`` on PATH, and names no package that is not installed.
Settings go in as ``serve`` flags (hosts show them); the key only the way the host expects one: a
variable reference where the host expands them, a VS Code password input, or a key the user typed.

The parts are pure functions, tested as data for every platform: ``config_path`` (where each host
keeps its config), ``build_entry`` (the server entry), ``merge`` / ``remove`` (on the parsed file),
``render``. ``run_install`` / ``run_uninstall`` read and write: a backup first, an atomic replace,
idempotent, and never a file that is not valid JSON.
"""

from __future__ import annotations

import argparse
import copy
import getpass
import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import SecretStr

from .._errors import ConfigurationError

__all__ = [
    "HOSTS",
    "Entry",
    "HostFormat",
    "InstallError",
    "ServerOptions",
    "add_install_commands",
    "build_entry",
    "config_path",
    "install_line",
    "merge",
    "remove",
    "render",
    "self_command",
]

Platform = Literal["darwin", "linux", "win32"]
Scope = Literal["user", "project"]
KEY_VARIABLE = "OPENAI_API_KEY"  # what the server reads (it also reads SORA_MCP_API_KEY, AZURE_OPENAI_API_KEY)
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

LIVING_SERVERS = (
    "choose what the server talks to. OpenAI's own Videos API shut down on 2026-09-24, so there is no "
    "default; run install again with one of:\n"
    "  --base-url URL        a server that still speaks /v1/videos: Azure OpenAI "
    "(https://<resource>.openai.azure.com/openai/v1 with --auth-style azure and --model <deployment>), "
    "a LiteLLM proxy (http://<proxy>:4000/v1), vLLM-Omni or SGLang Diffusion (--auth-style none), a gateway\n"
    "  --backend emulator    the local emulator: no key, no cost, real MP4s of the prompt"
)


class InstallError(ConfigurationError):
    """The install cannot be done as asked; the message says why and what to do (exit code 2)."""


@dataclass(frozen=True)
class HostFormat:
    """How one host keeps its MCP servers."""

    title: str
    servers_key: str  # the object holding the servers, by name
    stdio_type: bool  # entries carry "type": "stdio"
    reference: str | None  # how a value refers to an environment variable ({name}); None: no expansion
    project_file: str | None  # the project-level file (--scope project), relative to the project folder
    next_step: str


HOSTS: dict[str, HostFormat] = {
    "claude-desktop": HostFormat(
        "Claude Desktop",
        "mcpServers",
        stdio_type=False,
        reference=None,
        project_file=None,
        next_step="Quit Claude Desktop completely (not just its window) and open it again.",
    ),
    "claude-code": HostFormat(
        "Claude Code",
        "mcpServers",
        stdio_type=True,
        reference="${{{name}:-}}",  # expanded by Claude Code; ':-' keeps an unset variable empty, without a warning
        project_file=".mcp.json",
        next_step="Check it with `claude mcp list`; new Claude Code sessions have the tools "
        "(a project's .mcp.json asks for approval once).",
    ),
    "vscode": HostFormat(
        "VS Code",
        "servers",
        stdio_type=True,
        reference="${{env:{name}}}",
        project_file=".vscode/mcp.json",
        next_step='In VS Code run "MCP: List Servers" and start it; agent mode in Copilot Chat has the tools.',
    ),
    "cursor": HostFormat(
        "Cursor",
        "mcpServers",
        stdio_type=False,
        reference="${{env:{name}}}",
        project_file=".cursor/mcp.json",
        next_step="Open Cursor Settings > MCP: it is listed there; enable it.",
    ),
    "windsurf": HostFormat(
        "Windsurf",
        "mcpServers",
        stdio_type=False,
        reference="${{env:{name}}}",
        project_file=None,
        next_step="In Windsurf, open the MCP servers of the Cascade panel and press refresh.",
    ),
}


# --- where each host keeps its config ------------------------------------------------------------------


def config_path(
    host: str,
    *,
    platform: str | None = None,
    env: Mapping[str, str] | None = None,
    scope: Scope = "user",
    project_dir: str | None = None,
) -> PurePath:
    """The file ``host`` reads its MCP servers from, for ``platform`` (default: this one) and ``env``
    (default: this process's environment: HOME, USERPROFILE, APPDATA, XDG_CONFIG_HOME, CLAUDE_CONFIG_DIR)."""
    fmt = _host(host)
    system = _platform(platform)
    environ = os.environ if env is None else env
    path_type: type[PurePath] = PureWindowsPath if system == "win32" else PurePosixPath
    if scope == "project":
        if fmt.project_file is None:
            raise InstallError(f"{fmt.title} has no project-level config file: leave out --scope project.")
        return path_type(project_dir or os.getcwd()).joinpath(*fmt.project_file.split("/"))
    home = _home(path_type, system, environ)
    if host == "claude-code":  # what `claude mcp add --scope user` writes
        configured = environ.get("CLAUDE_CONFIG_DIR")
        return (path_type(configured) if configured else home) / ".claude.json"
    if host == "cursor":
        return home / ".cursor" / "mcp.json"
    if host == "windsurf":
        return home / ".codeium" / "windsurf" / "mcp_config.json"
    app_data = _app_data(path_type, system, environ, home)
    if host == "claude-desktop":
        return app_data / "Claude" / "claude_desktop_config.json"
    return app_data / "Code" / "User" / "mcp.json"  # vscode: the user profile's mcp.json


def _host(host: str) -> HostFormat:
    try:
        return HOSTS[host]
    except KeyError:
        raise InstallError(f"unknown host {host!r}: choose one of {', '.join(HOSTS)}") from None


def _platform(platform: str | None) -> Platform:
    system = platform or sys.platform
    if system == "win32":
        return "win32"
    if system == "darwin":
        return "darwin"
    return "linux"  # Linux and the other Unixes keep configs the XDG way


def _home(path_type: type[PurePath], system: Platform, env: Mapping[str, str]) -> PurePath:
    variable = "USERPROFILE" if system == "win32" else "HOME"
    value = env.get(variable) or (env.get("HOME") if system == "win32" else None)
    if not value:
        raise InstallError(
            f"{variable} is not set, so the host's config file cannot be found: set it, or pass --config"
        )
    return path_type(value)


def _app_data(path_type: type[PurePath], system: Platform, env: Mapping[str, str], home: PurePath) -> PurePath:
    if system == "darwin":
        return home / "Library" / "Application Support"
    if system == "win32":
        appdata = env.get("APPDATA")
        return path_type(appdata) if appdata else home / "AppData" / "Roaming"
    xdg = env.get("XDG_CONFIG_HOME")
    return path_type(xdg) if xdg and path_type(xdg).is_absolute() else home / ".config"


# --- the entry -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerOptions:
    """What the server entry says. ``api_key`` is a key the user typed; ``api_key_env`` names a variable."""

    backend: Literal["api", "emulator"] = "api"
    base_url: str | None = None
    auth_style: Literal["bearer", "azure", "none"] | None = None
    model: str | None = None
    output_dir: str | None = None
    read_only: bool = False
    api_key: SecretStr | None = field(default=None, repr=False)
    api_key_env: str | None = None


@dataclass(frozen=True)
class Entry:
    """A server entry, the VS Code inputs it uses, and what the user should know about it."""

    server: dict[str, Any]
    inputs: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def self_command() -> list[str]:
    """The absolute command that runs this installation: its own Python with ``-m sora_mcp``."""
    executable = sys.executable
    if not executable or not os.path.isabs(executable):
        raise InstallError(
            "cannot tell which Python runs sora-mcp (sys.executable is empty): run `python -m sora_mcp install ...`"
        )
    return [executable, "-m", "sora_mcp"]


def shell_join(words: Sequence[str], *, platform: str | None = None) -> str:
    """One command line a person can paste into this platform's shell."""
    if _platform(platform) == "win32":
        return subprocess.list2cmdline(list(words))
    return shlex.join(words)


def install_line(host: str, *arguments: str) -> str:
    """The ``install`` command of this installation, ready to paste (absolute, no PATH lookup)."""
    return shell_join([*self_command(), "install", host, *arguments])


def input_id(name: str) -> str:
    return f"{name}-api-key"


def build_entry(
    host: str, options: ServerOptions, *, command: Sequence[str], name: str = "sora", scope: Scope = "user"
) -> Entry:
    """The entry for ``host`` that runs ``command`` (absolute: executable first) as the MCP server."""
    fmt = _host(host)
    check_name(name)
    _check_options(fmt, options, scope)
    if not command or not _is_absolute(command[0]):
        raise InstallError(f"the server command must start with an absolute path, not {command[:1]!r}")
    args = [*command[1:], "serve", "--backend", options.backend]
    if options.base_url:
        args += ["--base-url", _checked_base_url(options.base_url)]
    if options.auth_style:
        args += ["--auth-style", options.auth_style]
    if options.model:
        args += ["--model", options.model]
    if options.output_dir:
        args += ["--output-dir", options.output_dir]
    if options.read_only:
        args.append("--read-only")

    env: dict[str, str] = {}
    inputs: list[dict[str, Any]] = []
    notes: list[str] = []
    needs_key = options.backend == "api" and options.auth_style != "none"
    if options.api_key is not None:
        env[KEY_VARIABLE] = options.api_key.get_secret_value()
        notes.append("The key is stored in plain text in this file, readable only by you.")
    elif options.api_key_env:
        assert fmt.reference is not None  # checked above
        env[KEY_VARIABLE] = fmt.reference.format(name=options.api_key_env)
        notes.append(f"The key is read from ${options.api_key_env} in the environment {fmt.title} runs in.")
    elif needs_key and host == "vscode":
        # VS Code asks once, with the text hidden, and keeps the answer in its secret storage.
        inputs.append(
            {
                "type": "promptString",
                "id": input_id(name),
                "description": "API key of the /v1/videos server (sora-mcp)",
                "password": True,
            }
        )
        env[KEY_VARIABLE] = f"${{input:{input_id(name)}}}"
        notes.append("VS Code asks for the key the first time it starts the server, and keeps it secret.")
    elif needs_key:
        how = "--api-key-stdin" if fmt.reference is None else "--api-key-env NAME or --api-key-stdin"
        notes.append(
            f"No key is configured: the tools will say so until you add one (run install again with {how}), "
            "or use --auth-style none for a server without auth."
        )

    server: dict[str, Any] = {"type": "stdio"} if fmt.stdio_type else {}
    server["command"] = command[0]
    server["args"] = args
    if env:
        server["env"] = env
    return Entry(server=server, inputs=inputs, notes=notes)


def check_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise InstallError(
            f"--name {name!r}: use a letter, then letters, digits, '-' or '_' (at most 64), e.g. sora or sora-azure"
        )


def _check_options(fmt: HostFormat, options: ServerOptions, scope: Scope) -> None:
    has_key = options.api_key is not None or options.api_key_env is not None
    if options.api_key is not None and options.api_key_env is not None:
        raise InstallError("give the key one way: --api-key-env NAME or --api-key-stdin, not both")
    if options.backend == "emulator":
        extra = [
            flag for flag, value in (("--base-url", options.base_url), ("--auth-style", options.auth_style)) if value
        ]
        if has_key:
            extra.append("--api-key-env" if options.api_key_env else "--api-key-stdin")
        if extra:
            raise InstallError(
                f"--backend emulator runs the emulator inside the server: it needs no {', '.join(extra)}. "
                "Leave them out, or drop --backend emulator to use a real server."
            )
        return
    if not options.base_url:
        raise InstallError(LIVING_SERVERS)
    if options.auth_style == "none" and has_key:
        raise InstallError("--auth-style none sends no key: leave out the key, or choose --auth-style bearer or azure")
    if options.api_key_env is not None:
        if not _VARIABLE.fullmatch(options.api_key_env):
            raise InstallError(
                f"--api-key-env {options.api_key_env!r} is not an environment variable name (e.g. OPENAI_API_KEY)"
            )
        if fmt.reference is None:
            raise InstallError(
                f"{fmt.title} does not expand environment variables in its config, so --api-key-env cannot work "
                "there. Use --api-key-stdin (the key is written into the config file, readable only by you), or "
                "the MCP bundle (dist/sora-mcp-*.mcpb), whose key field Claude Desktop keeps secret."
            )
    if options.api_key is not None:
        if not options.api_key.get_secret_value().strip():
            raise InstallError("the key given on stdin is empty")
        if scope == "project":
            raise InstallError(
                "a project config file is meant to be shared (committed), so no key is written into it: use "
                "--api-key-env NAME to refer to a variable instead"
            )
    if options.model is not None and not options.model.strip():
        raise InstallError("--model is empty: give the model (or Azure deployment) name, or leave it out")


def _checked_base_url(url: str) -> str:
    value = url.strip().rstrip("/")
    parts = urlsplit(value)
    if "<" in value or ">" in value:
        raise InstallError(f"--base-url {url!r} still holds a placeholder: replace <...> with your value")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InstallError(
            f"--base-url {url!r} is not an http(s) URL: give the base URL of a server that speaks /v1/videos, "
            "e.g. https://<resource>.openai.azure.com/openai/v1"
        )
    return value


def _is_absolute(path: str) -> bool:
    return PurePosixPath(path).is_absolute() or PureWindowsPath(path).is_absolute()


# --- the file --------------------------------------------------------------------------------------


def parse(text: str, where: str) -> dict[str, Any]:
    """The parsed config file; an InstallError (the file stays as it is) when it is not a JSON object."""
    try:
        document = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        raise InstallError(
            f"{where} is not valid JSON ({exc.msg}, line {exc.lineno} column {exc.colno}), so it was not changed. "
            "Fix it (sora-mcp does not rewrite files with comments or trailing commas), or pass --config PATH to "
            "write another file."
        ) from None
    if not isinstance(document, dict):
        raise InstallError(f"{where} holds JSON but not an object ({{...}}), so it was not changed.")
    return document


def merge(document: Mapping[str, Any] | None, host: str, name: str, entry: Entry) -> dict[str, Any]:
    """A copy of ``document`` with ``entry`` as server ``name``; every other server and key kept."""
    fmt = _host(host)
    updated = copy.deepcopy(dict(document or {}))
    servers = updated.setdefault(fmt.servers_key, {})
    if not isinstance(servers, dict):
        raise InstallError(f'"{fmt.servers_key}" in this file is not an object, so it was not changed.')
    servers[name] = copy.deepcopy(entry.server)
    if entry.inputs:
        inputs = updated.setdefault("inputs", [])
        if not isinstance(inputs, list):
            raise InstallError('"inputs" in this file is not a list, so it was not changed.')
        for wanted in entry.inputs:
            same = [i for i, item in enumerate(inputs) if isinstance(item, dict) and item.get("id") == wanted["id"]]
            if same:
                inputs[same[0]] = copy.deepcopy(wanted)
            else:
                inputs.append(copy.deepcopy(wanted))
    return updated


def remove(document: Mapping[str, Any], host: str, name: str) -> dict[str, Any]:
    """A copy of ``document`` without server ``name`` (and the VS Code input only it used)."""
    fmt = _host(host)
    updated = copy.deepcopy(dict(document))
    servers = updated.get(fmt.servers_key)
    if not isinstance(servers, dict) or name not in servers:
        return updated
    del servers[name]
    inputs = updated.get("inputs")
    if isinstance(inputs, list):
        reference = f"${{input:{input_id(name)}}}"
        still_used = reference in json.dumps(servers)
        if not still_used:
            updated["inputs"] = [i for i in inputs if not (isinstance(i, dict) and i.get("id") == input_id(name))]
    return updated


def render(document: Mapping[str, Any]) -> str:
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if json.loads(text) != document:  # pragma: no cover - json round-trips its own output
        raise InstallError("refusing to write: the file would not read back as written")
    return text


def fragment(host: str, name: str, entry: Entry) -> dict[str, Any]:
    """What ``install`` adds, as a config file of its own (what ``--print`` shows)."""
    return merge(None, host, name, entry)


def mask(value: str) -> str:
    """A key as it may be shown: its kind and, for long keys, its last four characters."""
    prefix = "sk-" if value.startswith("sk-") else ""
    return f"{prefix}…{value[-4:]}" if len(value) >= 16 else f"{prefix}…"


def _masked(document: dict[str, Any], key: SecretStr | None) -> dict[str, Any]:
    if key is None:
        return document
    secret = key.get_secret_value()
    masked: dict[str, Any] = json.loads(
        json.dumps(document).replace(json.dumps(secret)[1:-1], json.dumps(mask(secret))[1:-1])
    )
    return masked


def write_config(path: Path, text: str, *, secret: bool) -> Path | None:
    """Replace ``path`` with ``text`` atomically (through a symlink, onto its target); returns the backup."""
    target = Path(os.path.realpath(path))
    target.parent.mkdir(parents=True, exist_ok=True)
    mode, backup = (0o600 if secret else 0o644), None
    if target.exists():
        mode = stat.S_IMODE(target.stat().st_mode) & (0o700 if secret else 0o777)
        backup = _backup(target)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return backup


def _backup(target: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    backup = target.with_name(f"{target.name}.{stamp}.bak")
    counter = 1
    while backup.exists():
        backup = target.with_name(f"{target.name}.{stamp}-{counter}.bak")
        counter += 1
    shutil.copy2(target, backup)
    return backup


def _read(path: Path) -> dict[str, Any] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise InstallError(f"{path} is not UTF-8 text, so it was not changed.") from None
    return parse(text, str(path))


# --- the commands ----------------------------------------------------------------------------------

INSTALL_EPILOG = """\
where the config goes (override with --config PATH):
  claude-desktop  ~/Library/Application Support/Claude/claude_desktop_config.json (macOS),
                  %APPDATA%\\Claude\\claude_desktop_config.json (Windows), ~/.config/Claude/... (Linux builds)
  claude-code     ~/.claude.json (as `claude mcp add --scope user`; $CLAUDE_CONFIG_DIR/.claude.json if set),
                  ./.mcp.json with --scope project
  vscode          the user profile's mcp.json (~/Library/Application Support/Code/User/mcp.json,
                  %APPDATA%\\Code\\User\\mcp.json, ~/.config/Code/User/mcp.json),
                  ./.vscode/mcp.json with --scope project
  cursor          ~/.cursor/mcp.json, ./.cursor/mcp.json with --scope project
  windsurf        ~/.codeium/windsurf/mcp_config.json

examples:
  sora-mcp install claude-code --backend emulator
  sora-mcp install claude-desktop --base-url https://<resource>.openai.azure.com/openai/v1 \\
      --auth-style azure --model <deployment> --api-key-stdin < key.txt
  sora-mcp install vscode --base-url http://localhost:4000/v1      # VS Code asks for the key, hidden
  sora-mcp install cursor --base-url http://localhost:4000/v1 --api-key-env LITELLM_KEY

Other servers in the file are kept; the file is backed up (<file>.<time>.bak) before it changes;
a second run with the same settings changes nothing. Exit codes: 0 done (or nothing to do), 2 refused.
"""


def add_install_commands(commands: Any) -> None:
    """Register ``install`` and ``uninstall`` on the CLI's subparsers."""
    install: argparse.ArgumentParser = commands.add_parser(
        "install",
        help="add this sora-mcp to an MCP host's config (Claude Desktop, Claude Code, VS Code, Cursor, Windsurf)",
        description="Write (or update) the sora-mcp server entry in a host's config file. The entry runs this "
        "installation by absolute path, so it works without `uv run` and without sora-mcp on PATH.",
        epilog=INSTALL_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    install.add_argument("host", choices=list(HOSTS), help="the MCP host")
    _add_target_flags(install)
    server = install.add_argument_group("what the server talks to (written as `serve` flags)")
    server.add_argument("--backend", choices=["api", "emulator"], default="api", help="default api")
    server.add_argument("--base-url", help="base URL of a server that speaks /v1/videos (required with api)")
    server.add_argument("--auth-style", choices=["bearer", "azure", "none"], help="how the key is sent")
    server.add_argument("--model", help="model (or Azure deployment) for new videos")
    server.add_argument("--output-dir", type=Path, help="where downloads go (made absolute)")
    server.add_argument("--read-only", action="store_true", help="leave out the tools that create, spend or delete")
    key = server.add_mutually_exclusive_group()
    key.add_argument("--api-key-env", metavar="NAME", help="refer to the key in variable NAME (hosts that expand it)")
    key.add_argument(
        "--api-key-stdin", action="store_true", help="read the key from stdin (hidden prompt on a terminal)"
    )
    install.set_defaults(handler=run_install)

    uninstall: argparse.ArgumentParser = commands.add_parser(
        "uninstall",
        help="remove the sora-mcp entry from an MCP host's config",
        description="Remove the sora-mcp server entry (only it) from a host's config file.",
    )
    uninstall.add_argument("host", choices=list(HOSTS), help="the MCP host")
    _add_target_flags(uninstall)
    uninstall.set_defaults(handler=run_uninstall)


def _add_target_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("which file and entry")
    group.add_argument("--name", default="sora", help="the server's name in the host (default sora)")
    group.add_argument("--scope", choices=["user", "project"], default="user", help="user (default) or project")
    group.add_argument("--project-dir", type=Path, help="the project folder for --scope project (default: here)")
    group.add_argument("--config", type=Path, help="write this file instead of the host's usual one")
    group.add_argument("--print", action="store_true", help="only print what would be written")


def _target(args: argparse.Namespace) -> Path:
    if args.config is not None:
        return Path(args.config).expanduser().absolute()
    project = str(Path(args.project_dir).expanduser().absolute()) if args.project_dir else None
    return Path(config_path(args.host, scope=args.scope, project_dir=project))


def options_from_args(args: argparse.Namespace) -> ServerOptions:
    key = _read_key() if getattr(args, "api_key_stdin", False) else None
    output_dir = str(Path(args.output_dir).expanduser().resolve()) if args.output_dir else None
    return ServerOptions(
        backend=args.backend,
        base_url=args.base_url,
        auth_style=args.auth_style,
        model=args.model,
        output_dir=output_dir,
        read_only=args.read_only,
        api_key=key,
        api_key_env=args.api_key_env,
    )


def _read_key() -> SecretStr:
    value = getpass.getpass("API key (not shown): ") if sys.stdin.isatty() else sys.stdin.readline()
    return SecretStr(value.strip())


def run_install(args: argparse.Namespace) -> int:
    host, name = args.host, args.name
    options = options_from_args(args)
    command = self_command()
    entry = build_entry(host, options, command=command, name=name, scope=args.scope)
    path = _target(args)
    shown = render(_masked(fragment(host, name, entry), options.api_key))
    if args.print:
        print(f"sora-mcp install: would add this to {path} (nothing written):", file=sys.stderr)
        print(shown, end="")
        return 0
    try:
        document = _read(path)
    except InstallError as exc:
        raise InstallError(f"{exc}\nThe entry to add by hand:\n{shown}") from None
    updated = merge(document, host, name, entry)
    where = f"{HOSTS[host].title} ({args.scope} config): {path}"
    if updated == document:
        print(f'"{name}" is already in {where} with these settings: nothing changed.')
        return 0
    backup = write_config(path, render(updated), secret=options.api_key is not None)
    print(f'Installed "{name}" in {where}')
    print(f"  runs: {shell_join([entry.server['command'], *entry.server['args']])}")
    if backup is not None:
        print(f"  the previous file is in {backup}")
    for note in entry.notes:
        print(f"  {note}")
    print(f"  next: {HOSTS[host].next_step}")
    _warn_if_temporary()
    return 0


def run_uninstall(args: argparse.Namespace) -> int:
    host, name = args.host, args.name
    check_name(name)
    path = _target(args)
    document = _read(path)
    servers = (document or {}).get(HOSTS[host].servers_key)
    if document is None or not isinstance(servers, dict) or name not in servers:
        print(f'No server named "{name}" in {path}: nothing to remove.')
        return 0
    updated = remove(document, host, name)
    if args.print:
        print(f"sora-mcp uninstall: would remove {name!r} from {path} (nothing written)", file=sys.stderr)
        return 0
    backup = write_config(path, render(updated), secret=False)
    print(f'Removed "{name}" from {HOSTS[host].title}: {path} (the previous file is in {backup})')
    return 0


def _warn_if_temporary() -> None:
    note = temporary_environment_note()
    if note:
        print(f"sora-mcp install: note: {note}", file=sys.stderr)


def temporary_environment_note() -> str | None:
    """Said when this sora-mcp runs from uv's cache (a ``uvx`` environment), which ``uv cache clean`` removes."""
    if "archive-v0" not in Path(sys.prefix).parts:
        return None
    return (
        f"this sora-mcp runs from uv's cache ({sys.prefix}), which `uv cache clean` removes. For a lasting "
        "install: `uv tool install <the wheel or a clone>`, then run its `sora-mcp install ...`."
    )

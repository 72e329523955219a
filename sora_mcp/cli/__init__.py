"""The ``sora-mcp`` command: the MCP server, the emulator, the demo and a CLI for people.

Settings come from flags, then environment variables, then defaults (see ``sora-mcp serve --help``).
Exit codes: 0 success, 1 the operation failed (API error, job failed), 2 bad usage or configuration,
3 a wait timed out (the job keeps running), 130 interrupted.
"""

from __future__ import annotations

import argparse
import functools
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .._config import Settings
from .._errors import ConfigurationError
from .._version import __version__
from ._commands import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_TIMEOUT, EXIT_USAGE, add_commands, printable
from ._spend import SPEND_ENVIRONMENT_HELP, SPEND_SETTING_FLAGS, add_spend_command, add_spend_flags

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_TIMEOUT", "EXIT_USAGE", "main", "settings_from_args"]

# The emulator's dialects (sora_mcp.emulator._dialects.DIALECTS), named here so that building the parser
# does not import the emulator (PyAV, Pillow); tests/dialects checks the two lists agree.
EMULATOR_DIALECTS = ("openai", "azure", "litellm", "vllm-omni", "sglang")


ENVIRONMENT_HELP = (
    """\
environment variables (flags win over them):
  OPENAI_API_KEY            API key of the Videos API server (never pass it as a flag)
  OPENAI_BASE_URL           base URL of a server speaking /v1/videos (no default: api.openai.com shut down)
  SORA_MCP_AUTH_STYLE       bearer (Authorization: Bearer) | azure (api-key header) | none
  OPENAI_ORG_ID, OPENAI_PROJECT_ID, OPENAI_API_VERSION   optional headers / api-version query
  SORA_MCP_MODEL, SORA_MCP_SIZE, SORA_MCP_SECONDS          defaults for new videos
  SORA_MCP_OUTPUT_DIR       where downloads are written (default ~/Videos/sora-mcp, ~/Movies on macOS)
  SORA_MCP_INPUT_ROOTS      folders reference images may be read from (os.pathsep-separated; default ~)
  SORA_MCP_READ_ONLY        true: leave out tools that create, spend or delete
  SORA_MCP_WAIT_TIMEOUT     seconds one wait_for_video call blocks (default 45)
  SORA_MCP_BACKEND          api | emulator (embedded emulator, no key needed)
  SORA_MCP_TRANSPORT, SORA_MCP_HOST, SORA_MCP_PORT, SORA_MCP_AUTH_TOKEN,
  SORA_MCP_ALLOWED_ORIGINS, SORA_MCP_ALLOWED_HOSTS          HTTP transports (comma-separated lists)
"""
    + SPEND_ENVIRONMENT_HELP
)


def _add_settings_flags(parser: argparse.ArgumentParser) -> None:
    """Flags shared by every command that talks to a server. Unset flags leave env/defaults alone."""
    group = parser.add_argument_group("server and defaults")
    add = group.add_argument
    add("--backend", choices=["api", "emulator"], help="api: talk to --base-url; emulator: run one in-process")
    add("--base-url", help="base URL of a server speaking /v1/videos (OPENAI_BASE_URL)")
    add("--auth-style", choices=["bearer", "azure", "none"], help="how the API key is sent")
    add("--model", help="model (or Azure deployment) for new videos")
    add("--size", help="WIDTHxHEIGHT of new videos, e.g. 720x1280")
    add("--seconds", help="duration of new videos, e.g. 4")
    add("--output-dir", type=Path, help="downloads are written only below this folder")
    add("--input-root", dest="input_roots", type=Path, action="append", help="folder images may be read from")
    add("--timeout", type=float, help="seconds to wait for one HTTP response")
    add("--max-retries", type=int, help="retries of idempotent requests")


def _add_serve_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("MCP server")
    add = group.add_argument
    add("--transport", choices=["stdio", "sse", "streamable-http"], help="default stdio")
    add("--host", help="address the HTTP transports bind to (default 127.0.0.1)")
    add("--port", type=int, help="port of the HTTP transports (default 8000; 0 picks a free one)")
    add("--auth-token", help="bearer token HTTP clients must send (SORA_MCP_AUTH_TOKEN)")
    add("--allowed-origin", dest="allowed_origins", action="append", help="extra allowed Origin (repeatable)")
    add("--allowed-host", dest="allowed_hosts", action="append", help="extra allowed Host (repeatable)")
    add("--read-only", action="store_const", const=True, help="leave out tools that create, spend or delete")
    add("--wait-timeout", type=float, help="seconds one wait_for_video call blocks (default 45)")
    add("--emulator-render-seconds", type=float, help="generation time of the embedded emulator")


SETTING_FLAGS = (
    "backend",
    "base_url",
    "auth_style",
    "model",
    "size",
    "seconds",
    "output_dir",
    "input_roots",
    "timeout",
    "max_retries",
    "transport",
    "host",
    "port",
    "auth_token",
    "allowed_origins",
    "allowed_hosts",
    "read_only",
    "wait_timeout",
    "emulator_render_seconds",
    *SPEND_SETTING_FLAGS,
)


def settings_from_args(args: argparse.Namespace) -> Settings:
    """CLI flags > environment > defaults."""
    overrides: dict[str, Any] = {
        name: getattr(args, name) for name in SETTING_FLAGS if getattr(args, name, None) is not None
    }
    return Settings(**overrides)


def build_parser(*, serve_only: bool = False) -> argparse.ArgumentParser:
    """The CLI's parser; with ``serve_only``, only the ``serve`` command's, so that a host starting the
    server waits for nothing the other commands need (the host installer, for one)."""
    parser = argparse.ArgumentParser(
        prog="sora-mcp",
        description="MCP server, CLI and local emulator for the /v1/videos (Sora) API.",
        epilog=ENVIRONMENT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"sora-mcp {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details on stderr")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="run the MCP server (stdio by default)",
        description="Run the MCP server. MCP hosts start it as `sora-mcp serve` (stdio).",
        epilog=ENVIRONMENT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_settings_flags(serve)
    _add_serve_flags(serve)
    add_spend_flags(serve)
    serve.set_defaults(handler=_cmd_serve)
    if serve_only:
        return parser

    demo = commands.add_parser(
        "demo",
        help="see it work end to end with no key (embedded emulator)",
        description="Start `sora-mcp serve --backend emulator` over stdio, generate a clip, wait with live "
        "progress, download it and its thumbnail, read one back as an MCP resource.",
    )
    demo.add_argument("prompt", nargs="?", help="what the clip shows (a default prompt is used otherwise)")
    demo.add_argument("--output-dir", type=Path, help="where files go (default: SORA_MCP_OUTPUT_DIR or ~/Videos)")
    demo.add_argument("--size", default="720x1280", help="WIDTHxHEIGHT (default 720x1280)")
    demo.add_argument("--seconds", type=int, default=4, help="clip length (default 4)")
    demo.add_argument("--render-seconds", type=float, default=2.0, help="simulated generation time (default 2)")
    demo.set_defaults(handler=_cmd_demo)

    from ._install import add_install_commands

    add_commands(commands, _add_settings_flags, settings_from_args)
    add_install_commands(commands)
    add_spend_command(commands, settings_from_args)

    emulator = commands.add_parser(
        "emulator",
        help="run the local emulator of the Videos API",
        description="Serve a local emulator of the /v1/videos API (real MP4s, no key, fault injection).",
    )
    emulator.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    emulator.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    emulator.add_argument("--render-seconds", type=float, default=8.0, help="simulated generation time")
    emulator.add_argument("--api-key", help="require this key (default: any non-empty key)")
    emulator.add_argument("--strict-spec", action="store_true", help="accept only the spec's sizes/durations")
    emulator.add_argument(
        "--retired-model", action="append", default=[], help="answer this model as gone (like after a shutdown)"
    )
    emulator.add_argument("--poll-after-ms", type=int, default=1000, help="openai-poll-after-ms while pending")
    emulator.add_argument(
        "--pad-video-bytes", type=int, default=0, help="serve videos padded to this size (large-download benchmarks)"
    )
    emulator.add_argument(
        "--dialect",
        choices=EMULATOR_DIALECTS,
        default="openai",
        help="answer as this server does: its ids, status words, missing operations and errors (docs/dialects.md)",
    )
    emulator.set_defaults(handler=_cmd_emulator)
    return parser


def _cmd_serve(args: argparse.Namespace) -> int:
    from ..server import run

    run(settings_from_args(args))
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    import anyio

    from ._demo import DEFAULT_PROMPT, DemoError, run_demo

    output_dir = args.output_dir or Settings().output_dir
    try:
        anyio.run(
            functools.partial(
                run_demo,
                output_dir,
                prompt=args.prompt or DEFAULT_PROMPT,
                size=args.size,
                seconds=args.seconds,
                render_seconds=args.render_seconds,
            )
        )
    except (DemoError, TimeoutError, OSError) as exc:
        print(f"sora-mcp demo failed: {exc or type(exc).__name__}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _cmd_emulator(args: argparse.Namespace) -> int:
    from ..emulator import EmulatorConfig
    from ..emulator import run as run_emulator

    config = EmulatorConfig(
        api_key=args.api_key,
        render_seconds=args.render_seconds,
        strict_spec=args.strict_spec,
        retired_models=frozenset(args.retired_model),
        poll_after_ms=args.poll_after_ms,
        pad_video_bytes=args.pad_video_bytes,
        dialect=args.dialect,
    )
    run_emulator(args.host, args.port, config)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(serve_only=next((word for word in words if not word.startswith("-")), None) == "serve")
    args = parser.parse_args(words)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if getattr(args, "handler", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        code: int = args.handler(args)
    except ValidationError as exc:
        print(f"sora-mcp: invalid setting: {_first_error(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except ConfigurationError as exc:
        print(printable(f"sora-mcp: {exc}"), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return code


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

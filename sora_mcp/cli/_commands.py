"""The CLI for people: generate, status, wait, download, list, delete.

Same client and configuration as the MCP server (``open_runtime``). Human output goes to stdout,
progress to stderr; ``--json`` prints one JSON document for scripts.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
from pydantic import BaseModel

from .._backend import open_client
from .._catalog import estimate_cost
from .._client import SoraClient
from .._config import Settings
from .._errors import ConfigurationError, InputError, SoraError, WaitTimeoutError
from .._models import DownloadResult, Video
from ._progress import Progress
from ._text import printable

__all__ = ["EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_TIMEOUT", "EXIT_USAGE", "add_commands", "printable"]

# The exit codes of every command (documented in the README and in cli.py).
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_TIMEOUT, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

Action = Callable[[SoraClient, argparse.Namespace], Awaitable[Any]]


def add_commands(
    commands: Any, add_settings: Callable[[argparse.ArgumentParser], None], to_settings: Callable[..., Settings]
) -> None:
    """Register the human commands on the CLI's subparsers."""

    def command(name: str, help_text: str, action: Action) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = commands.add_parser(name, help=help_text, description=help_text)
        add_settings(parser)
        parser.add_argument("--json", action="store_true", help="print one JSON document (for scripts)")
        parser.set_defaults(handler=lambda args: _run(action, args, to_settings(args)))
        return parser

    generate = command("generate", "start a video job (optionally wait and download it)", _generate)
    generate.add_argument("prompt", help="what the video shows")
    generate.add_argument("--image", type=Path, help="first-frame image (PNG, JPEG or WebP)")
    generate.add_argument("--fit", choices=["none", "crop", "pad"], default="none", help="fit a mismatched image")
    generate.add_argument("--wait", action="store_true", help="wait until the job finishes")
    generate.add_argument("--download", type=Path, metavar="DIR", help="after waiting, save the MP4 into DIR")
    generate.add_argument("--wait-timeout", type=float, default=600.0, help="seconds to wait (default 600)")

    status = command("status", "show a video job's status", _status)
    status.add_argument("video_id")

    wait = command("wait", "wait for a video job to finish, with a progress bar", _wait)
    wait.add_argument("video_id")
    wait.add_argument("--wait-timeout", type=float, default=600.0, help="seconds to wait (default 600)")

    download = command("download", "download a video, its thumbnail or its spritesheet", _download)
    download.add_argument("video_id")
    download.add_argument("--variant", choices=["video", "thumbnail", "spritesheet"], default="video")
    download.add_argument("--to", type=Path, metavar="PATH", help="file or folder inside the output directory")

    listing = command("list", "list recent video jobs", _list)
    listing.add_argument("--limit", type=int, default=20)
    listing.add_argument("--after", help="cursor: the last id of the previous page")
    listing.add_argument("--order", choices=["asc", "desc"], default="desc")

    delete = command("delete", "delete a video job and its assets from the server", _delete)
    delete.add_argument("video_id")


def _run(action: Action, args: argparse.Namespace, settings: Settings) -> int:
    if getattr(args, "download", None) is not None:
        settings = settings.model_copy(update={"output_dir": args.download.expanduser().resolve()})

    async def main() -> Any:
        async with open_client(settings) as client:
            return await action(client, args)

    try:
        result = anyio.run(main)
    except WaitTimeoutError as exc:
        _emit_error(args, exc)
        return EXIT_TIMEOUT
    except (ConfigurationError, InputError) as exc:
        _emit_error(args, exc)
        return EXIT_USAGE
    except SoraError as exc:
        _emit_error(args, exc)
        return EXIT_FAILED
    _emit(args, result)
    return EXIT_OK


def _emit(args: argparse.Namespace, result: Any) -> None:
    if args.json:
        print(json.dumps(_jsonable(result), indent=2))
        return
    for line in _describe(result):
        print(printable(line))


def _emit_error(args: argparse.Namespace, exc: SoraError) -> None:
    if args.json:
        document: dict[str, Any] = {"error": type(exc).__name__, "message": str(exc)}
        video = getattr(exc, "video", None)
        if isinstance(video, Video):
            document["video"] = video.model_dump(mode="json")
        print(json.dumps(document, indent=2))
    print(printable(f"sora-mcp: {exc}"), file=sys.stderr)


def _jsonable(result: Any) -> Any:
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    if isinstance(result, list | tuple):
        return [_jsonable(item) for item in result]
    return result


def _describe(result: Any) -> list[str]:
    if isinstance(result, Video):
        return [_video_line(result)]
    if isinstance(result, DownloadResult):
        return [f"saved {result.path} ({result.bytes:,} bytes, {result.content_type})"]
    if isinstance(result, list | tuple):
        return [line for item in result for line in _describe(item)]
    if isinstance(result, BaseModel):
        return [result.model_dump_json()]
    return [str(result)]


def _video_line(video: Video) -> str:
    cost = estimate_cost(video.model, video.size, video.seconds)
    parts = [video.id, video.status_text]
    parts += [f"{video.progress}%"] if video.progress is not None else []
    parts += [part for part in (video.model, video.size) if part]
    parts += [f"{video.seconds}s"] if video.seconds else []
    if cost is not None:
        parts.append(f"~${cost:.2f}")
    if video.error:
        parts.append(f"error {video.error.code}: {video.error.message}")
    return "  ".join(parts)


async def _follow(client: SoraClient, video_id: str, timeout: float) -> Video:
    # A gateway's id can be 266 characters: the bar names it by its ends.
    bar = Progress(video_id if len(video_id) <= 40 else f"{video_id[:24]}…{video_id[-8:]}")
    try:
        return await client.wait_for_completion(
            video_id,
            timeout=timeout,
            on_progress=lambda v: bar.update(v.progress if v.progress is not None else 0, v.status_text),
        )
    finally:
        bar.close()


async def _generate(client: SoraClient, args: argparse.Namespace) -> Any:
    video = await client.generate_video(
        args.prompt,
        input_reference=args.image,
        fit=args.fit,
    )
    if not (args.wait or args.download):
        return video
    done = await _follow(client, video.id, args.wait_timeout)
    if args.download is None:
        return done
    return [done, await client.download_video(video.id)]


async def _status(client: SoraClient, args: argparse.Namespace) -> Video:
    return await client.get_video_status(args.video_id)


async def _wait(client: SoraClient, args: argparse.Namespace) -> Video:
    return await _follow(client, args.video_id, args.wait_timeout)


async def _download(client: SoraClient, args: argparse.Namespace) -> DownloadResult:
    return await client.download_content(args.video_id, args.to, variant=args.variant)


async def _list(client: SoraClient, args: argparse.Namespace) -> Any:
    page = await client.list_videos(limit=args.limit, after=args.after, order=args.order)
    if args.json:
        return page
    lines = [_video_line(video) for video in page.data] or ["no videos"]
    if page.has_more:
        lines.append(f"more: sora-mcp list --after {page.last_id}")
    return "\n".join(lines)


async def _delete(client: SoraClient, args: argparse.Namespace) -> Any:
    deleted = await client.delete_video(args.video_id)
    return deleted if args.json else f"deleted {deleted.id}" if deleted.deleted else f"not deleted: {deleted.id}"

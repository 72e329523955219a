"""`sora-mcp demo`: the real thing end to end, with no key.

It starts `sora-mcp serve --backend emulator` as a subprocess over stdio, connects with the
official MCP client, and walks the flow a host would: list tools, generate, wait (with the
server's progress notifications), download the video and its thumbnail, read one back as a
resource, and print where the files are and how to plug the server into a host.
"""

from __future__ import annotations

import base64
import sys
from pathlib import Path
from typing import Any, TextIO

import anyio
from mcp import Client, StdioServerParameters
from mcp.types import BlobResourceContents, CallToolResult, TextContent

from ._install import install_line, temporary_environment_note
from ._progress import Progress

__all__ = ["DemoError", "run_demo"]

DEFAULT_PROMPT = "A paper boat drifting down a rain-soaked street at dusk, neon reflections, slow dolly-in"


class DemoError(Exception):
    """A step of the demo failed; the message says which and why."""


def _structured(result: CallToolResult, step: str) -> dict[str, Any]:
    if result.is_error:
        text = " ".join(block.text for block in result.content if isinstance(block, TextContent))
        raise DemoError(f"{step} failed: {text}")
    if not isinstance(result.structured_content, dict):
        raise DemoError(f"{step} returned no structured result")
    return result.structured_content


def emulator_server_args(output_dir: Path, render_seconds: float) -> list[str]:
    """``python`` arguments that run ``sora-mcp serve --backend emulator`` into ``output_dir``."""
    return [
        *("-m", "sora_mcp", "serve", "--backend", "emulator"),
        *("--emulator-render-seconds", str(render_seconds), "--output-dir", str(output_dir)),
    ]


def server_command(output_dir: Path, render_seconds: float) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=emulator_server_args(output_dir, render_seconds))


async def run_demo(
    output_dir: Path,
    *,
    prompt: str = DEFAULT_PROMPT,
    size: str = "720x1280",
    seconds: int = 4,
    render_seconds: float = 2.0,
    out: TextIO | None = None,
) -> Path:
    """Run the demo; returns the path of the downloaded video. Raises DemoError on a failed step."""
    out = out if out is not None else sys.stdout

    def say(text: str) -> None:
        print(text, file=out, flush=True)

    say("sora-mcp demo: starting `sora-mcp serve --backend emulator` over stdio (no API key needed)")
    with anyio.fail_after(120 + render_seconds * 4):
        async with Client(server_command(output_dir, render_seconds)) as client:
            # Failures are raised after the session closed, so they are not wrapped in a task group's error.
            try:
                video = await _steps(client, say, prompt=prompt, size=size, seconds=seconds)
            except DemoError as exc:
                failure: DemoError | None = exc
            else:
                failure = None
    if failure is not None:
        raise failure
    path = Path(str(video["path"]))
    _print_next_steps(say, path.parent)
    return path


async def _steps(client: Client, say: Any, *, prompt: str, size: str, seconds: int) -> dict[str, Any]:
    info = client.server_info
    say(f"connected: {info.name if info else '?'} {info.version if info else ''} (MCP {client.protocol_version})")
    tools = (await client.list_tools()).tools
    say(f"tools: {', '.join(tool.name for tool in tools)}")

    created = _structured(
        await client.call_tool(
            "generate_video", {"prompt": prompt, "size": size, "seconds": seconds, "model": "sora-2"}
        ),
        "generate_video",
    )
    video_id = str(created["id"])
    cost = created.get("estimated_cost_usd")
    price = f"estimated ${cost:.2f} on a real server" if isinstance(cost, int | float) else "no price known"
    say(f"generate_video: {video_id} {created['status']} ({created['size']}, {created['seconds']}s, {price})")
    say(f'  prompt: "{prompt}"')

    bar = Progress("rendering")
    status = await _wait(client, video_id, bar)
    bar.close()
    say(f"wait_for_video: {status['status']} ({status['progress']}%)")

    video = _structured(await client.call_tool("download_video", {"video_id": video_id}), "download_video")
    thumb = _structured(
        await client.call_tool("download_video", {"video_id": video_id, "variant": "thumbnail"}),
        "download_video thumbnail",
    )
    say(f"download_video: {video['path']} ({video['bytes']:,} bytes, {video['mime_type']})")
    say(f"download_video: {thumb['path']} ({thumb['bytes']:,} bytes, {thumb['mime_type']})")

    read = await client.read_resource(str(video["resource_uri"]))
    blob = read.contents[0]
    if not isinstance(blob, BlobResourceContents):
        raise DemoError("reading the video resource returned no binary content")
    size_read = len(base64.b64decode(blob.blob))
    if size_read != video["bytes"]:
        raise DemoError(f"the resource has {size_read} bytes, the file {video['bytes']}")
    say(f"read_resource: {video['resource_uri']} -> {size_read:,} bytes of {blob.mime_type}")
    return video


async def _wait(client: Client, video_id: str, bar: Progress) -> dict[str, Any]:
    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        bar.update(100 * progress / (total or 100), message or "")

    while True:
        status = _structured(
            await client.call_tool("wait_for_video", {"video_id": video_id}, progress_callback=on_progress),
            "wait_for_video",
        )
        if not status["timed_out"]:
            return status


def _print_next_steps(say: Any, folder: Path) -> None:
    """How to plug this installation into a host: commands that work as pasted (absolute, no PATH lookup)."""
    say("")
    say(f"Done. Files are in {folder}")
    say("Plug sora-mcp into your assistant: paste one line (add --print to see the change first).")
    for host, title in NEXT_STEP_HOSTS:
        say(f"  {title + ':':16}{install_line(host, '--backend', 'emulator')}")
    say(
        "  For a real server, replace --backend emulator by --base-url URL of a server that still speaks "
        "/v1/videos (OpenAI's own shut down on 2026-09-24), with --auth-style, --model and --api-key-env NAME "
        "as it needs (`install --help`)."
    )
    note = temporary_environment_note()
    if note:
        say(f"  Note: {note}")


NEXT_STEP_HOSTS = (
    ("claude-code", "Claude Code"),
    ("claude-desktop", "Claude Desktop"),
    ("vscode", "VS Code"),
    ("cursor", "Cursor"),
    ("windsurf", "Windsurf"),
)

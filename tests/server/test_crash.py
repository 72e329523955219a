"""Killing the MCP server in the middle of a download leaves the output directory consistent, and
the download can be redone by a new server process."""

from __future__ import annotations

import contextlib
import signal
import sys
from pathlib import Path

import anyio
import pytest
from mcp import Client

from sora_mcp.emulator import Emulator, EmulatorConfig, Fault, serve_emulator
from tests.server.conftest import SMALL, structured
from tests.server.test_transports import child_env, until_serving

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


async def _start(output_dir: Path, base_url: str) -> tuple[anyio.abc.Process, str]:
    process = await anyio.open_process(
        [
            sys.executable,
            "-m",
            "sora_mcp",
            "serve",
            "--transport",
            "streamable-http",
            "--port",
            "0",
            "--output-dir",
            str(output_dir),
        ],
        env=child_env(OPENAI_API_KEY="sk-crash-test", OPENAI_BASE_URL=base_url),
    )
    return process, await until_serving(process)


async def _download_until_killed(
    server: anyio.abc.Process, url: str, emulator: Emulator, output: Path, video_ids: list[str], killed: anyio.Event
) -> None:
    async with Client(url) as client:
        created = structured(await client.call_tool("generate_video", {"prompt": "x", **SMALL}))
        video_ids.append(created["id"])
        with anyio.fail_after(20):
            structured(await client.call_tool("wait_for_video", {"video_id": created["id"]}))
        # 8 MiB in 64 KiB chunks, 50 ms apart: the download takes ~6 s, so the kill lands mid-way.
        emulator.faults.add(Fault(kind="slow", delay=0.05, path="/videos/{video_id}/content"))

        async def download() -> None:
            with contextlib.suppress(Exception):  # its server is killed under it: that is the point
                await client.call_tool("download_video", {"video_id": created["id"]})

        async with anyio.create_task_group() as tg:
            tg.start_soon(download)
            with anyio.fail_after(20):
                # Another process writes the file: there is nothing to await but the file itself.
                while not [p for p in output.glob(".*.part") if p.stat().st_size > 0]:  # noqa: ASYNC110
                    await anyio.sleep(0.02)
            server.send_signal(signal.SIGKILL)
            killed.set()
            await server.wait()


async def test_kill_during_download_then_redo(tmp_path: Path) -> None:
    emulator = Emulator(EmulatorConfig(render_seconds=0, queue_seconds=0, pad_video_bytes=8 * 1024 * 1024))
    output = tmp_path / "out"
    video_ids: list[str] = []
    async with serve_emulator(emulator) as base_url:
        first, url = await _start(output, base_url)
        killed = anyio.Event()
        try:
            await _download_until_killed(first, url, emulator, output, video_ids, killed)
        except Exception:
            # The client may see its server die on the way out: after the kill that is the point of
            # the test, not a failure of it. Anything that went wrong before the kill is a failure
            # (and the server must not outlive the test).
            if not killed.is_set():
                first.kill()
                raise
        with anyio.fail_after(10):
            await first.wait()
        assert first.returncode == -signal.SIGKILL, "the server was killed mid-download"
        video_id = video_ids[0]
        final = output / f"{video_id}.mp4"
        assert not final.exists(), "a partial download never appears under its final name"
        assert len(list(output.glob(".*.part"))) == 1

        second, url = await _start(output, base_url)
        try:
            async with Client(url) as client:
                listed = {str(r.uri) for r in (await client.list_resources()).resources}
                assert f"sora://videos/{video_id}/video" not in listed, "the leftover is not a resource"
                saved = structured(await client.call_tool("download_video", {"video_id": video_id}))
                assert Path(saved["path"]) == final.resolve() and final.stat().st_size == 8 * 1024 * 1024
                listed = {str(r.uri) for r in (await client.list_resources()).resources}
                assert f"sora://videos/{video_id}/video" in listed
        finally:
            second.terminate()
            await second.wait()

"""The output folder holds exactly what we said, and nothing else is touched (issue 11, classes 8-15)."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client

from sora_mcp import Settings
from sora_mcp._errors import StorageError
from sora_mcp._storage import LocalStorage, disk_error
from sora_mcp.emulator import Emulator, EmulatorConfig, Fault, serve_emulator
from sora_mcp.server import create_server
from sora_mcp.server._library import LocalLibrary
from tests.server.conftest import SMALL, error_text, structured

from .conftest import mcp_against, video_json
from .hostile import MP4_HEAD, Answer, Request, hostile_server, whole

pytestmark = pytest.mark.anyio


async def _completed(client: Client, prompt: str = "x") -> str:
    created = structured(await client.call_tool("generate_video", {"prompt": prompt, **SMALL}))
    with anyio.fail_after(20):
        await client.call_tool("wait_for_video", {"video_id": created["id"]})
    return str(created["id"])


async def test_links_in_the_output_folder_are_never_followed(
    settings: Settings, http_client: httpx2.AsyncClient
) -> None:
    out = settings.output_dir
    async with Client(create_server(settings, http_client=http_client)) as client:
        kept, planted = await _completed(client, "kept"), await _completed(client, "planted")
        await client.call_tool("download_video", {"video_id": kept})
        for suffix in (".mp4", ".json"):
            (out / f"{planted}{suffix}").symlink_to(out / f"{kept}{suffix}")
        listed = {str(r.uri) for r in (await client.list_resources()).resources}
        assert not any(planted in uri for uri in listed), "links are not listed"
        with pytest.raises(Exception, match="download_video"):
            await client.read_resource(f"sora://videos/{planted}/video")
        deleted = structured(await client.call_tool("delete_video", {"video_id": planted, "delete_local_files": True}))
    assert deleted["local_files_removed"] == []
    assert (out / f"{kept}.mp4").is_file() and (out / f"{kept}.json").is_file(), "the link's target survives"


async def test_the_storage_itself_never_follows_a_link(tmp_path: Path) -> None:
    """The library looks (lstat) before it reads or deletes, but a link can be swapped in after it looked:
    the storage's own read, delete and write refuse to go through it."""
    out, secret = tmp_path / "out", tmp_path / "secret.txt"
    out.mkdir()
    secret.write_bytes(b"not yours")
    link = out / "video_x.mp4"
    link.symlink_to(secret)
    storage = LocalStorage(out)

    async def chunks() -> AsyncIterator[bytes]:
        yield MP4_HEAD

    with pytest.raises(StorageError, match="is a link, which is never followed"):
        await storage.read("video_x.mp4", length=100)
    assert await storage.delete("video_x.mp4") is False
    with pytest.raises(StorageError, match="is a link, not a file"):
        await storage.write("video_x.mp4", chunks(), expected_size=len(MP4_HEAD))
    assert link.is_symlink() and secret.read_bytes() == b"not yours"


async def test_a_delete_waits_for_a_download_of_the_same_video(settings: Settings) -> None:
    # A 2 MB video sent in 64 KiB chunks 20 ms apart: the download lasts long enough to be caught in flight.
    # Over real HTTP: an ASGI transport hands the body over only once all of it is sent, so the partial
    # file would live for a few milliseconds and the wait below could miss it.
    config = EmulatorConfig(render_seconds=0, queue_seconds=0, media="fast", pad_video_bytes=2_000_000)
    emulator = Emulator(config)
    async with (
        serve_emulator(emulator) as base_url,
        Client(create_server(settings.model_copy(update={"base_url": base_url}))) as client,
    ):
        video_id = await _completed(client)
        emulator.faults.add(Fault(kind="slow", delay=0.02, method="GET", path="/videos/{video_id}/content"))
        results: dict[str, object] = {}

        async def call(name: str, delete_local_files: bool | None = None) -> None:
            arguments: dict[str, object] = {"video_id": video_id}
            if delete_local_files is not None:
                arguments["delete_local_files"] = delete_local_files
            results[name] = await client.call_tool(name, arguments)

        with anyio.fail_after(20):
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(call, "download_video")
                # Once its partial file exists the download holds the video's lock; then delete.
                while not any(p.name.endswith(".part") for p in settings.output_dir.glob(".*")):  # noqa: ASYNC110
                    await anyio.sleep(0.005)
                tasks.start_soon(call, "delete_video", True)
    saved = structured(results["download_video"])
    deleted = structured(results["delete_video"])
    assert deleted["deleted"] is True and saved["path"] in deleted["local_files_removed"]
    assert not list(settings.output_dir.iterdir()), "what delete reported is what happened"


async def test_local_state_is_keyed_by_the_id_that_was_asked_for(tmp_path: Path) -> None:
    async def lies(request: Request) -> Answer:
        if request.path.endswith("/content"):
            return whole(200, MP4_HEAD + b"\x00" * 2000, "video/mp4")
        return whole(200, video_json("../../video_b"))  # an answer about another (unsafe) id

    async with mcp_against(lies, tmp_path) as (client, _hostile, settings):
        saved = structured(await client.call_tool("download_video", {"video_id": "video_a"}))
    assert saved["video_id"] == "video_a"
    assert sorted(p.name for p in settings.output_dir.iterdir()) == ["video_a.json", "video_a.mp4"]
    assert json.loads((settings.output_dir / "video_a.json").read_text())["id"] == "video_a"


@pytest.mark.parametrize(
    ("variant", "label"),
    [
        ("video", "text/html"),
        ("thumbnail", "text/html"),
        ("video", "video/mp4"),  # a page that says it is the media: the bytes decide, not the header
        ("thumbnail", "image/webp"),
        ("video", "application/octet-stream"),
    ],
)
async def test_a_page_is_never_saved_as_media(tmp_path: Path, variant: str, label: str) -> None:
    async def portal(request: Request) -> Answer:
        if request.path.endswith("/content"):
            return whole(200, b"<!doctype html><html><body>Sign in to the Wi-Fi</body></html>", label)
        return whole(200, video_json())

    async with mcp_against(portal, tmp_path) as (client, _hostile, settings):
        text = error_text(await client.call_tool("download_video", {"video_id": "video_a", "variant": variant}))
    assert "Nothing was saved" in text and "OPENAI_BASE_URL" in text
    assert "an HTML page" in text or label != "text/html"
    assert not settings.output_dir.exists() or not list(settings.output_dir.iterdir())


async def test_a_folder_planted_under_an_asset_name(settings: Settings, http_client: httpx2.AsyncClient) -> None:
    async with Client(create_server(settings, http_client=http_client)) as client:
        video_id = await _completed(client)
        (settings.output_dir / f"{video_id}.mp4").mkdir(parents=True)
        text = error_text(await client.call_tool("download_video", {"video_id": video_id}))
    assert "is a folder, not a file" in text and "Move or remove" in text
    assert [p.name for p in settings.output_dir.iterdir()] == [f"{video_id}.mp4"], "no partial file"


async def test_listing_survives_files_vanishing_mid_scan(tmp_path: Path) -> None:
    library = LocalLibrary(LocalStorage(tmp_path))
    stop = threading.Event()

    def churn() -> None:
        index = 0
        while not stop.is_set():
            path = tmp_path / f"video_{index % 50}.mp4"
            path.write_bytes(MP4_HEAD)
            path.unlink()
            index += 1

    worker = threading.Thread(target=churn)
    worker.start()
    try:
        for _ in range(300):
            await library.assets()
    finally:
        stop.set()
        worker.join()


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs Linux's /proc")
async def test_an_entry_gone_between_listing_and_stat_is_skipped() -> None:
    """Deterministic, where the churn above is a race: /proc/self/fd lists the descriptor the listing
    itself holds open, and that entry is gone once the listing has closed it, before it is looked at."""
    library = LocalLibrary(LocalStorage(Path("/proc/self/fd")))
    for _ in range(20):
        assert await library.assets() == []


async def test_stale_partial_files_are_cleaned_at_start_up(settings: Settings, http_client: httpx2.AsyncClient) -> None:
    out = settings.output_dir
    out.mkdir(parents=True)
    stale, fresh = out / ".video_a.mp4.dead.part", out / ".video_b.mp4.live.part"
    # Old too, but not a partial file of ours: a saved video, a hidden file, a visible name ending in .part
    others = [out / "video_c.mp4", out / ".keep", out / "video_d.mp4.part"]
    for path in (stale, fresh, *others):
        path.write_bytes(b"partial")
    old = time.time() - 2 * 3600
    for path in (stale, *others):
        os.utime(path, (old, old))
    async with Client(create_server(settings, http_client=http_client)) as client:
        await client.list_resources()
    assert not stale.exists() and fresh.exists(), "a download in flight elsewhere keeps its file"
    assert all(path.exists() for path in others), "nothing else is touched"


async def a_small_video(request: Request) -> Answer:
    """A completed video whose content is a small, real-looking MP4."""
    if request.path.endswith("/content"):
        return whole(200, MP4_HEAD + b"\x00" * 100, "video/mp4")
    return whole(200, video_json())


async def test_an_output_path_that_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    async with mcp_against(a_small_video, tmp_path, output_dir=blocker) as (client, _hostile, _settings):
        text = error_text(await client.call_tool("download_video", {"video_id": "video_a"}))
    assert f"{blocker} is not a folder" in text and "SORA_MCP_OUTPUT_DIR" in text


@pytest.mark.parametrize(
    ("errno_name", "words"),
    [("ENOSPC", "is full"), ("EROFS", "cannot be written"), ("EACCES", "cannot be written"), ("EISDIR", "is a folder")],
)
def test_disk_errors_say_what_where_and_what_to_do(tmp_path: Path, errno_name: str, words: str) -> None:
    """Disk-full and read-only folders cannot be made here (tests run as root); the mapping is what matters."""
    import errno as errnos

    error = disk_error(OSError(getattr(errnos, errno_name), os.strerror(getattr(errnos, errno_name))), tmp_path / "f")
    assert words in str(error) and str(tmp_path) in str(error) and error.hint


async def test_cli_download_into_a_planted_folder_exits_cleanly(tmp_path: Path) -> None:
    emulator = Emulator(EmulatorConfig(render_seconds=0, queue_seconds=0, media="fast"))
    async with serve_emulator(emulator) as base_url:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SORA_MCP_", "OPENAI_"))}
        env |= {"OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": "sk-test-cli", "SORA_MCP_OUTPUT_DIR": str(tmp_path)}
        command = [
            sys.executable,
            "-m",
            "sora_mcp",
            "generate",
            "x",
            "--model",
            "m",
            "--size",
            "64x64",
            "--seconds",
            "1",
        ]
        created = await anyio.run_process([*command, "--json"], env=env)
        video_id = json.loads(created.stdout)["id"]
        (tmp_path / f"{video_id}.mp4").mkdir()
        result = await anyio.run_process([sys.executable, "-m", "sora_mcp", "download", video_id], env=env, check=False)
    assert result.returncode == 1 and b"is a folder" in result.stderr and b"Traceback" not in result.stderr


async def test_cli_download_into_an_output_path_that_is_a_file(tmp_path: Path) -> None:
    """The CLI saves through the client, not the server's library: its failure to make the folder is
    actionable too."""

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    async with hostile_server(a_small_video) as (url, _hostile):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SORA_MCP_", "OPENAI_"))}
        env |= {"OPENAI_BASE_URL": url, "OPENAI_API_KEY": "sk-test-cli", "SORA_MCP_OUTPUT_DIR": str(blocker)}
        with anyio.fail_after(30):
            result = await anyio.run_process(
                [sys.executable, "-m", "sora_mcp", "download", "video_a"], env=env, check=False
            )
    assert result.returncode == 1 and f"{blocker} is not a folder".encode() in result.stderr
    assert b"SORA_MCP_OUTPUT_DIR" in result.stderr and b"Traceback" not in result.stderr

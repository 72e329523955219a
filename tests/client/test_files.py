"""Atomic downloads at the file level: complete or nothing, whichever side fails (network, disk,
cancellation), and no temporary file left behind; and the output folder as storage, which uses only
plain files it finds there and says what failed, where and what to do."""

from __future__ import annotations

import errno
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from sora_mcp import IncompleteDownloadError, StorageError
from sora_mcp._files import WRITE_BATCH, write_atomically
from sora_mcp._storage import LocalStorage, disk_error

pytestmark = pytest.mark.anyio

CHUNK = 64 * 1024


async def _stream(
    total: int, *, fail_after: int | None = None, bad_chunk_at: int | None = None
) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        if fail_after is not None and sent >= fail_after:
            raise ConnectionResetError("peer went away")
        if bad_chunk_at is not None and sent >= bad_chunk_at:
            yield "not bytes"  # type: ignore[misc]  # the file refuses it, like a full disk would
        piece = os.urandom(min(CHUNK, total - sent))
        sent += len(piece)
        yield piece


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


async def test_a_complete_stream_lands_under_its_name(tmp_path: Path) -> None:
    target = tmp_path / "clip.mp4"
    total = 3 * WRITE_BATCH + 12345  # several batches and a remainder
    assert await write_atomically(target, _stream(total), total) == total
    assert target.stat().st_size == total and _leftovers(tmp_path) == ["clip.mp4"]


async def test_a_short_body_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "clip.mp4"
    with pytest.raises(IncompleteDownloadError) as short:
        await write_atomically(target, _stream(1000), 2000)
    assert str(short.value) == "The download ended after 1000 of 2000 bytes. The connection broke; download again."
    assert _leftovers(tmp_path) == []


async def test_a_network_failure_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(ConnectionResetError):
        await write_atomically(tmp_path / "clip.mp4", _stream(5 * WRITE_BATCH, fail_after=3 * WRITE_BATCH), None)
    assert _leftovers(tmp_path) == []


async def test_a_disk_failure_leaves_nothing_and_raises_itself(tmp_path: Path) -> None:
    with pytest.raises(TypeError):  # the writer thread's own error, not an exception group
        await write_atomically(tmp_path / "clip.mp4", _stream(5 * WRITE_BATCH, bad_chunk_at=WRITE_BATCH), None)
    assert _leftovers(tmp_path) == []


async def test_cancelling_leaves_nothing(tmp_path: Path) -> None:
    started = anyio.Event()

    async def endless() -> AsyncIterator[bytes]:
        while True:
            started.set()
            yield b"x" * CHUNK
            await anyio.lowlevel.checkpoint()

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(write_atomically, tmp_path / "clip.mp4", endless(), None)
            await started.wait()
            tg.cancel_scope.cancel()
    assert _leftovers(tmp_path) == []


# --- the output folder as storage: it trusts nothing it finds ---------------------------------------------


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


@pytest.mark.parametrize("name", ["", ".hidden.mp4", "a/b.mp4", "a\\b.mp4", "x\x00.mp4", "é" * 128])
async def test_storage_refuses_names_that_are_not_one_plain_component(tmp_path: Path, name: str) -> None:
    storage = LocalStorage(tmp_path)
    for call in (
        lambda: storage.find(name),
        lambda: storage.read(name, length=10),
        lambda: storage.delete(name),
        lambda: storage.write(name, _chunks(b"x"), expected_size=1),
    ):
        with pytest.raises(StorageError) as refused:
            await call()
        assert str(refused.value).endswith("is not a plain file name. This is a bug in sora-mcp: report it.")
    assert _leftovers(tmp_path) == []


async def test_storage_writes_reads_lists_and_deletes_plain_files(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "out")
    assert await storage.files() == [], "a folder not made yet holds nothing"
    stored = await storage.write("clip.mp4", _chunks(b"0123", b"456789"), expected_size=10)
    assert (stored.name, stored.size, stored.location) == ("clip.mp4", 10, str(tmp_path / "out" / "clip.mp4"))
    assert await storage.read("clip.mp4", offset=2, length=3) == b"234"
    assert await storage.find("clip.mp4") == stored
    assert await storage.find("other.mp4") is None
    (tmp_path / "out" / ".clip.mp4.x.part").write_bytes(b"partial")
    assert [file.name for file in await storage.files()] == ["clip.mp4"], "hidden files are never listed"
    assert await storage.delete("clip.mp4") is True
    assert await storage.delete("clip.mp4") is False, "nothing left to delete"
    assert _leftovers(tmp_path / "out") == [".clip.mp4.x.part"]


@pytest.mark.parametrize("kind", ["folder", "link", "special file"])
async def test_something_planted_under_an_asset_name_is_never_used(tmp_path: Path, kind: str) -> None:
    """A folder, a link (here to a file outside) or a FIFO named like an asset: not listed, not read,
    not replaced, not deleted; a download to that name fails saying what to move."""
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"not yours")
    root = tmp_path / "out"
    root.mkdir()
    planted = root / "clip.mp4"
    if kind == "folder":
        planted.mkdir()
    elif kind == "link":
        planted.symlink_to(outside)
    else:
        os.mkfifo(planted)
    storage = LocalStorage(root)
    assert await storage.find("clip.mp4") is None
    assert await storage.files() == []
    assert await storage.delete("clip.mp4") is False
    with pytest.raises(StorageError) as refused:
        await storage.write("clip.mp4", _chunks(b"new"), expected_size=3)
    assert str(refused.value) == (
        f"{planted} is a {kind}, not a file, so the download was not saved there. Move or remove {planted}, "
        "then download again."
    )
    if kind != "special file":  # opening a FIFO to read would block: reads are refused by their type first
        with pytest.raises(StorageError) as unread:
            await storage.read("clip.mp4", length=10)
        expected = f"{planted} is a link, which is never followed." if kind == "link" else "is not a regular file."
        assert expected in str(unread.value)
    assert outside.read_bytes() == b"not yours" and os.path.lexists(planted)
    assert sorted(p.name for p in root.iterdir()) == ["clip.mp4"], "no temporary file left"


async def test_reading_a_missing_file_says_what_failed(tmp_path: Path) -> None:
    with pytest.raises(StorageError) as missing:
        await LocalStorage(tmp_path).read("gone.mp4", length=10)
    assert str(missing.value) == (
        f"Could not use {tmp_path / 'gone.mp4'}: No such file or directory. Check the folder, then try again."
    )


async def test_an_output_folder_that_is_a_file(tmp_path: Path) -> None:
    root = tmp_path / "out"
    root.write_bytes(b"a file where the folder should be")
    storage = LocalStorage(root)
    assert await storage.files() == []
    assert storage.remove_stale_parts() == []
    with pytest.raises(StorageError) as refused:
        await storage.write("clip.mp4", _chunks(b"x"), expected_size=1)
    assert str(refused.value) == (
        f"{root} is not a folder. Set SORA_MCP_OUTPUT_DIR to a folder (or remove the file in the way)."
    )


async def test_a_file_that_vanishes_while_the_folder_is_listed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Between reading the folder and looking at each entry, another process removes a file: the
    listing goes on without it."""
    storage = LocalStorage(tmp_path)
    for name in ("a.mp4", "b.mp4", ".b.mp4.1.part"):
        (tmp_path / name).write_bytes(b"x")
    os.utime(tmp_path / ".b.mp4.1.part", (0, 0))
    real_scandir = os.scandir

    def listing_then_removal(path: Any) -> list[os.DirEntry[str]]:
        with real_scandir(path) as entries:
            listed = list(entries)
        (tmp_path / "b.mp4").unlink(missing_ok=True)
        (tmp_path / ".b.mp4.1.part").unlink(missing_ok=True)
        return listed

    monkeypatch.setattr(os, "scandir", listing_then_removal)
    assert [file.name for file in await storage.files()] == ["a.mp4"]
    (tmp_path / ".b.mp4.1.part").write_bytes(b"x")
    os.utime(tmp_path / ".b.mp4.1.part", (0, 0))
    assert storage.remove_stale_parts() == [], "it was gone before it could be removed"


def test_stale_parts_are_removed_and_fresh_ones_kept(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    stale, fresh, other = tmp_path / ".a.mp4.1.part", tmp_path / ".b.mp4.2.part", tmp_path / ".keep"
    for path in (stale, fresh, other):
        path.write_bytes(b"x")
    os.utime(stale, (0, 0))
    os.utime(other, (0, 0))
    (tmp_path / ".link.part").symlink_to(stale)
    assert storage.remove_stale_parts() == [stale]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".b.mp4.2.part", ".keep", ".link.part"]
    assert LocalStorage(tmp_path / "missing").remove_stale_parts() == []


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (errno.ENOSPC, "The disk holding {folder} is full. Free some space, then try again."),
        (errno.EACCES, "{folder} cannot be written (permission denied or read-only). Make it writable, or set"),
        (errno.EROFS, "{folder} cannot be written (permission denied or read-only)."),
        (errno.ENOTDIR, "{folder} is not a folder. Set SORA_MCP_OUTPUT_DIR to a folder"),
        (errno.ELOOP, "{path} is a link, which is never followed. Remove the link {path}."),
        (errno.EIO, "Could not use {path}: Input/output error. Check the folder, then try again."),
    ],
)
def test_disk_errors_say_what_failed_where_and_what_to_do(tmp_path: Path, error: int, message: str) -> None:
    path = tmp_path / "out" / "clip.mp4"
    said = str(disk_error(OSError(error, os.strerror(error)), path))
    assert said.startswith(message.format(folder=path.parent, path=path)), said

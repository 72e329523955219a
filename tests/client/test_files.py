"""Atomic downloads at the file level: complete or nothing, whichever side fails (network, disk,
cancellation), and no temporary file left behind; and the output folder as storage, which uses only
plain files it finds there and says what failed, where and what to do."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest

from sora_mcp import IncompleteDownloadError
from sora_mcp._files import WRITE_BATCH, write_atomically

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

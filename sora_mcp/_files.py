"""Local files: which paths may be read or written, and atomic downloads.

Inputs are read only from the allowed roots; outputs are written only below the output directory.
Both checks resolve symlinks first, so a link cannot lead outside. A download is written to a
hidden temporary file beside its target and renamed into place only when complete.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import BinaryIO

import anyio

from ._errors import IncompleteDownloadError, PathNotAllowedError

__all__ = ["resolve_input", "resolve_output", "write_atomically"]


def _plain(path: str | Path) -> Path:
    text = os.fspath(path)
    if "\x00" in text:
        raise PathNotAllowedError("The path contains a NUL byte.", hint="Pass a plain file path.")
    return Path(text).expanduser()


def resolve_input(path: str | Path, roots: Sequence[Path]) -> Path:
    """The real path of a readable file inside one of ``roots``; PathNotAllowedError otherwise."""
    candidate = _plain(path)
    allowed = ", ".join(str(root) for root in roots) or "(none)"
    hint = f"Allowed folders: {allowed}. Move the image there, or add its folder to SORA_MCP_INPUT_ROOTS."
    if not candidate.is_absolute():
        raise PathNotAllowedError(f"{path} is not an absolute path.", hint=hint)
    outside = PathNotAllowedError(f"{path} is not inside the folders images may be read from.", hint=hint)
    # The folders are checked before the file is looked at, so the answer for anything outside them is the
    # same whether it exists or not: errors cannot be used to probe the rest of the disk.
    try:
        lexical = candidate.parent.resolve(strict=False) / candidate.name
    except (OSError, RuntimeError) as exc:
        raise outside from exc
    resolved_roots = [root.resolve() for root in roots]
    if not any(lexical.is_relative_to(root) for root in resolved_roots):
        raise outside
    try:
        real = candidate.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise PathNotAllowedError(f"{path} does not exist or cannot be read.", hint=hint) from exc
    if not any(real.is_relative_to(root) for root in resolved_roots):  # a link inside that leads out
        raise outside
    if not real.is_file():
        raise PathNotAllowedError(f"{path} is not a regular file.", hint=hint)
    return real


def resolve_output(output_path: str | Path | None, output_dir: Path, default_name: str) -> Path:
    """Where to write a download: always inside ``output_dir`` (created if missing)."""
    root = output_dir.resolve()
    hint = f"Downloads are written only inside {root} (SORA_MCP_OUTPUT_DIR): pass a name or a path inside it."
    if output_path is None:
        candidate = root / default_name
    else:
        given = _plain(output_path)
        if ".." in given.parts:
            raise PathNotAllowedError(f"{output_path} contains '..'.", hint=hint)
        candidate = given if given.is_absolute() else root / given
        if candidate.is_dir() or str(output_path).endswith(("/", os.sep)):
            candidate = candidate / default_name
    parent = candidate.parent.resolve()
    if not parent.is_relative_to(root) and parent != root:
        raise PathNotAllowedError(f"{output_path} is outside the output directory.", hint=hint)
    target = parent / candidate.name
    if target.is_symlink():
        raise PathNotAllowedError(f"{target} is a symbolic link.", hint=hint)
    parent.mkdir(parents=True, exist_ok=True)
    return target


# Chunks are gathered up to this size and written by a worker thread in one call: a thread hop per
# network chunk halves throughput, and a write on the event loop would stall it. Memory stays bounded.
WRITE_BATCH = 2 * 1024 * 1024


async def write_atomically(target: Path, chunks: AsyncIterator[bytes], expected: int | None) -> int:
    """Stream ``chunks`` into ``target`` via a temporary file; nothing appears under ``target``
    unless all bytes (``expected`` when known) arrived. Returns the byte count."""
    temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
    try:
        handle = await anyio.to_thread.run_sync(_create, temp)
        try:
            written = await _pipe(chunks, handle)
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(handle.close)
        if expected is not None and written != expected:
            raise IncompleteDownloadError(
                f"The download ended after {written} of {expected} bytes.",
                hint="The connection broke; download again.",
            )
        await anyio.to_thread.run_sync(os.replace, temp, target)
    except BaseException:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(_remove, temp)
        raise
    return written


async def _pipe(chunks: AsyncIterator[bytes], handle: BinaryIO) -> int:
    """Receive on the event loop while a worker thread writes the previous batch: the two overlap,
    and at most two batches wait in memory."""
    send, receive = anyio.create_memory_object_stream[list[bytes]](max_buffer_size=1)
    received = 0

    async def write() -> None:
        async with receive:
            async for batch in receive:
                await anyio.to_thread.run_sync(handle.writelines, batch)
        await anyio.to_thread.run_sync(_sync, handle)

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(write)
            async with send:
                batch: list[bytes] = []
                pending = 0
                async for chunk in chunks:
                    batch.append(chunk)
                    pending += len(chunk)
                    if pending >= WRITE_BATCH:
                        await send.send(batch)
                        received, batch, pending = received + pending, [], 0
                await send.send(batch)
                received += pending
    except BaseExceptionGroup as group:  # one side failed (network or disk): raise that error itself
        # (a dead writer also breaks the stream the reader sends into: that is not the cause)
        causes = [
            e for e in group.exceptions if isinstance(e, Exception) and not isinstance(e, anyio.BrokenResourceError)
        ]
        raise (causes or group.exceptions)[0] from None
    return received


def _create(path: Path) -> BinaryIO:
    return path.open("xb")


def _sync(handle: BinaryIO) -> None:
    """Make the bytes durable before the rename makes them visible."""
    handle.flush()
    os.fsync(handle.fileno())


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)

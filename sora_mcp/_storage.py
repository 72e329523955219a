"""Where downloaded assets live: a small storage interface, and the local folder that implements it.

The library (``server/_library.py``) knows videos and asset kinds; storage knows only flat names.
Another backend (object storage) implements ``Storage`` and nothing above it changes.

The local folder trusts nothing it finds: a name is one plain path component, links are never
followed (not to list, read, replace or delete), only regular files count, and a write appears
under its name only when complete (a hidden temporary file, fsynced, then renamed over it).
"""

from __future__ import annotations

import errno
import os
import stat
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import anyio

from ._errors import StorageError
from ._files import write_atomically

__all__ = ["PART_SUFFIX", "LocalStorage", "Storage", "StoredFile"]

PART_SUFFIX = ".part"
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


@dataclass(frozen=True)
class StoredFile:
    name: str
    size: int
    modified_ns: int
    location: str  # what a person is shown: an absolute path here, a URL for object storage


class Storage(Protocol):
    """Flat names to bytes. Every method refuses a name that is not one plain component."""

    async def write(self, name: str, chunks: AsyncIterator[bytes], *, expected_size: int | None) -> StoredFile: ...

    async def find(self, name: str) -> StoredFile | None: ...

    async def files(self) -> list[StoredFile]: ...

    async def read(self, name: str, *, offset: int = 0, length: int) -> bytes: ...

    async def delete(self, name: str) -> bool: ...


def check_name(name: str) -> str:
    """One plain, visible path component (no separators, links to parents or hidden names)."""
    if not name or name.startswith(".") or "/" in name or "\\" in name or "\x00" in name or len(name.encode()) > 255:
        raise StorageError(f"{name[:80]!r} is not a plain file name.", hint="This is a bug in sora-mcp: report it.")
    return name


class LocalStorage:
    """A folder on this machine (the output directory)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, name: str) -> Path:
        return self.root / check_name(name)

    async def write(self, name: str, chunks: AsyncIterator[bytes], *, expected_size: int | None) -> StoredFile:
        target = self.path(name)
        try:
            await anyio.to_thread.run_sync(self._prepare, target)
            await write_atomically(target, chunks, expected_size)
        except OSError as exc:
            raise disk_error(exc, target) from exc
        found = await self.find(name)
        if found is None:  # replaced by something that is not a regular file in the meantime
            raise StorageError(f"{target} vanished right after it was written.", hint="Check what else writes there.")
        return found

    def _prepare(self, target: Path) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            mode = os.lstat(target).st_mode
        except FileNotFoundError:
            return
        if not stat.S_ISREG(mode):  # a rename would fail on a folder and silently replace a link
            kind = "link" if stat.S_ISLNK(mode) else "folder" if stat.S_ISDIR(mode) else "special file"
            raise StorageError(
                f"{target} is a {kind}, not a file, so the download was not saved there.",
                hint=f"Move or remove {target}, then download again.",
            )

    async def find(self, name: str) -> StoredFile | None:
        return await anyio.to_thread.run_sync(self._stat, self.path(name))

    def _stat(self, path: Path) -> StoredFile | None:
        try:
            info = os.lstat(path)
        except OSError:
            return None
        if not stat.S_ISREG(info.st_mode):
            return None
        return StoredFile(path.name, info.st_size, info.st_mtime_ns, str(path))

    async def files(self) -> list[StoredFile]:
        return await anyio.to_thread.run_sync(self._list)

    def _list(self) -> list[StoredFile]:
        try:
            entries = list(os.scandir(self.root))
        except (FileNotFoundError, NotADirectoryError):
            return []
        found = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:  # a file may vanish (or be swapped for a link) between the listing and its stat
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode):
                found.append(StoredFile(entry.name, info.st_size, info.st_mtime_ns, entry.path))
        return found

    async def read(self, name: str, *, offset: int = 0, length: int) -> bytes:
        return await anyio.to_thread.run_sync(self._read, self.path(name), offset, length)

    def _read(self, path: Path, offset: int, length: int) -> bytes:
        try:
            fd = os.open(path, os.O_RDONLY | _O_NOFOLLOW)
        except OSError as exc:
            raise disk_error(exc, path) from exc
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise StorageError(f"{path} is not a regular file.", hint=f"Remove {path} from the folder.")
            return os.pread(fd, length, offset)
        finally:
            os.close(fd)

    async def delete(self, name: str) -> bool:
        return await anyio.to_thread.run_sync(self._delete, self.path(name))

    def _delete(self, path: Path) -> bool:
        if self._stat(path) is None:  # missing, or not ours to remove (a link, a folder)
            return False
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise disk_error(exc, path) from exc
        return True

    def remove_stale_parts(self, older_than: float = 3600.0) -> list[Path]:
        """Delete the hidden temporary files of downloads that were killed (not ones in flight)."""
        removed: list[Path] = []
        limit = time.time() - older_than
        try:
            entries = list(os.scandir(self.root))
        except OSError:
            return removed
        for entry in entries:
            if not (entry.name.startswith(".") and entry.name.endswith(PART_SUFFIX)):
                continue
            try:
                info = entry.stat(follow_symlinks=False)
                if stat.S_ISREG(info.st_mode) and info.st_mtime < limit:
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
            except OSError:
                continue
        return removed


def disk_error(exc: OSError, path: Path) -> StorageError:
    """An OSError as a message that says what failed, where, and what to do."""
    folder = path.parent
    if exc.errno == errno.ENOSPC:
        return StorageError(f"The disk holding {folder} is full.", hint="Free some space, then try again.")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return StorageError(
            f"{folder} cannot be written (permission denied or read-only).",
            hint="Make it writable, or set SORA_MCP_OUTPUT_DIR to a folder you can write.",
        )
    if exc.errno in (errno.ENOTDIR, errno.EEXIST) or (exc.errno == errno.ENOENT and folder.is_file()):
        return StorageError(
            f"{folder} is not a folder.", hint="Set SORA_MCP_OUTPUT_DIR to a folder (or remove the file in the way)."
        )
    if exc.errno == errno.EISDIR:
        return StorageError(
            f"{path} is a folder, so the download was not saved there.", hint=f"Move or remove {path}, then try again."
        )
    if exc.errno == errno.ELOOP:
        return StorageError(f"{path} is a link, which is never followed.", hint=f"Remove the link {path}.")
    reason = exc.strerror or type(exc).__name__
    return StorageError(f"Could not use {path}: {reason}.", hint="Check the folder, then try again.")

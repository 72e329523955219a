"""The local library: the videos downloaded into the output directory, as MCP resources.

The storage is the single source of truth, so resources survive a restart: whatever is there is what
``resources/list`` shows. Layout (flat, so a person browsing the folder sees the videos directly)::

    <stem>.mp4                 the video
    <stem>.thumbnail.webp      the thumbnail (or .jpg / .png: the suffix follows what was served)
    <stem>.spritesheet.jpg     the spritesheet (likewise)
    <stem>.json                metadata: the real id, the video as last seen, and its files

``<stem>`` is the id when it is short and filename-safe, else a digest of it (``_assets.local_stem``);
the metadata file then says which id it stands for. Resource URIs carry the real id, percent-encoded:
``sora://videos/{video_id}/{kind}``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from .._assets import (
    ASSETS,
    MEDIA_SUFFIXES,
    VARIANTS,
    AssetKind,
    VideoVariant,
    check_id,
    is_digest_stem,
    is_readable_stem,
    local_stem,
)
from .._errors import StorageError
from .._models import Video
from .._storage import Storage, StoredFile

__all__ = ["Asset", "LocalLibrary", "asset_template", "asset_uri", "parse_asset_uri"]

URI_PREFIX = "sora://videos/"
MAX_URI_LENGTH = len(URI_PREFIX) + 3 * 2048 + 32
METADATA_LIMIT = 1024 * 1024  # a metadata file larger than this was not written by us

# Every suffix a file of each kind may have -> its kind, longest first so ".thumbnail.webp" wins over ".webp".
_SUFFIXES: list[tuple[str, AssetKind]] = sorted(
    ((suffix, kind) for kind, spec in ASSETS.items() for suffix in spec.suffixes()),
    key=lambda pair: -len(pair[0]),
)
_CONTENT_TYPES = {suffix: content_type for content_type, suffix in MEDIA_SUFFIXES.items()}


def asset_uri(video_id: str, kind: AssetKind) -> str:
    return f"{URI_PREFIX}{quote(video_id, safe='')}/{kind}"


def asset_template(kind: AssetKind) -> str:
    """The resource template of one kind of asset (RFC 6570)."""
    return f"{URI_PREFIX}{{video_id}}/{kind}"


def parse_asset_uri(uri: str) -> tuple[str, AssetKind] | None:
    """``(video_id, kind)`` of one of our asset URIs; None for anything else."""
    if len(uri) > MAX_URI_LENGTH or not uri.startswith(URI_PREFIX):
        return None
    encoded, _, kind = uri[len(URI_PREFIX) :].rpartition("/")
    if kind not in ASSETS or not encoded or "/" in encoded:
        return None
    try:
        return check_id(unquote(encoded, errors="strict")), kind
    except (UnicodeDecodeError, ValueError):
        return None


@dataclass(frozen=True)
class Asset:
    video_id: str
    kind: AssetKind
    file: StoredFile
    content_type: str

    @property
    def uri(self) -> str:
        return asset_uri(self.video_id, self.kind)

    @property
    def name(self) -> str:
        return self.file.name

    @property
    def size(self) -> int:
        return self.file.size


def _content_type(kind: AssetKind, name: str) -> str:
    if kind == "metadata":
        return "application/json"
    return _CONTENT_TYPES.get("." + name.rsplit(".", 1)[-1], ASSETS[kind].content_type)


def _split(name: str) -> tuple[str, AssetKind] | None:
    """``(stem, kind)`` of a file name the library could have written."""
    for suffix, kind in _SUFFIXES:
        stem = name.removesuffix(suffix)
        if stem != name and (is_readable_stem(stem) or is_digest_stem(stem)):
            return stem, kind
    return None


class LocalLibrary:
    """Downloaded assets by video id and kind, on a ``Storage``."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def save(
        self, video_id: str, variant: VideoVariant, content_type: str, chunks: AsyncIterator[bytes], size: int | None
    ) -> Asset:
        """Store an asset atomically under its name (the suffix follows what was served), then drop
        files of the same asset in other formats, so one asset is one file."""
        name = local_stem(video_id) + ASSETS[variant].suffix_for(content_type)
        stored = await self.storage.write(name, chunks, expected_size=size)
        for old in await self._files(video_id, variant):
            if old.name != name:
                await self.storage.delete(old.name)
        return Asset(video_id, variant, stored, _content_type(variant, name))

    async def write_metadata(self, video_id: str, video: Video) -> Asset:
        """Record the video as last seen, under the id that was asked for (not the one in the answer),
        and which of its assets are on disk. Atomic like every write."""
        # Found by name, not through find(): a digest-named video's metadata is what makes its files its own.
        files = {kind: found[0].name for kind in VARIANTS if (found := await self._files(video_id, kind))}
        document = {"id": video_id, "video": video.model_dump(mode="json"), "files": files}
        data = (json.dumps(document, indent=2) + "\n").encode()
        stored = await self.storage.write(
            local_stem(video_id) + ASSETS["metadata"].suffix, _once(data), expected_size=len(data)
        )
        return Asset(video_id, "metadata", stored, "application/json")

    async def _files(self, video_id: str, kind: AssetKind) -> list[StoredFile]:
        stem = local_stem(video_id)
        found = [file for suffix in ASSETS[kind].suffixes() if (file := await self.storage.find(stem + suffix))]
        return sorted(found, key=lambda file: -file.modified_ns)

    async def find(self, video_id: str, kind: AssetKind) -> Asset | None:
        files = await self._files(video_id, kind)
        if not files or not await self._belongs(video_id):
            return None
        return Asset(video_id, kind, files[0], _content_type(kind, files[0].name))

    async def _belongs(self, video_id: str) -> bool:
        """A digest stem's files are this video's only if its metadata says so (digests can be planted)."""
        stem = local_stem(video_id)
        return not is_digest_stem(stem) or await self._id_of(stem) == video_id

    async def _id_of(self, stem: str) -> str | None:
        """The real id a stem stands for: itself, or what its metadata file records."""
        if not is_digest_stem(stem):
            return stem
        try:
            raw = await self.storage.read(stem + ASSETS["metadata"].suffix, length=METADATA_LIMIT)
            document: Any = json.loads(raw)
        except (ValueError, OSError, StorageError):  # missing, unreadable or not ours: not this video's
            return None
        video_id = document.get("id") if isinstance(document, dict) else None
        return video_id if isinstance(video_id, str) and local_stem(video_id) == stem else None

    async def at_uri(self, uri: str) -> Asset | None:
        parsed = parse_asset_uri(uri)
        return await self.find(*parsed) if parsed else None

    async def assets(self) -> list[Asset]:
        """Every complete asset in storage (the newest file of each), newest first."""
        newest: dict[tuple[str, AssetKind], Asset] = {}
        ids: dict[str, str | None] = {}
        for file in await self.storage.files():
            split = _split(file.name)
            if split is None:
                continue
            stem, kind = split
            if stem not in ids:
                ids[stem] = await self._id_of(stem)
            video_id = ids[stem]
            if video_id is None:
                continue
            kept = newest.get((video_id, kind))
            if kept is None or file.modified_ns > kept.file.modified_ns:
                newest[(video_id, kind)] = Asset(video_id, kind, file, _content_type(kind, file.name))
        return sorted(newest.values(), key=lambda a: (-a.file.modified_ns, a.video_id, a.kind))

    async def read(self, asset: Asset, *, offset: int = 0, length: int) -> bytes:
        return await self.storage.read(asset.name, offset=offset, length=length)

    async def delete(self, video_id: str) -> list[str]:
        """Remove every local file of a video (never through a link); returns where they were."""
        if not await self._belongs(video_id):
            return []
        removed: list[str] = []
        for kind in ("video", "thumbnail", "spritesheet", "metadata"):
            for file in await self._files(video_id, kind):
                if await self.storage.delete(file.name):
                    removed.append(file.location)
        return removed


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data

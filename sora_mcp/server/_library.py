"""The local library: what has been downloaded into the output directory.

The output directory is the single source of truth, so resources survive a restart: whatever
is there is what ``resources/list`` shows. Layout (flat, so a person browsing the folder sees
the videos directly)::

    <output_dir>/<video_id>.mp4                 variant "video"
    <output_dir>/<video_id>.thumbnail.webp      variant "thumbnail"
    <output_dir>/<video_id>.spritesheet.jpg     variant "spritesheet"
    <output_dir>/<video_id>.json                metadata: the video as last seen, and its files

A server may send an image in another format (a strict-spec server sends the spritesheet as WebP);
the download keeps the format it got (``<video_id>.spritesheet.webp``) and the library knows it.
Partial downloads live under dot-prefixed ``.part`` names and are never listed.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

from .._errors import PathNotAllowedError
from .._models import CONTENT_TYPE_SUFFIXES, Video

__all__ = ["ASSET_KINDS", "Asset", "AssetKind", "LocalLibrary", "check_video_id"]

AssetKind = Literal["video", "thumbnail", "spritesheet", "metadata"]

# kind -> (default file suffix, MIME type): what the API sends, and what the templates declare.
ASSET_KINDS: dict[AssetKind, tuple[str, str]] = {
    "video": (".mp4", "video/mp4"),
    "thumbnail": (".thumbnail.webp", "image/webp"),
    "spritesheet": (".spritesheet.jpg", "image/jpeg"),
    "metadata": (".json", "application/json"),
}
# Every file suffix the library recognises -> (kind, MIME type): the defaults, and the images in
# any format the client names a download after (``CONTENT_TYPE_SUFFIXES``).
SUFFIXES: dict[str, tuple[AssetKind, str]] = {suffix: (kind, mime) for kind, (suffix, mime) in ASSET_KINDS.items()} | {
    f".{kind}{suffix}": (kind, content_type)
    for kind in ("thumbnail", "spritesheet")
    for content_type, suffix in CONTENT_TYPE_SUFFIXES.items()
    if content_type.startswith("image/")
}

# Ids are server-minted handles; we only accept ones that are safe as file names.
_VIDEO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")


def check_video_id(video_id: str) -> str:
    """Refuse ids that could not have come from a server (and could escape a folder as file names)."""
    if not _VIDEO_ID.fullmatch(video_id):
        raise PathNotAllowedError(
            f"{video_id!r} is not a video id.",
            hint="Use the id returned by generate_video or list_videos, e.g. 'video_68d7512d...'.",
        )
    return video_id


def asset_uri(video_id: str, kind: AssetKind) -> str:
    return f"sora://videos/{video_id}/{kind}"


_ASSET_URI = re.compile(r"sora://videos/(?P<video_id>[^/]+)/(?P<kind>" + "|".join(ASSET_KINDS) + ")")


@dataclass(frozen=True)
class Asset:
    video_id: str
    kind: AssetKind
    path: Path
    size: int
    mime_type: str
    modified_ns: int

    @property
    def uri(self) -> str:
        return asset_uri(self.video_id, self.kind)


class LocalLibrary:
    """Paths, listing and metadata of downloaded assets, all confined to ``output_dir``."""

    def __init__(self, output_dir: Path) -> None:
        self.root = output_dir

    def relative_name(self, video_id: str, kind: AssetKind) -> str:
        """The default file name of an asset (the download may change an image's suffix)."""
        return check_video_id(video_id) + ASSET_KINDS[kind][0]

    def _confined(self, name: str) -> Path:
        """``root / name``, refused when a symlink would take it out of the output directory."""
        path = self.root / name
        resolved = path.resolve()
        if not resolved.is_relative_to(self.root.resolve()):
            raise PathNotAllowedError(
                f"{path.name} resolves outside the output directory.",
                hint="Remove the symlink from the output directory.",
            )
        return resolved

    def _files(self, video_id: str, kind: AssetKind) -> list[Asset]:
        """The files of one asset on disk (one, unless a server changed the image format), newest first."""
        check_video_id(video_id)
        found: list[Asset] = []
        for suffix, (suffix_kind, mime) in SUFFIXES.items():
            if suffix_kind != kind:
                continue
            path = self._confined(video_id + suffix)
            try:
                stat = path.stat()
            except OSError:
                continue
            if path.is_file():
                found.append(Asset(video_id, kind, path, stat.st_size, mime, stat.st_mtime_ns))
        return sorted(found, key=lambda asset: -asset.modified_ns)

    def find(self, video_id: str, kind: AssetKind) -> Asset | None:
        files = self._files(video_id, kind)
        return files[0] if files else None

    def at_uri(self, uri: str) -> Asset | None:
        """The asset ``sora://videos/{video_id}/{kind}`` names, if it is on disk."""
        match = _ASSET_URI.fullmatch(uri)
        if match is None or not _VIDEO_ID.fullmatch(match["video_id"]):
            return None
        return self.find(match["video_id"], cast(AssetKind, match["kind"]))

    def assets(self) -> list[Asset]:
        """Every complete asset in the output directory (the newest file of each), newest video first."""
        if not self.root.is_dir():
            return []
        newest: dict[tuple[str, AssetKind], Asset] = {}
        for entry in os.scandir(self.root):
            asset = self._parse(entry)
            if asset is None:
                continue
            kept = newest.get((asset.video_id, asset.kind))
            if kept is None or asset.modified_ns > kept.modified_ns:
                newest[(asset.video_id, asset.kind)] = asset
        return sorted(newest.values(), key=lambda a: (-a.modified_ns, a.video_id, a.kind))

    def _parse(self, entry: os.DirEntry[str]) -> Asset | None:
        if entry.name.startswith(".") or not entry.is_file(follow_symlinks=False):
            return None
        for suffix, (kind, mime) in SUFFIXES.items():
            stem = entry.name.removesuffix(suffix)
            if stem != entry.name and _VIDEO_ID.fullmatch(stem) and "." not in stem:
                stat = entry.stat(follow_symlinks=False)
                return Asset(stem, kind, Path(entry.path), stat.st_size, mime, stat.st_mtime_ns)
        return None

    def write_metadata(self, video: Video) -> Path:
        """Record the video as last seen, and which of its assets are on disk (atomic write)."""
        path = self._confined(self.relative_name(video.id, "metadata"))
        files = {
            kind: asset.path.name
            for kind in ("video", "thumbnail", "spritesheet")
            if (asset := self.find(video.id, kind)) is not None
        }
        document = {"video": video.model_dump(mode="json"), "files": files}
        self.root.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")  # concurrent downloads of one video
        temp.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        os.replace(temp, path)
        return path

    def delete(self, video_id: str) -> list[Path]:
        """Remove every local asset of a video; returns what was removed."""
        removed: list[Path] = []
        for kind in ASSET_KINDS:
            for asset in self._files(video_id, kind):
                asset.path.unlink()
                removed.append(asset.path)
        return removed

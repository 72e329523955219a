"""The local library: what has been downloaded into the output directory.

The output directory is the single source of truth, so resources survive a restart: whatever
is there is what ``resources/list`` shows. Layout (flat, so a person browsing the folder sees
the videos directly)::

    <output_dir>/<video_id>.mp4                 variant "video"
    <output_dir>/<video_id>.thumbnail.webp      variant "thumbnail"
    <output_dir>/<video_id>.spritesheet.jpg     variant "spritesheet"
    <output_dir>/<video_id>.json                metadata: the video as last seen, and its files

Partial downloads live under dot-prefixed ``.part`` names and are never listed.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .._errors import PathNotAllowedError
from .._models import Video, VideoVariant

__all__ = ["ASSET_KINDS", "Asset", "AssetKind", "LocalLibrary", "check_video_id"]

AssetKind = Literal["video", "thumbnail", "spritesheet", "metadata"]

# kind -> (file suffix, MIME type)
ASSET_KINDS: dict[AssetKind, tuple[str, str]] = {
    "video": (".mp4", "video/mp4"),
    "thumbnail": (".thumbnail.webp", "image/webp"),
    "spritesheet": (".spritesheet.jpg", "image/jpeg"),
    "metadata": (".json", "application/json"),
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


@dataclass(frozen=True)
class Asset:
    video_id: str
    kind: AssetKind
    path: Path
    size: int

    @property
    def mime_type(self) -> str:
        return ASSET_KINDS[self.kind][1]

    @property
    def uri(self) -> str:
        return asset_uri(self.video_id, self.kind)


class LocalLibrary:
    """Paths, listing and metadata of downloaded assets, all confined to ``output_dir``."""

    def __init__(self, output_dir: Path) -> None:
        self.root = output_dir

    def relative_name(self, video_id: str, kind: AssetKind) -> str:
        return check_video_id(video_id) + ASSET_KINDS[kind][0]

    def path_for(self, video_id: str, kind: AssetKind) -> Path:
        """Where an asset lives; refuses a path that a symlink would take out of the output directory."""
        path = self.root / self.relative_name(video_id, kind)
        resolved = path.resolve()
        if not resolved.is_relative_to(self.root.resolve()):
            raise PathNotAllowedError(
                f"{path.name} resolves outside the output directory.",
                hint="Remove the symlink from the output directory.",
            )
        return resolved

    def find(self, video_id: str, kind: AssetKind) -> Asset | None:
        path = self.path_for(video_id, kind)
        if not path.is_file():
            return None
        return Asset(video_id, kind, path, path.stat().st_size)

    def assets(self) -> list[Asset]:
        """Every complete asset in the output directory, newest video first."""
        if not self.root.is_dir():
            return []
        found: list[Asset] = []
        for entry in os.scandir(self.root):
            asset = self._parse(entry)
            if asset is not None:
                found.append(asset)
        found.sort(key=lambda a: (-a.path.stat().st_mtime_ns, a.video_id, a.kind))
        return found

    def _parse(self, entry: os.DirEntry[str]) -> Asset | None:
        if entry.name.startswith(".") or not entry.is_file(follow_symlinks=False):
            return None
        for kind, (suffix, _mime) in ASSET_KINDS.items():
            stem = entry.name.removesuffix(suffix)
            if stem != entry.name and _VIDEO_ID.fullmatch(stem) and "." not in stem:
                return Asset(stem, kind, Path(entry.path), entry.stat(follow_symlinks=False).st_size)
        return None

    def write_metadata(self, video: Video, variant: VideoVariant | None = None) -> Path:
        """Record the video as last seen, and which of its assets are on disk (atomic write)."""
        path = self.path_for(video.id, "metadata")
        files = {
            kind: self.relative_name(video.id, kind)
            for kind in ("video", "thumbnail", "spritesheet")
            if kind == variant or self.path_for(video.id, kind).is_file()
        }
        document = {"video": video.model_dump(mode="json"), "files": files}
        self.root.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.part")
        temp.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        os.replace(temp, path)
        return path

    def delete(self, video_id: str) -> list[Path]:
        """Remove every local asset of a video; returns what was removed."""
        removed: list[Path] = []
        for kind in ASSET_KINDS:
            path = self.path_for(video_id, kind)
            if path.is_file():
                path.unlink()
                removed.append(path)
        return removed

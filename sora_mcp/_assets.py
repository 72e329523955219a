"""What a video is made of, in one table: each asset kind's file suffix, content type and media check.

Used by the client (what a download should be, what to name it), the local library (what a file
in the output folder is), the MCP server (resource templates) and the emulator (what it serves).

Ids are opaque handles minted by servers: OpenAI's are ``video_<48 hex>``, vLLM-Omni's
``video-<n>``, LiteLLM's 266 characters of base64 (``+``, ``/``, ``=``). A short, filename-safe id
names its files as it is; any other is named by a stable digest (``id-<32 hex>``), and the
metadata file beside it keeps the real id.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Literal, get_args

from ._errors import InputError

__all__ = [
    "ASSETS",
    "IMAGE_TYPES",
    "MAX_ID_LENGTH",
    "MEDIA_SUFFIXES",
    "VARIANTS",
    "AssetKind",
    "AssetSpec",
    "VideoVariant",
    "check_id",
    "local_stem",
    "sniff_media",
]

AssetKind = Literal["video", "thumbnail", "spritesheet", "metadata"]
VideoVariant = Literal["video", "thumbnail", "spritesheet"]
VARIANTS: tuple[VideoVariant, ...] = get_args(VideoVariant)

# Image content types a server may send for the thumbnail or spritesheet, and their file suffixes.
IMAGE_TYPES: dict[str, str] = {"image/webp": ".webp", "image/jpeg": ".jpg", "image/png": ".png"}
# Every media type an asset file can hold, and its suffix.
MEDIA_SUFFIXES: dict[str, str] = {"video/mp4": ".mp4", **IMAGE_TYPES}


@dataclass(frozen=True)
class AssetSpec:
    kind: AssetKind
    content_type: str  # what the API usually sends, and what the resource template declares
    suffix: str  # default file suffix, after the id's stem
    description: str

    def suffix_for(self, content_type: str) -> str:
        """The file suffix for what was really served (a strict-spec server sends a WebP spritesheet)."""
        if self.kind in ("thumbnail", "spritesheet") and content_type in IMAGE_TYPES:
            return f".{self.kind}{IMAGE_TYPES[content_type]}"
        return self.suffix

    def suffixes(self) -> tuple[str, ...]:
        """Every suffix a file of this kind may have, the default first."""
        others = {self.suffix_for(content_type) for content_type in IMAGE_TYPES} - {self.suffix}
        return (self.suffix, *sorted(others))

    def accepts(self, content_type: str) -> bool:
        """Whether a served content type is this kind of media (images: any image type)."""
        if self.kind == "video":
            return content_type == "video/mp4"
        if self.kind == "metadata":
            return content_type == "application/json"
        return content_type in IMAGE_TYPES


ASSETS: dict[AssetKind, AssetSpec] = {
    spec.kind: spec
    for spec in (
        AssetSpec("video", "video/mp4", ".mp4", "The downloaded MP4 of a video."),
        AssetSpec("thumbnail", "image/webp", ".thumbnail.webp", "The downloaded thumbnail (an image) of a video."),
        AssetSpec(
            "spritesheet", "image/jpeg", ".spritesheet.jpg", "The downloaded spritesheet (a grid of frames) of a video."
        ),
        AssetSpec(
            "metadata", "application/json", ".json", "A downloaded video's metadata: its last known status and files."
        ),
    )
}


def sniff_media(head: bytes) -> str | None:
    """The content type the first bytes of a file prove (MP4, WebP, JPEG, PNG), or None."""
    if head[4:8] == b"ftyp":
        return "video/mp4"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    return None


# Ids are opaque, but they travel in URLs, file names and messages: printable text, bounded.
MAX_ID_LENGTH = 2048
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_READABLE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,95}")
_DIGEST = re.compile(r"id-[0-9a-f]{32}")


def check_id(value: str, *, what: str = "video id") -> str:
    """Accept any id a server could have minted: 1 to 2048 printable characters, no spaces at the ends."""
    if not value or len(value) > MAX_ID_LENGTH or _UNPRINTABLE.search(value) or value != value.strip():
        shown = _UNPRINTABLE.sub("?", value[:80]) + ("…" if len(value) > 80 else "")
        raise InputError(
            f"{shown!r} is not a {what}: ids are 1 to {MAX_ID_LENGTH} printable characters.",
            hint="Pass the id exactly as generate_video, list_videos or get_video_status returned it.",
        )
    return value


def local_stem(video_id: str) -> str:
    """The stem of a video's local file names: the id itself when it is short and filename-safe,
    else ``id-`` and a digest of it (stable, so the same id always finds the same files)."""
    if _READABLE.fullmatch(video_id) and not _DIGEST.fullmatch(video_id):
        return video_id
    return "id-" + hashlib.sha256(video_id.encode()).hexdigest()[:32]


def is_digest_stem(stem: str) -> bool:
    return _DIGEST.fullmatch(stem) is not None


def is_readable_stem(stem: str) -> bool:
    return _READABLE.fullmatch(stem) is not None and not is_digest_stem(stem)

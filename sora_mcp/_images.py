"""Image references (the first frame of a video): local files, bytes, URLs and file ids.

The API refuses an image whose size differs from the video's ("Inpaint image must match the
requested width and height"), so local images are checked before anything is sent and can be
fitted (crop or pad). http(s) URLs are never fetched here: the server fetches them, so we cannot
be made to reach into a private network (no SSRF).

Images are untrusted input. The real format is sniffed from the first bytes (never the file name),
the pixel count is checked from the header *before* anything is decoded (a 30-byte PNG can claim
50000x50000 pixels), and the whole image is decoded once so truncated files are refused here and
not by the server after a paid request.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ._catalog import parse_size
from ._errors import ImageReferenceError
from ._files import resolve_input
from ._models import FitMode

if TYPE_CHECKING:
    from PIL import Image, ImageFile

__all__ = ["MAX_DATA_URL_CHARS", "MAX_FIT_PIXELS", "MAX_IMAGE_BYTES", "MAX_IMAGE_PIXELS", "ImageReference"]

MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000
# A frame to crop or pad to is allocated whole: refuse targets beyond 4K UHD before any work (no video
# model makes larger frames; a 99999x99999 target would take tens of GB).
MAX_FIT_PIXELS = 3840 * 2160
# One limit for a data URL, everywhere: the spec's image_url limit, the tool's schema, the HTTP body cap.
MAX_DATA_URL_CHARS = 20_971_520
FIT_HINT = (
    "pass fit='crop' (fill the frame, cutting the edges) or fit='pad' (letterbox on black), or resize it yourself."
)

# format -> (MIME type, file suffix). Only what the API accepts.
_FORMATS: dict[str, tuple[str, str]] = {
    "PNG": ("image/png", ".png"),
    "JPEG": ("image/jpeg", ".jpg"),
    "WEBP": ("image/webp", ".webp"),
}


@cache
def _parsers() -> dict[str, type[ImageFile.ImageFile]]:
    """Pillow's parser of each accepted format; Pillow is imported only when an image is decoded."""
    from PIL import JpegImagePlugin, PngImagePlugin, WebPImagePlugin

    return {
        "PNG": PngImagePlugin.PngImageFile,
        "JPEG": JpegImagePlugin.JpegImageFile,
        "WEBP": WebPImagePlugin.WebPImageFile,
    }


# Formats people try that the API refuses, named so the error can say what the file really is.
_OTHER_MAGIC = {b"GIF87a": "GIF", b"GIF89a": "GIF", b"BM": "BMP", b"II*\x00": "TIFF", b"MM\x00*": "TIFF"}
_BAD_IMAGE_HINT = "Export the image again as PNG, JPEG or WebP."
_SMALLER_HINT = "Use a smaller image: the first frame only needs the video's size (e.g. 720x1280)."


@dataclass(frozen=True)
class ImageReference:
    """One way of giving the server a first frame: uploaded bytes, a URL or a file id."""

    kind: Literal["file", "url", "file_id"]
    data: bytes | None = None
    filename: str = "reference.png"
    content_type: str = "image/png"
    url: str | None = None
    file_id: str | None = None
    pixels: tuple[int, int] | None = None  # (width, height), known once the bytes were decoded

    @classmethod
    def from_path(cls, path: str | Path, *, roots: Sequence[Path]) -> ImageReference:
        """A local PNG/JPEG/WebP inside one of ``roots`` (symlinks resolved first)."""
        real = resolve_input(path, roots)
        if real.stat().st_size > MAX_IMAGE_BYTES:
            raise ImageReferenceError(f"{path} is larger than {MAX_IMAGE_BYTES // 2**20} MiB.", hint=_SMALLER_HINT)
        return cls.from_bytes(real.read_bytes(), filename=real.name)

    @classmethod
    def from_bytes(cls, data: bytes, *, filename: str | None = None) -> ImageReference:
        """Image bytes, checked completely; ``filename`` defaults to ``reference.<real suffix>``."""
        fmt = sniff(data)
        content_type, suffix = _FORMATS[fmt]
        with decode(data) as image:
            pixels = image.size
        name = filename or f"reference{suffix}"
        return cls(kind="file", data=data, filename=name, content_type=content_type, pixels=pixels)

    @classmethod
    def from_url(cls, url: str) -> ImageReference:
        """An http(s) URL (passed through unfetched) or a data URL (decoded and checked like a file)."""
        if url.startswith("data:"):
            return cls.from_bytes(_decode_data_url(url))
        if not url.startswith(("http://", "https://")):
            raise ImageReferenceError(f"{url[:60]!r} is not an http(s) or data URL.", hint="Pass a full URL.")
        return cls(kind="url", url=url)

    @classmethod
    def from_file_id(cls, file_id: str) -> ImageReference:
        """An image already uploaded to the server's Files API."""
        if not file_id.strip():
            raise ImageReferenceError("The file id is empty.", hint="Pass the id the Files API returned.")
        return cls(kind="file_id", file_id=file_id)

    @classmethod
    def parse(cls, value: ImageReference | str | Path, *, roots: Sequence[Path]) -> ImageReference:
        """A str is a URL when it starts with http://, https:// or data:, else a local path."""
        if isinstance(value, ImageReference):
            return value
        if isinstance(value, str) and value.startswith(("http://", "https://", "data:")):
            return cls.from_url(value)
        return cls.from_path(value, roots=roots)

    def fitted(self, size: str, fit: FitMode) -> ImageReference:
        """This reference checked against the video ``size`` and, when asked, cropped or padded to it.

        Only uploaded bytes can be checked; URLs and file ids are the server's to check.
        """
        if self.kind != "file" or self.data is None:
            return self
        wanted = parse_size(size)
        if fit != "none" and wanted[0] * wanted[1] > MAX_FIT_PIXELS:
            raise ImageReferenceError(
                f"{size} is larger than the {MAX_FIT_PIXELS:,} pixels (3840x2160) sora-mcp crops or pads to.",
                hint="Pick a video size the model makes (e.g. 1280x720), or fit the image yourself.",
            )
        if self.pixels is None:  # built by hand rather than by from_bytes
            with decode(self.data) as image:
                return replace(self, pixels=image.size).fitted(size, fit)
        if self.pixels == wanted:
            return self
        if fit == "none":
            width, height = self.pixels
            raise ImageReferenceError(
                f"The image is {width}x{height} but the video is {size}; the API requires the "
                "first frame to match the video size exactly.",
                hint=f"To use it anyway, {FIT_HINT}",
            )
        with decode(self.data) as image:
            data = _fit(image, wanted, fit)
        stem = self.filename.rsplit(".", 1)[0] or "reference"
        return replace(self, data=data, filename=f"{stem}.png", content_type="image/png", pixels=wanted)

    def as_data_url(self) -> str:
        """The uploaded bytes as a base64 data URL, for JSON bodies that cannot carry a file."""
        if self.data is None:
            raise ImageReferenceError(f"A {self.kind} reference has no bytes.", hint="Use it as it is.")
        return f"data:{self.content_type};base64,{base64.b64encode(self.data).decode()}"


def sniff(data: bytes) -> str:
    """The real format of ``data`` from its first bytes: PNG, JPEG or WEBP; ImageReferenceError otherwise."""
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageReferenceError(f"The image is larger than {MAX_IMAGE_BYTES // 2**20} MiB.", hint=_SMALLER_HINT)
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    other = next((name for magic, name in _OTHER_MAGIC.items() if data.startswith(magic)), None)
    if other is not None:
        raise ImageReferenceError(f"The image is a {other}, which the API does not accept.", hint=_BAD_IMAGE_HINT)
    raise ImageReferenceError("The file is not a PNG, JPEG or WebP image.", hint=_BAD_IMAGE_HINT)


def decode(data: bytes) -> Image.Image:
    """The fully decoded image; refuses absurd pixel counts from the header, before decoding.

    The format's parser is called directly rather than through ``Image.open`` so that no global
    Pillow state (``MAX_IMAGE_PIXELS``, warning filters) has to change: this runs in worker threads.
    """
    parser = _parsers()[sniff(data)]
    try:
        image = parser(io.BytesIO(data))
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageReferenceError("The image header cannot be read.", hint=_BAD_IMAGE_HINT) from exc
    if image.width * image.height > MAX_IMAGE_PIXELS:
        image.close()
        raise ImageReferenceError(
            f"The image claims {image.width}x{image.height} pixels, more than the "
            f"{MAX_IMAGE_PIXELS // 1_000_000} megapixels sora-mcp decodes.",
            hint=_SMALLER_HINT,
        )
    try:
        image.load()
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        image.close()
        raise ImageReferenceError("The image is truncated or corrupt.", hint=_BAD_IMAGE_HINT) from exc
    return image


def _fit(image: Image.Image, size: tuple[int, int], fit: FitMode) -> bytes:
    """Crop (scale to cover, cut the centre) or pad (scale to fit, letterbox on black); PNG bytes."""
    from PIL import Image, ImageOps

    upright = ImageOps.exif_transpose(image).convert("RGB")
    if fit == "crop":
        result = ImageOps.fit(upright, size, Image.Resampling.LANCZOS)
    else:
        result = ImageOps.pad(upright, size, Image.Resampling.LANCZOS, color=(0, 0, 0))
    buffer = io.BytesIO()
    result.save(buffer, format="PNG")
    return buffer.getvalue()


def _decode_data_url(url: str) -> bytes:
    header, _, payload = url.partition(",")
    if ";base64" not in header:
        raise ImageReferenceError("Data URLs must be base64-encoded.", hint="Use data:image/png;base64,....")
    if len(url) > MAX_DATA_URL_CHARS:
        raise ImageReferenceError(
            f"The data URL has {len(url):,} characters, more than the {MAX_DATA_URL_CHARS:,} accepted.",
            hint="Pass the image as a local path inside the allowed folders, or an https URL, instead.",
        )
    if len(payload) > MAX_IMAGE_BYTES * 4 // 3 + 4:
        raise ImageReferenceError(f"The image is larger than {MAX_IMAGE_BYTES // 2**20} MiB.", hint=_SMALLER_HINT)
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImageReferenceError("The data URL holds invalid base64.", hint="Encode the image again.") from exc

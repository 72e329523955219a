"""Image references (the first frame of a video): local files, bytes, URLs and file ids.

The API refuses an image whose size differs from the video's ("Inpaint image must match the
requested width and height"), so local images are checked before anything is sent and can be
fitted (crop or pad). http(s) URLs are never fetched here: the server fetches them.
"""

from __future__ import annotations

import base64
import binascii
import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from PIL import Image, ImageOps, UnidentifiedImageError

from ._catalog import parse_size
from ._errors import ImageReferenceError
from ._files import resolve_input
from ._models import FitMode

__all__ = ["MAX_IMAGE_BYTES", "MAX_IMAGE_PIXELS", "ImageReference"]

MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000
FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
FIT_HINT = "pass fit='crop' (fill, cutting the edges) or fit='pad' (letterbox) to fit it, or resize it yourself."


@dataclass(frozen=True)
class ImageReference:
    """One way of giving the server a first frame."""

    kind: Literal["file", "url", "file_id"]
    data: bytes | None = None
    filename: str = "reference.png"
    content_type: str = "image/png"
    url: str | None = None
    file_id: str | None = None

    @classmethod
    def from_path(cls, path: str | Path, *, roots: Sequence[Path]) -> ImageReference:
        real = resolve_input(path, roots)
        if real.stat().st_size > MAX_IMAGE_BYTES:
            raise ImageReferenceError(
                f"{path} is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MiB.", hint="Use a smaller image."
            )
        return cls.from_bytes(real.read_bytes(), filename=real.name)

    @classmethod
    def from_bytes(cls, data: bytes, *, filename: str = "reference.png") -> ImageReference:
        fmt, _size = _inspect(data)
        return cls(kind="file", data=data, filename=filename, content_type=FORMATS[fmt])

    @classmethod
    def from_url(cls, url: str) -> ImageReference:
        """An http(s) URL (passed through) or a data URL (decoded and checked like a file)."""
        if url.startswith("data:"):
            return cls.from_bytes(_decode_data_url(url), filename="reference")
        if not url.startswith(("http://", "https://")):
            raise ImageReferenceError(f"{url[:60]!r} is not an http(s) or data URL.", hint="Pass a full URL.")
        return cls(kind="url", url=url)

    @classmethod
    def from_file_id(cls, file_id: str) -> ImageReference:
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
        """The same reference, checked against ``size`` and fitted when asked (files only)."""
        if self.kind != "file" or self.data is None:
            return self
        width, height = parse_size(size)
        _fmt, (actual_w, actual_h) = _inspect(self.data)
        if (actual_w, actual_h) == (width, height):
            return self
        if fit == "none":
            raise ImageReferenceError(
                f"The image is {actual_w}x{actual_h} but the video is {size}; the API requires them to match.",
                hint=f"To use it anyway, {FIT_HINT}",
            )
        with Image.open(io.BytesIO(self.data)) as opened:
            source = ImageOps.exif_transpose(opened).convert("RGB")
            if fit == "crop":
                result = ImageOps.fit(source, (width, height), Image.Resampling.LANCZOS)
            else:
                result = ImageOps.pad(source, (width, height), Image.Resampling.LANCZOS, color=(0, 0, 0))
        buffer = io.BytesIO()
        result.save(buffer, format="PNG")
        stem = self.filename.rsplit(".", 1)[0]
        return replace(self, data=buffer.getvalue(), filename=f"{stem}.png", content_type="image/png")

    def as_data_url(self) -> str:
        assert self.data is not None
        return f"data:{self.content_type};base64,{base64.b64encode(self.data).decode()}"


def _inspect(data: bytes) -> tuple[str, tuple[int, int]]:
    """(format, size) of a PNG/JPEG/WebP that decodes completely; ImageReferenceError otherwise."""
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageReferenceError("The image is larger than 20 MiB.", hint="Use a smaller image.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                fmt, size = image.format or "?", image.size
                if size[0] * size[1] > MAX_IMAGE_PIXELS:
                    raise ImageReferenceError(
                        f"The image claims {size[0]}x{size[1]} pixels, more than any video needs.",
                        hint="Use an image the size of the video (e.g. 720x1280).",
                    )
                if fmt not in FORMATS:
                    raise ImageReferenceError(
                        f"The image is {fmt}, which the API does not accept.", hint="Use PNG, JPEG or WebP."
                    )
                image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageReferenceError(
            "The image has too many pixels to decode safely.", hint="Use an image the size of the video."
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageReferenceError(
            "The file is not a readable PNG, JPEG or WebP image (unknown format or truncated).",
            hint="Export the image again as PNG or JPEG.",
        ) from exc
    return fmt, size


def _decode_data_url(url: str) -> bytes:
    header, _, payload = url.partition(",")
    if ";base64" not in header:
        raise ImageReferenceError("Data URLs must be base64-encoded.", hint="Use data:image/png;base64,....")
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImageReferenceError("The data URL holds invalid base64.", hint="Encode the image again.") from exc

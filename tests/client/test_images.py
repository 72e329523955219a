"""Reference images are untrusted input: only real PNG/JPEG/WebP of the video's size go out, bad
ones are refused before any request with a message that says what to do, and fitting (crop or
pad) produces exactly the requested size, which the emulator (strict about it) accepts."""

from __future__ import annotations

import base64
import io
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from sora_mcp import FitMode, ImageReference, ImageReferenceError, PathNotAllowedError, SoraClient
from sora_mcp.emulator import Emulator

from .support import SMALL, Wiretap, image_bytes

pytestmark = pytest.mark.anyio


def png_header(width: int, height: int) -> bytes:
    """A 65-byte PNG whose header claims ``width`` x ``height`` pixels (a decompression bomb's shape)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def data_url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize(("fmt", "mime"), [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")])
async def test_png_jpeg_and_webp_are_accepted(
    client: SoraClient, images: Path, wiretap: Wiretap, fmt: str, mime: str
) -> None:
    path = images / f"frame.{fmt.lower()}"
    path.write_bytes(image_bytes((128, 96), fmt))
    video = await client.generate_video_with_image("a wall", path, **SMALL)
    assert video.status == "queued"
    assert wiretap.sent[0].form()["input_reference"][1] == mime


async def test_a_size_mismatch_is_refused_before_sending(client: SoraClient, images: Path, emulator: Emulator) -> None:
    path = images / "wide.png"
    path.write_bytes(image_bytes((800, 600)))
    with pytest.raises(ImageReferenceError) as refused:
        await client.generate_video_with_image("x", path, "sora-2", 4, "720x1280")
    message = str(refused.value)
    assert "800x600" in message and "720x1280" in message
    assert "fit='crop'" in (refused.value.hint or "") and "fit='pad'" in (refused.value.hint or "")
    assert emulator.stats.requests == []


@pytest.mark.parametrize("fit", ["crop", "pad"])
async def test_fitted_images_are_accepted_by_the_server(
    client: SoraClient, images: Path, wiretap: Wiretap, fit: FitMode
) -> None:
    path = images / "wide.jpg"
    path.write_bytes(image_bytes((400, 100), "JPEG", "navy"))
    video = await client.generate_video_with_image("a navy wall", path, fit=fit, **SMALL)
    assert video.status == "queued", "the emulator refuses any image whose size differs"
    filename, mime, payload = wiretap.sent[0].form()["input_reference"]
    assert (filename, mime) == ("wide.png", "image/png")
    assert decoded(payload).size == (128, 96)


def test_crop_fills_and_pad_letterboxes() -> None:
    wide = ImageReference.from_bytes(image_bytes((400, 100), "PNG", "white"))
    cropped = decoded(wide.fitted("128x96", "crop").data or b"").convert("RGB")
    padded = decoded(wide.fitted("128x96", "pad").data or b"").convert("RGB")
    assert cropped.size == padded.size == (128, 96)
    assert cropped.getpixel((0, 0)) == (255, 255, 255) and cropped.getpixel((64, 95)) == (255, 255, 255)
    assert padded.getpixel((64, 0)) == (0, 0, 0) and padded.getpixel((64, 95)) == (0, 0, 0), "black bars"
    assert padded.getpixel((64, 48)) == (255, 255, 255)


def test_fitting_to_an_absurd_size_is_refused_before_drawing_it() -> None:
    """The tools' schema allows five digits a side and unknown models pass unchecked: fitting to
    99999x99999 would draw a 30 GB frame. (Found by tests/server/test_hostile.py.)"""
    small = ImageReference.from_bytes(image_bytes((64, 64)))
    fits: tuple[FitMode, ...] = ("crop", "pad")
    for fit in fits:
        with pytest.raises(ImageReferenceError) as refused:
            small.fitted("99999x99999", fit)
        assert str(refused.value) == (
            "99999x99999 is larger than the 8,294,400 pixels (3840x2160) sora-mcp crops or pads to. "
            "Pick a video size the model makes (e.g. 1280x720), or fit the image yourself."
        )


def test_a_matching_image_is_sent_untouched() -> None:
    original = image_bytes((128, 96), "JPEG")
    reference = ImageReference.from_bytes(original, filename="mine.jpg")
    assert reference.fitted("128x96", "crop").data == original


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"just some text, not an image", "not a PNG, JPEG or WebP"),
        (image_bytes((128, 96), "PNG")[:200], "truncated"),
        (image_bytes((128, 96), "GIF"), "GIF"),
        (image_bytes((128, 96), "BMP"), "BMP"),
        (png_header(50000, 50000), "50000x50000"),
        (png_header(7000, 6000), "7000x6000"),
        (b"", "not a PNG"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "The image header cannot be read."),
    ],
    ids=["text", "truncated", "gif", "bmp", "bomb", "over-40-megapixels", "empty", "no-header"],
)
async def test_bad_images_are_refused_before_sending(
    client: SoraClient, images: Path, emulator: Emulator, content: bytes, expected: str
) -> None:
    path = images / "frame.png"
    path.write_bytes(content)
    with pytest.raises(ImageReferenceError) as refused:
        await client.generate_video_with_image("x", path, **SMALL)
    assert expected in str(refused.value) and refused.value.hint
    with pytest.raises(ImageReferenceError):
        await client.generate_video("x", input_reference=data_url(content), **SMALL)
    assert emulator.stats.requests == []


async def test_paths_that_are_not_readable_image_files(client: SoraClient, images: Path, emulator: Emulator) -> None:
    (images / "folder.png").mkdir()
    for path, refused in (
        (images / "missing.png", "does not exist or cannot be read."),
        (images / "folder.png", "is not a regular file."),
    ):
        with pytest.raises(PathNotAllowedError) as stopped:
            await client.generate_video_with_image("x", path, **SMALL)
        assert str(stopped.value).startswith(f"{path} {refused} Allowed folders: {images}.")
    huge = "data:image/png;base64," + "A" * (28 * 1024 * 1024)
    with pytest.raises(ImageReferenceError) as too_big:
        await client.generate_video("x", input_reference=huge, **SMALL)
    assert str(too_big.value).startswith("The data URL has 29,360,150 characters, more than the 20,971,520 accepted.")
    assert emulator.stats.requests == []


async def test_a_file_over_20_mib_is_refused_unread(client: SoraClient, images: Path) -> None:
    path = images / "huge.png"
    with path.open("wb") as handle:
        handle.truncate(21 * 1024 * 1024)  # sparse: costs no disk
    with pytest.raises(ImageReferenceError) as refused:
        await client.generate_video_with_image("x", path, **SMALL)
    assert "20 MiB" in str(refused.value)


async def test_a_data_url_is_checked_fitted_and_uploaded(client: SoraClient, wiretap: Wiretap) -> None:
    url = data_url(image_bytes((256, 192), "WEBP"), "image/png")  # the declared type is not trusted
    video = await client.generate_video("green", input_reference=url, fit="crop", **SMALL)
    assert video.status == "queued"
    filename, mime, payload = wiretap.sent[0].form()["input_reference"]
    assert (filename, mime) == ("reference.png", "image/png") and decoded(payload).size == (128, 96)


@pytest.mark.parametrize(
    "url", ["data:image/png,notbase64", "data:image/png;base64,***", "ftp://example.com/x.png", "file:///etc/passwd"]
)
async def test_unusable_urls(client: SoraClient, emulator: Emulator, url: str) -> None:
    with pytest.raises(ImageReferenceError):
        await client.generate_video("x", input_reference=ImageReference.from_url(url), **SMALL)
    assert emulator.stats.requests == []


def test_strings_that_look_like_urls_are_urls_and_others_are_paths(images: Path) -> None:
    remote = ImageReference.parse("https://example.com/a.png", roots=[images])
    assert (remote.kind, remote.url) == ("url", "https://example.com/a.png")
    (images / "a.webp").write_bytes(image_bytes((10, 10), "WEBP"))
    local = ImageReference.parse(str(images / "a.webp"), roots=[images])
    assert (local.kind, local.content_type, local.filename) == ("file", "image/webp", "a.webp")
    with pytest.raises(ImageReferenceError):
        ImageReference.from_file_id("  ")


async def test_urls_and_file_ids_are_not_size_checked(make_client: Callable[..., SoraClient]) -> None:
    """We cannot see them; the server checks them."""
    async with make_client() as client:
        by_id = ImageReference.from_file_id("file-123")
        assert (await client.generate_video("by id", input_reference=by_id, **SMALL)).status == "queued"


def test_a_reference_built_by_hand_is_measured_before_it_is_fitted() -> None:
    by_hand = ImageReference(kind="file", data=image_bytes((256, 192), "PNG"))
    fitted = by_hand.fitted("128x96", "crop")
    assert fitted.pixels == (128, 96) and decoded(fitted.data or b"").size == (128, 96)
    assert ImageReference(kind="file", data=image_bytes((128, 96))).fitted("128x96", "none").pixels == (128, 96)


def test_only_uploaded_bytes_become_a_data_url() -> None:
    uploaded = ImageReference.from_bytes(image_bytes((8, 8), "WEBP"))
    assert uploaded.as_data_url().startswith("data:image/webp;base64,UklGR")
    with pytest.raises(ImageReferenceError) as refused:
        ImageReference.from_url("https://example.com/a.png").as_data_url()
    assert str(refused.value) == "A url reference has no bytes. Use it as it is."

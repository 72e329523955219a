"""Real media for the emulator: a playable H.264/AAC MP4 showing the prompt over moving colour, a
WebP thumbnail and a JPEG spritesheet. Pure CPU work: callers run it in a worker thread.

``full`` renders at the job's size and frame rate. ``fast`` renders the same picture small, at a
few frames per second and with a silent low-rate audio track (AAC encodes silence ~15x faster than
a tone): still valid, playable files of the job's duration, for tests that never look inside them.
"""

from __future__ import annotations

import array
import colorsys
import hashlib
import io
import math
import textwrap
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import av
from PIL import Image, ImageDraw, ImageFont

__all__ = ["Media", "MediaMode", "render_media"]

MediaMode = Literal["full", "fast"]

AUDIO_RATE = 44_100
FAST_AUDIO_RATE = 8_000
FAST_LONG_SIDE = 160
FAST_FPS = 2
SPRITE_COLUMNS = 5
SPRITE_ROWS = 2
WHITE_YUV = (235, 128, 128)  # BT.601 limited range, what libx264 assumes for yuv420p


@dataclass(frozen=True)
class Media:
    video: bytes
    thumbnail: bytes
    spritesheet: bytes
    spritesheet_type: str


@dataclass(frozen=True)
class _Format:
    width: int
    height: int
    fps: int
    audio_rate: int
    audible: bool


def _format(width: int, height: int, fps: int, mode: MediaMode) -> _Format:
    if mode == "full":
        return _Format(width, height, fps, AUDIO_RATE, audible=True)
    scale = min(1.0, FAST_LONG_SIDE / max(width, height))
    # libx264 needs even dimensions for 4:2:0
    small_w, small_h = (max(2, round(side * scale / 2) * 2) for side in (width, height))
    return _Format(small_w, small_h, min(fps, FAST_FPS), FAST_AUDIO_RATE, audible=False)


def _seed(prompt: str) -> int:
    return int.from_bytes(hashlib.sha256(prompt.encode()).digest()[:4], "big")


def _yuv(rgb: tuple[float, float, float]) -> tuple[int, int, int]:
    r, g, b = rgb
    y = 16 + 65.481 * r + 128.553 * g + 24.966 * b
    u = 128 - 37.797 * r - 74.203 * g + 112.0 * b
    v = 128 + 112.0 * r - 93.786 * g - 18.214 * b
    return round(y), round(u), round(v)


class _Plane:
    """One plane of a yuv420p frame, drawn as a greyscale image as wide as the plane's padded
    rows, so its bytes are exactly what ``VideoPlane.update`` expects."""

    def __init__(self, plane: av.video.plane.VideoPlane, text_mask: Image.Image, full_width: int) -> None:
        self.size = (plane.line_size, plane.height)
        self.scale = plane.width / full_width
        self.mask = Image.new("L", self.size, 0)
        self.mask.paste(text_mask.resize((plane.width, plane.height), Image.Resampling.BILINEAR), (0, 0))

    def draw(self, background: int, white: int, disc: tuple[float, float, float, float]) -> bytes:
        image = Image.new("L", self.size, background)
        ImageDraw.Draw(image).ellipse(tuple(c * self.scale for c in disc), fill=white)
        image.paste(white, (0, 0, *self.size), self.mask)
        return image.tobytes()


class _Painter:
    """Draws frame ``i`` of ``n``: a hue that drifts from a prompt-derived start, a moving disc,
    and the prompt text, rendered once as a mask. Video frames are drawn straight into YUV planes:
    going through RGB and swscale cost about half of the video track."""

    def __init__(self, prompt: str, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.hue0 = (_seed(prompt) % 360) / 360
        self.text_mask = self._text_mask(prompt)
        self.planes = [_Plane(p, self.text_mask, width) for p in av.VideoFrame(width, height, "yuv420p").planes]

    def _text_mask(self, prompt: str) -> Image.Image:
        mask = Image.new("L", (self.width, self.height), 0)
        size = max(10, min(self.width, self.height) // 16)
        font = ImageFont.load_default(size=size)
        chars = max(8, int(self.width * 0.8 / (size * 0.55)))
        lines = textwrap.wrap(prompt, chars)[: max(1, self.height // (size * 2))]
        draw = ImageDraw.Draw(mask)
        y = (self.height - len(lines) * size * 1.25) / 2
        for line in lines:
            draw.text((self.width * 0.1, y), line, font=font, fill=255)
            y += size * 1.25
        return mask

    def _colour(self, t: float) -> tuple[float, float, float]:
        return colorsys.hsv_to_rgb((self.hue0 + t) % 1.0, 0.55, 0.75)

    def _disc(self, t: float) -> tuple[float, float, float, float]:
        radius = max(4, min(self.width, self.height) // 10)
        cx = self.width / 2 + (self.width / 2 - radius) * math.cos(2 * math.pi * t)
        cy = self.height / 4 + (self.height / 8) * math.sin(4 * math.pi * t)
        return cx - radius, cy - radius, cx + radius, cy + radius

    def frame(self, index: int, total: int) -> Image.Image:
        """An RGB still, for the thumbnail and the spritesheet."""
        t = index / max(1, total)
        background = tuple(int(c * 255) for c in self._colour(t))
        image = Image.new("RGB", (self.width, self.height), background)
        ImageDraw.Draw(image).ellipse(self._disc(t), fill=(255, 255, 255))
        image.paste((255, 255, 255), (0, 0, self.width, self.height), self.text_mask)
        return image

    def video_frame(self, index: int, total: int) -> av.VideoFrame:
        t = index / max(1, total)
        frame = av.VideoFrame(self.width, self.height, "yuv420p")
        disc = self._disc(t)
        for plane, painter, background, white in zip(
            frame.planes, self.planes, _yuv(self._colour(t)), WHITE_YUV, strict=True
        ):
            plane.update(painter.draw(background, white, disc))
        return frame


def _tone(prompt: str, rate: int) -> bytes:
    """One second of a soft sine tone; an integer frequency makes it loop without a click."""
    frequency = 220 + _seed(prompt) % 440
    samples = array.array("h", (int(2500 * math.sin(2 * math.pi * frequency * i / rate)) for i in range(rate)))
    return samples.tobytes()


def _encode_video(painter: _Painter, seconds: float, fmt: _Format, prompt: str) -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        video = container.add_stream("libx264", rate=fmt.fps)
        video.width, video.height = painter.width, painter.height
        video.pix_fmt = "yuv420p"
        video.options = {"preset": "ultrafast"}
        audio = container.add_stream("aac", rate=fmt.audio_rate)
        audio.layout = "mono"
        _mux_video(container, video, painter, max(1, round(seconds * fmt.fps)), fmt.fps)
        second = _tone(prompt, fmt.audio_rate) if fmt.audible else bytes(2 * fmt.audio_rate)
        _mux_audio(container, audio, second, round(seconds * fmt.audio_rate), fmt.audio_rate)
    return buffer.getvalue()


def _mux_video(
    container: av.container.OutputContainer, stream: av.VideoStream, painter: _Painter, frames: int, fps: int
) -> None:
    for index in range(frames):
        frame = painter.video_frame(index, frames)
        frame.pts = index
        frame.time_base = Fraction(1, fps)
        container.mux(stream.encode(frame))
    container.mux(stream.encode())


def _mux_audio(
    container: av.container.OutputContainer, stream: av.AudioStream, second: bytes, total: int, rate: int
) -> None:
    """``total`` samples of ``second`` (one second of s16 mono) played in a loop."""
    looped = second * 2  # a chunk may run past the end of the second: read on into its copy
    chunk = 1024
    for start in range(0, total, chunk):
        count = min(chunk, total - start)
        offset = (start % rate) * 2
        frame = av.AudioFrame(format="s16", layout="mono", samples=count)
        frame.planes[0].update(looped[offset : offset + count * 2])
        frame.sample_rate = rate
        frame.pts = start
        container.mux(stream.encode(frame))
    container.mux(stream.encode())


def _encode_image(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, quality=80)
    return buffer.getvalue()


def _spritesheet(painter: _Painter, fmt: str) -> bytes:
    count = SPRITE_COLUMNS * SPRITE_ROWS
    scale = max(1, max(painter.width, painter.height) // 256)
    tile_w, tile_h = max(1, painter.width // scale), max(1, painter.height // scale)
    sheet = Image.new("RGB", (tile_w * SPRITE_COLUMNS, tile_h * SPRITE_ROWS))
    for index in range(count):
        tile = painter.frame(index, count).resize((tile_w, tile_h))
        sheet.paste(tile, ((index % SPRITE_COLUMNS) * tile_w, (index // SPRITE_COLUMNS) * tile_h))
    return _encode_image(sheet, fmt)


def render_media(
    prompt: str,
    width: int,
    height: int,
    seconds: float,
    *,
    fps: int = 24,
    webp_sheet: bool = False,
    mode: MediaMode = "full",
) -> Media:
    """Render every asset of a job. CPU-bound: call it from a worker thread."""
    fmt = _format(width, height, fps, mode)
    painter = _Painter(prompt, fmt.width, fmt.height)
    return Media(
        video=_encode_video(painter, seconds, fmt, prompt),
        thumbnail=_encode_image(painter.frame(1, 4), "WEBP"),
        spritesheet=_spritesheet(painter, "WEBP" if webp_sheet else "JPEG"),
        spritesheet_type="image/webp" if webp_sheet else "image/jpeg",
    )

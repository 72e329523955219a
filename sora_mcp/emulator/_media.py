"""Real media for the emulator: a playable H.264/AAC MP4 showing the prompt over moving colour, a
WebP thumbnail and a JPEG spritesheet. Pure CPU work: callers run it in a worker thread."""

from __future__ import annotations

import array
import colorsys
import hashlib
import io
import math
import textwrap
from dataclasses import dataclass
from fractions import Fraction

import av
from PIL import Image, ImageDraw, ImageFont

__all__ = ["Media", "render_media"]

AUDIO_RATE = 44_100
SPRITE_COLUMNS = 5
SPRITE_ROWS = 2


@dataclass(frozen=True)
class Media:
    video: bytes
    thumbnail: bytes
    spritesheet: bytes
    spritesheet_type: str


def _seed(prompt: str) -> int:
    return int.from_bytes(hashlib.sha256(prompt.encode()).digest()[:4], "big")


class _Painter:
    """Draws frame ``i`` of ``n``: a hue that drifts from a prompt-derived start, a moving disc,
    and the prompt text, rendered once as a mask."""

    def __init__(self, prompt: str, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.hue0 = (_seed(prompt) % 360) / 360
        self.text_mask = self._text_mask(prompt)
        self.white = Image.new("RGB", (width, height), (255, 255, 255))

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

    def frame(self, index: int, total: int) -> Image.Image:
        t = index / max(1, total)
        r, g, b = colorsys.hsv_to_rgb((self.hue0 + t) % 1.0, 0.55, 0.75)
        image = Image.new("RGB", (self.width, self.height), (int(r * 255), int(g * 255), int(b * 255)))
        draw = ImageDraw.Draw(image)
        radius = max(4, min(self.width, self.height) // 10)
        cx = self.width / 2 + (self.width / 2 - radius) * math.cos(2 * math.pi * t)
        cy = self.height / 4 + (self.height / 8) * math.sin(4 * math.pi * t)
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=(255, 255, 255))
        image.paste(self.white, (0, 0), self.text_mask)
        return image


def _tone(prompt: str) -> bytes:
    """One second of a soft sine tone; an integer frequency makes it loop without a click."""
    frequency = 220 + _seed(prompt) % 440
    samples = array.array(
        "h", (int(2500 * math.sin(2 * math.pi * frequency * i / AUDIO_RATE)) for i in range(AUDIO_RATE))
    )
    return samples.tobytes()


def _encode_video(painter: _Painter, seconds: float, fps: int, prompt: str) -> bytes:
    buffer = io.BytesIO()
    frames = max(1, round(seconds * fps))
    with av.open(buffer, "w", format="mp4") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height = painter.width, painter.height
        video.pix_fmt = "yuv420p"
        video.options = {"preset": "ultrafast"}
        audio = container.add_stream("aac", rate=AUDIO_RATE)
        audio.layout = "mono"
        for index in range(frames):
            frame = av.VideoFrame.from_image(painter.frame(index, frames))  # type: ignore[no-untyped-call]
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            container.mux(video.encode(frame))
        container.mux(video.encode())
        looped = _tone(prompt) * 2  # a chunk may run past the end of the second: read on into its copy
        total = round(seconds * AUDIO_RATE)
        chunk = 1024
        for start in range(0, total, chunk):
            count = min(chunk, total - start)
            offset = (start % AUDIO_RATE) * 2
            data = looped[offset : offset + count * 2]
            frame = av.AudioFrame(format="s16", layout="mono", samples=count)
            frame.planes[0].update(data)
            frame.sample_rate = AUDIO_RATE
            frame.pts = start
            container.mux(audio.encode(frame))
        container.mux(audio.encode())
    return buffer.getvalue()


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
    prompt: str, width: int, height: int, seconds: float, *, fps: int = 24, webp_sheet: bool = False
) -> Media:
    """Render every asset of a job. CPU-bound: call it from a worker thread."""
    painter = _Painter(prompt, width, height)
    return Media(
        video=_encode_video(painter, seconds, fps, prompt),
        thumbnail=_encode_image(painter.frame(1, 4), "WEBP"),
        spritesheet=_spritesheet(painter, "WEBP" if webp_sheet else "JPEG"),
        spritesheet_type="image/webp" if webp_sheet else "image/jpeg",
    )

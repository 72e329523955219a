"""Every operation of SoraClient against the emulator: in-process (ASGITransport) and over real
loopback HTTP (uvicorn)."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import anyio
import av
import pytest
from PIL import Image

from sora_mcp import (
    BadRequestError,
    FitMode,
    ImageReference,
    InputError,
    NotFoundError,
    Settings,
    SoraClient,
    Video,
)
from sora_mcp.emulator import Emulator, EmulatorConfig, FakeClock

from .support import SMALL

pytestmark = pytest.mark.anyio

# jobs stay in_progress until the test advances the clock
HELD = EmulatorConfig(render_seconds=1.0, queue_seconds=0.0, poll_after_ms=10, media="fast")


async def completed(client: SoraClient, **kwargs: Any) -> Video:
    video = await client.generate_video("a small test clip", **{**SMALL, **kwargs})
    with anyio.fail_after(20):
        return await client.wait_for_completion(video.id, timeout=20)


def image_format(path: Path) -> str | None:
    with Image.open(path) as image:
        return image.format


def clip(path: Path) -> tuple[int, int, float, set[str]]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        kinds: set[str] = {s.type for s in container.streams}
        return stream.codec_context.width, stream.codec_context.height, (container.duration or 0) / 1e6, kinds


@pytest.mark.full_media
async def test_lifecycle_and_every_download_variant(client: SoraClient, settings: Settings) -> None:
    created = await client.generate_video("a calico cat at a piano", "sora-2", 4, "720x1280")
    assert (created.status, created.progress, created.model, created.seconds) == ("queued", 0, "sora-2", "4")
    assert created.id.startswith("video_") and len(created.id) == len("video_") + 48
    seen: list[Video] = []
    with anyio.fail_after(20):
        done = await client.wait_for_completion(created.id, timeout=20, on_progress=seen.append)
    assert done.status == "completed" and done.progress == 100
    assert done.completed_at is not None and done.expires_at == done.completed_at + 3600
    progress = [v.progress for v in seen]
    assert progress == sorted(p for p in progress if p is not None), "every poll has a progress, never falling"

    video = await client.download_video(created.id)
    assert video.path == settings.output_dir.resolve() / f"{created.id}.mp4"
    assert (video.content_type, video.bytes) == ("video/mp4", video.path.stat().st_size)
    width, height, duration, kinds = clip(video.path)
    assert (width, height) == (720, 1280) and abs(duration - 4.0) < 0.1 and kinds == {"video", "audio"}

    thumbnail = await client.download_thumbnail(created.id)
    assert thumbnail.path.name == f"{created.id}.thumbnail.webp" and thumbnail.content_type == "image/webp"
    assert image_format(thumbnail.path) == "WEBP"
    sheet = await client.download_spritesheet(created.id)
    assert sheet.content_type == "image/jpeg" and image_format(sheet.path) == "JPEG"
    assert not list(settings.output_dir.glob(".*.part")), "no temporary file is left behind"


async def test_download_paths_stay_in_the_output_directory(client: SoraClient, settings: Settings) -> None:
    done = await completed(client)
    nested = await client.download_video(done.id, "clips/first.mp4")
    assert nested.path == settings.output_dir.resolve() / "clips" / "first.mp4"
    into_dir = await client.download_video(done.id, settings.output_dir / "clips")
    assert into_dir.path.name == f"{done.id}.mp4"
    for bad in ("../escape.mp4", "/etc/escape.mp4", "a/../../escape.mp4", "x\x00.mp4"):
        with pytest.raises(InputError):
            await client.download_video(done.id, bad)
    outside = settings.output_dir.parent / "elsewhere"
    outside.mkdir()
    (settings.output_dir / "link").symlink_to(outside)
    with pytest.raises(InputError):
        await client.download_video(done.id, "link/escape.mp4")
    (settings.output_dir / "planted.mp4").symlink_to(outside / "target.mp4")
    with pytest.raises(InputError) as linked:
        await client.download_video(done.id, "planted.mp4")
    assert str(linked.value).startswith(f"{settings.output_dir.resolve() / 'planted.mp4'} is a symbolic link.")
    assert not any(outside.iterdir())


async def test_pagination_and_iteration(client: SoraClient) -> None:
    ids = [(await client.generate_video(f"clip {n}", **SMALL)).id for n in range(5)]
    first = await client.list_videos(limit=2)
    assert [v.id for v in first.data] == ids[::-1][:2]
    assert first.has_more and first.first_id == ids[4] and first.last_id == ids[3]
    rest = await client.list_videos(limit=10, after=first.last_id)
    assert [v.id for v in rest.data] == ids[::-1][2:] and not rest.has_more
    ascending = await client.list_videos(limit=3, order="asc")
    assert [v.id for v in ascending.data] == ids[:3]
    assert [v.id async for v in client.iter_videos(page_size=2)] == ids[::-1]
    assert [v.id async for v in client.iter_videos(page_size=2, order="asc")] == ids
    empty = await client.list_videos(limit=0)
    assert empty.data == [] and empty.first_id is None and empty.last_id is None


@pytest.mark.parametrize("emulator_config", [HELD])
@pytest.mark.parametrize("emulator_clock", [FakeClock()])
async def test_remix_edit_extend_delete(client: SoraClient, emulator_clock: FakeClock) -> None:
    created = await client.generate_video("a small test clip", **SMALL)
    emulator_clock.advance(1)
    with anyio.fail_after(20):
        source = await client.wait_for_completion(created.id, timeout=20)
    remix = await client.remix_video(source.id, "the same, at night")
    assert remix.remixed_from_video_id == source.id and remix.size == source.size
    edit = await client.edit_video("make it blue", video_id=source.id)
    assert edit.status == "queued" and edit.remixed_from_video_id is None
    extended = await client.extend_video(source.id, "continue the shot", 4)
    assert source.seconds is not None and extended.seconds == str(int(source.seconds) + 4)
    with pytest.raises(BadRequestError) as not_done:
        await client.delete_video(remix.id)
    assert not_done.value.param == "video_id"
    deleted = await client.delete_video(source.id)
    assert deleted.deleted and deleted.id == source.id
    with pytest.raises(NotFoundError):
        await client.get_video_status(source.id)


async def test_extension_limits(client: SoraClient) -> None:
    video = await completed(client, size="128x96", seconds=20)
    for _ in range(5):
        video = await client.extend_video(video.id, "more", 20)
        with anyio.fail_after(20):
            video = await client.wait_for_completion(video.id, timeout=20)
    assert video.seconds == "120"
    with pytest.raises(BadRequestError):
        await client.extend_video(video.id, "past the limit", 4)


async def test_characters_and_edit_from_upload(client: SoraClient, settings: Settings) -> None:
    source = await completed(client)
    clip_path = (await client.download_video(source.id)).path
    upload = settings.input_roots[0] / "me.mp4"
    upload.write_bytes(clip_path.read_bytes())
    character = await client.create_character("Mossy", upload)
    assert character.name == "Mossy" and character.id and character.id.startswith("char_")
    assert await client.get_character(character.id) == character
    with pytest.raises(NotFoundError):
        await client.get_character("char_missing")
    starring = await client.generate_video("Mossy waves", characters=[character.id], **SMALL)
    assert starring.status == "queued"
    edited = await client.edit_video("make it sepia", video_path=upload, model="test-model")
    assert edited.size == "128x96"


async def test_generate_with_image_and_fit(client: SoraClient, settings: Settings, emulator: Emulator) -> None:
    image = settings.input_roots[0] / "frame.jpg"
    Image.new("RGB", (128, 96), "orange").save(image, "JPEG")
    video = await client.generate_video_with_image("an orange wall", image, **SMALL)
    assert video.status == "queued"

    wrong = settings.input_roots[0] / "wide.png"
    Image.new("RGB", (400, 100), "navy").save(wrong)
    with pytest.raises(InputError) as refused:
        await client.generate_video_with_image("a navy wall", wrong, **SMALL)
    assert "400x100" in str(refused.value) and "fit='crop'" in str(refused.value)
    creates = emulator.stats.count("POST", "/videos")
    fits: tuple[FitMode, ...] = ("crop", "pad")
    for fit in fits:
        fitted = await client.generate_video_with_image("a navy wall", wrong, fit=fit, **SMALL)
        assert fitted.status == "queued"
    assert emulator.stats.count("POST", "/videos") == creates + 2


async def test_image_urls_and_file_ids(client: SoraClient) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (128, 96), "green").save(buffer, "WEBP")
    data_url = "data:image/webp;base64," + base64.b64encode(buffer.getvalue()).decode()
    assert (await client.generate_video("green", input_reference=data_url, **SMALL)).status == "queued"
    https = "https://example.com/frame.png"
    assert (await client.generate_video("remote", input_reference=https, **SMALL)).status == "queued"
    by_id = ImageReference.from_file_id("file-123")
    assert (await client.generate_video("by id", input_reference=by_id, **SMALL)).status == "queued"


async def test_known_model_rules_are_checked_before_sending(client: SoraClient, emulator: Emulator) -> None:
    with pytest.raises(InputError) as wrong_size:
        await client.generate_video("x", "sora-2", 4, "1792x1024")
    assert "720x1280" in str(wrong_size.value)
    with pytest.raises(InputError):
        await client.generate_video("x", "sora-2", 7, "720x1280")
    with pytest.raises(InputError):
        await client.generate_video("", "sora-2")
    assert emulator.stats.count("POST", "/videos") == 0
    other = await client.generate_video("x", "wan2.2-t2v", 5, "832x480")
    assert other.model == "wan2.2-t2v", "models the table does not know pass through"


async def test_over_real_loopback_http(settings: Settings, live_base_url: str) -> None:
    async with SoraClient(settings.model_copy(update={"base_url": live_base_url})) as client:
        done = await completed(client)
        result = await client.download_video(done.id)
        assert clip(result.path)[:2] == (128, 96)
        page = await client.list_videos(limit=5)
        assert page.data[0].id == done.id
        remix = await client.remix_video(done.id, "again")
        assert remix.remixed_from_video_id == done.id
        with pytest.raises(NotFoundError):
            await client.get_video_status("video_" + "0" * 48)

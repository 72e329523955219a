"""The emulator's behaviour beyond the schema: real media, lifecycle, rules, auth, faults and the
control plane, renders that happen on the first download and never block the event loop."""

from __future__ import annotations

import io
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio
import av
import httpx2
import pytest
from PIL import Image
from starlette.types import Message

from sora_mcp import Settings, SoraClient, Video
from sora_mcp.emulator import Emulator, EmulatorConfig, FakeClock, Fault, serve_emulator
from sora_mcp.emulator._faults import FaultPlan
from sora_mcp.emulator._media import Media
from sora_mcp.emulator._store import LazyMedia

pytestmark = pytest.mark.anyio

AUTH = {"authorization": "Bearer sk-test"}
BASE = "http://emulator.test/v1"
FULL = EmulatorConfig(render_seconds=0, queue_seconds=0, poll_after_ms=10, media="full")


async def create(http: httpx2.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await http.post(f"{BASE}/videos", json={"prompt": "a lantern in fog", **body}, headers=AUTH)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


@pytest.mark.parametrize("emulator_config", [FULL])
@pytest.mark.parametrize(("size", "seconds"), [("720x1280", "4"), ("1280x720", "8")])
async def test_media_is_real(http_client: httpx2.AsyncClient, size: str, seconds: str) -> None:
    video = await create(http_client, size=size, seconds=seconds)
    content = await http_client.get(f"{BASE}/videos/{video['id']}/content", headers=AUTH)
    assert content.headers["content-type"] == "video/mp4"
    assert int(content.headers["content-length"]) == len(content.content)
    with av.open(io.BytesIO(content.content), "r") as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert f"{stream.codec_context.width}x{stream.codec_context.height}" == size
        assert abs((container.duration or 0) / 1e6 - float(seconds)) <= 1 / 24
        assert [s.type for s in container.streams] == ["video", "audio"]
        frames = sum(1 for _ in container.decode(video=0))
        assert frames == 24 * int(seconds)
    thumbnail = await http_client.get(f"{BASE}/videos/{video['id']}/content?variant=thumbnail", headers=AUTH)
    with Image.open(io.BytesIO(thumbnail.content)) as image:
        assert image.format == "WEBP"


@pytest.mark.parametrize("emulator_config", [EmulatorConfig(render_seconds=0, queue_seconds=0, media="fast")])
async def test_fast_media_is_small_but_playable(http_client: httpx2.AsyncClient) -> None:
    video = await create(http_client, model="sora-2-pro", size="1920x1080", seconds="8")
    content = await http_client.get(f"{BASE}/videos/{video['id']}/content", headers=AUTH)
    with av.open(io.BytesIO(content.content), "r") as container:
        stream = container.streams.video[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        assert width == 160 and height == 90, "the long side shrinks to 160 px, the aspect and even sides kept"
        assert abs((container.duration or 0) / 1e6 - 8) <= 0.5, "the job's duration is kept"
        assert [s.type for s in container.streams] == ["video", "audio"]
        assert 0 < sum(1 for _ in container.decode(video=0)) <= 4 * 8
    for variant, fmt in (("thumbnail", "WEBP"), ("spritesheet", "JPEG")):
        image = await http_client.get(f"{BASE}/videos/{video['id']}/content?variant={variant}", headers=AUTH)
        with Image.open(io.BytesIO(image.content)) as still:
            assert still.format == fmt


async def test_lifecycle_progress_and_poll_hint(settings: Settings) -> None:
    emulator = Emulator(EmulatorConfig(render_seconds=0.4, queue_seconds=0.1, poll_after_ms=50))
    hints: list[str | None] = []

    async def record(response: httpx2.Response) -> None:
        if response.request.method == "GET":
            hints.append(response.headers.get("openai-poll-after-ms"))

    transport = httpx2.ASGITransport(app=emulator.app)
    async with (
        httpx2.AsyncClient(transport=transport, event_hooks={"response": [record]}) as http,
        SoraClient(settings, http_client=http) as client,
    ):
        video = await client.generate_video("a lantern", "t", 1, "64x64")
        seen: list[Video] = []
        with anyio.fail_after(10):
            await client.wait_for_completion(video.id, timeout=10, on_progress=seen.append)
    statuses = [v.status for v in seen]
    assert statuses[0] == "queued" and "in_progress" in statuses and statuses[-1] == "completed"
    progress = [v.progress for v in seen]
    assert progress == sorted(p for p in progress if p is not None), "every poll has a progress, never falling"
    assert hints[:-1] == ["50"] * (len(hints) - 1) and hints[-1] is None, "hint only while pending"


@pytest.mark.parametrize("emulator_config", [FULL])
async def test_renders_never_block_the_event_loop(http_client: httpx2.AsyncClient, emulator: Emulator) -> None:
    video = await create(http_client, size="720x1280", seconds="4")
    downloads: list[httpx2.Response] = []

    async def download() -> None:
        downloads.append(await http_client.get(f"{BASE}/videos/{video['id']}/content", headers=AUTH))

    latencies = []
    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            tg.start_soon(download)
            await anyio.wait_all_tasks_blocked()  # the download is waiting for its render
            render = emulator.store.jobs[video["id"]].media.started
            assert render is not None
            for _ in range(20):
                started = time.perf_counter()
                assert (await http_client.get(f"{BASE}/videos", headers=AUTH)).status_code == 200
                latencies.append(time.perf_counter() - started)
            assert not render.done(), "the lists ran while the render did"
    assert max(latencies) < 0.5
    assert downloads[0].status_code == 200 and downloads[0].content[4:8] == b"ftyp"


async def test_media_renders_on_the_first_download(http_client: httpx2.AsyncClient, emulator: Emulator) -> None:
    video = await create(http_client, model="t", size="64x64", seconds="1")
    assert (await http_client.get(f"{BASE}/videos/{video['id']}", headers=AUTH)).json()["status"] == "completed"
    media = emulator.store.jobs[video["id"]].media
    assert media.started is None, "a job completes without rendering anything"
    types: dict[str, str] = {}

    async def download(variant: str) -> None:
        response = await http_client.get(f"{BASE}/videos/{video['id']}/content?variant={variant}", headers=AUTH)
        assert response.status_code == 200, response.text
        types[variant] = response.headers["content-type"]

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            for variant in ("video", "thumbnail", "spritesheet"):
                tg.start_soon(download, variant)
    assert types == {"video": "video/mp4", "thumbnail": "image/webp", "spritesheet": "image/jpeg"}
    assert media.started is not None and media.started.done()


@pytest.mark.parametrize("emulator_config", [EmulatorConfig(render_seconds=30.0, media="fast", render_ahead=True)])
async def test_render_ahead_starts_while_the_job_is_pending(
    http_client: httpx2.AsyncClient, emulator: Emulator
) -> None:
    # What the embedded backend (the demo, a host trying the emulator) uses: the download comes at once.
    video = await create(http_client, model="t", size="64x64", seconds="1")
    emulator.faults.add(Fault(kind="fail_job", error_code="moderation_blocked"))
    planned = await create(http_client, model="t", size="64x64", seconds="1")
    assert (await http_client.get(f"{BASE}/videos/{video['id']}", headers=AUTH)).json()["status"] != "completed"
    render = emulator.store.jobs[video["id"]].media.started
    assert render is not None, "the render starts with the job"
    with anyio.fail_after(30):
        media = await anyio.to_thread.run_sync(render.result)
    assert media.video[4:8] == b"ftyp"
    assert emulator.store.jobs[planned["id"]].media.started is None, "a job planned to fail renders nothing"


async def test_concurrent_callers_share_one_render() -> None:
    renders: list[int] = []
    release = threading.Event()

    def render() -> Media:
        renders.append(1)
        release.wait(30)
        return Media(b"video", b"thumbnail", b"sheet", "image/jpeg")

    results: list[Media] = []

    async def get() -> None:
        results.append(await lazy.get())

    with ThreadPoolExecutor(2) as pool, anyio.fail_after(30):
        lazy = LazyMedia(render, pool)
        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(get)
            await anyio.wait_all_tasks_blocked()
            release.set()
        assert renders == [1] and len(results) == 3 and len({id(r) for r in results}) == 1
        assert await lazy.get() is results[0], "later callers get the same media"
        assert renders == [1]


@pytest.mark.parametrize("emulator_config", [FULL])
async def test_a_failed_render_is_a_500_on_download(http_client: httpx2.AsyncClient) -> None:
    video = await create(http_client, model="t", size="65x33", seconds="1")  # libx264 refuses odd sizes
    status = await http_client.get(f"{BASE}/videos/{video['id']}", headers=AUTH)
    assert status.json()["status"] == "completed", "status does not wait for the render"
    for _ in range(2):
        with anyio.fail_after(30):
            failed = await http_client.get(f"{BASE}/videos/{video['id']}/content", headers=AUTH)
        assert failed.status_code == 500
        error = failed.json()["error"]
        assert set(error) == {"message", "type", "param", "code"} and error["type"] == "server_error"


async def test_a_fake_clock_drives_the_whole_lifecycle() -> None:
    clock = FakeClock()
    config = EmulatorConfig(queue_seconds=2, render_seconds=10, expires_after=60, media="fast")
    emulator = Emulator(config, clock=clock)
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=emulator.app)) as http:
        video = await create(http, model="t", size="64x64", seconds="1")
        url = f"{BASE}/videos/{video['id']}"

        async def state() -> tuple[str, int]:
            body = (await http.get(url, headers=AUTH)).json()
            return body["status"], body["progress"]

        assert video["created_at"] == int(clock.now)
        clock.advance(1.5)
        assert await state() == ("queued", 0)
        clock.advance(3)
        assert await state() == ("in_progress", 25)
        clock.advance(5)
        assert await state() == ("in_progress", 75)
        clock.advance(2.5)
        done = (await http.get(url, headers=AUTH)).json()
        assert (done["status"], done["progress"]) == ("completed", 100)
        assert done["completed_at"] == video["created_at"] + 12 and done["expires_at"] == done["completed_at"] + 60
        clock.advance(60)
        assert (await http.get(f"{url}/content", headers=AUTH)).status_code == 200, "served until expires_at"
        clock.advance(1)
        expired = await http.get(f"{url}/content", headers=AUTH)
        assert expired.status_code == 404 and expired.json()["error"]["code"] == "video_expired"
        assert await state() == ("completed", 100), "expiry removes the assets, not the job"


async def test_auth(http_client: httpx2.AsyncClient) -> None:
    missing = await http_client.get(f"{BASE}/videos")
    assert missing.status_code == 401 and set(missing.json()["error"]) == {"message", "type", "param", "code"}
    assert (await http_client.get(f"{BASE}/videos", headers={"api-key": "anything"})).status_code == 200
    emulator = Emulator(EmulatorConfig(api_key="sk-right"))
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=emulator.app)) as http:
        assert (await http.get(f"{BASE}/videos", headers={"authorization": "Bearer sk-wrong"})).status_code == 401
        assert (await http.get(f"{BASE}/videos", headers={"authorization": "Bearer sk-right"})).status_code == 200
        assert (await http.get("http://emulator.test/videos", headers={"api-key": "sk-right"})).status_code == 200


async def test_model_rules_and_strict_mode(http_client: httpx2.AsyncClient) -> None:
    wide_sora2 = await http_client.post(
        f"{BASE}/videos", json={"prompt": "x", "model": "sora-2", "size": "1920x1080"}, headers=AUTH
    )
    assert wide_sora2.status_code == 400 and wide_sora2.json()["error"]["param"] == "size"
    assert (await create(http_client, model="sora-2-pro", size="1920x1080", seconds="16"))["seconds"] == "16"
    strict = Emulator(EmulatorConfig(strict_spec=True))
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=strict.app)) as http:
        for body in ({"seconds": "16"}, {"size": "1920x1080", "model": "sora-2-pro"}):
            response = await http.post(f"{BASE}/videos", json={"prompt": "x", **body}, headers=AUTH)
            assert response.status_code == 400


async def test_retired_models_answer_like_the_shutdown() -> None:
    emulator = Emulator(EmulatorConfig(retired_models=frozenset({"sora-2"})))
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=emulator.app)) as http:
        gone = await http.post(f"{BASE}/videos", json={"prompt": "x"}, headers=AUTH)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "model_not_found"


async def test_control_plane(http_client: httpx2.AsyncClient, emulator: Emulator) -> None:
    control = "http://emulator.test/_emulator"
    assert (await http_client.get(f"{control}/health")).json() == {"ok": True}
    added = await http_client.post(f"{control}/faults", json={"kind": "status", "status": 503, "method": "GET"})
    assert added.status_code == 201
    assert (await http_client.get(f"{BASE}/videos", headers=AUTH)).status_code == 503
    assert (await http_client.get(f"{BASE}/videos", headers=AUTH)).status_code == 200, "times=1 by default"
    bad = await http_client.post(f"{control}/faults", json={"kind": "status", "colour": "red"})
    assert bad.status_code == 400
    await http_client.post(f"{control}/faults", json={"kind": "status", "status": 500, "times": None})
    assert (await http_client.delete(f"{control}/faults")).status_code == 204
    assert (await http_client.get(f"{BASE}/videos", headers=AUTH)).status_code == 200
    video = await create(http_client, model="t", size="64x64", seconds="1")
    await http_client.get(f"{BASE}/videos/{video['id']}", headers=AUTH)
    assert (await http_client.post(f"{control}/videos/{video['id']}/expire")).status_code == 204
    expired = await http_client.get(f"{BASE}/videos/{video['id']}/content", headers=AUTH)
    assert expired.status_code == 404 and expired.json()["error"]["code"] == "video_expired"
    stats = (await http_client.get(f"{control}/stats")).json()
    assert stats["counts"]["GET /videos"] == 3 and stats["counts"]["POST /videos"] == 1


async def test_fail_job_and_delay_faults(http_client: httpx2.AsyncClient, emulator: Emulator) -> None:
    emulator.faults.add(Fault(kind="fail_job", error_code="moderation_blocked"))
    video = await create(http_client, model="t", size="64x64", seconds="1")
    body = (await http_client.get(f"{BASE}/videos/{video['id']}", headers=AUTH)).json()
    assert body["status"] == "failed" and body["error"]["code"] == "moderation_blocked"
    emulator.faults.add(Fault(kind="delay", delay=0.2, path="/videos"))
    started = time.perf_counter()
    await http_client.get(f"{BASE}/videos", headers=AUTH)
    assert time.perf_counter() - started >= 0.2


async def test_drop_fault_cuts_a_download_over_loopback(emulator: Emulator, live_base_url: str) -> None:
    async with httpx2.AsyncClient() as http:
        response = await http.post(
            f"{live_base_url}/videos", json={"prompt": "x", "model": "t", "size": "64x64", "seconds": "1"}, headers=AUTH
        )
        video_id = response.json()["id"]
        await http.get(f"{live_base_url}/videos/{video_id}", headers=AUTH)
        emulator.faults.add(Fault(kind="drop", after_bytes=1000))
        received = bytearray()
        with pytest.raises(httpx2.RemoteProtocolError):
            async with http.stream("GET", f"{live_base_url}/videos/{video_id}/content", headers=AUTH) as stream:
                expected = int(stream.headers["content-length"])
                async for chunk in stream.aiter_bytes():
                    received += chunk
    assert len(received) == 1000 < expected


async def test_large_padded_asset_streams() -> None:
    emulator = Emulator(EmulatorConfig(render_seconds=0, queue_seconds=0, pad_video_bytes=5_000_000))
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=emulator.app)) as http:
        video = await create(http, model="t", size="64x64", seconds="1")
        await http.get(f"{BASE}/videos/{video['id']}", headers=AUTH)
        content = await http.get(f"{BASE}/videos/{video['id']}/content", headers=AUTH)
    assert len(content.content) == 5_000_000 and content.content[4:8] == b"ftyp"


async def test_serve_emulator_is_reusable(emulator: Emulator) -> None:
    for _ in range(2):
        async with serve_emulator(emulator) as base, httpx2.AsyncClient() as http:
            assert (await http.get(base.replace("/v1", "/_emulator/health"))).status_code == 200


async def test_broken_json_text_in_a_form_is_a_400(http_client: httpx2.AsyncClient) -> None:
    """Multipart forms carry objects as JSON text; text that does not parse is the caller's error."""
    for path, fields in (
        ("/videos", {"prompt": "x", "characters": "[{oops"}),
        ("/videos", {"prompt": "x", "input_reference": "{oops"}),
        ("/videos/edits", {"prompt": "x", "video": "{oops"}),
    ):
        response = await http_client.post(
            f"{BASE}{path}", files={k: (None, v) for k, v in fields.items()}, headers=AUTH
        )
        assert response.status_code == 400, (path, response.text)
        assert "cannot be parsed" in response.json()["error"]["message"]


async def test_a_webp_spritesheet_is_named_webp() -> None:
    strict = Emulator(EmulatorConfig(strict_spec=True, render_seconds=0, queue_seconds=0, media="fast"))
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=strict.app)) as http:
        video = await create(http, size="1280x720", seconds="4")
        sheet = await http.get(f"{BASE}/videos/{video['id']}/content?variant=spritesheet", headers=AUTH)
    assert sheet.headers["content-type"] == "image/webp"
    assert sheet.headers["content-disposition"].endswith('.webp"')


def _image(fmt: str, size: tuple[int, int] = (64, 64)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "olive").save(buffer, fmt)
    return buffer.getvalue()


REFUSED_REQUESTS: list[tuple[str, str, dict[str, Any], int, str | None, str]] = [
    ("POST", "/videos", {"json": ["a", "list"]}, 400, None, "The JSON body must be an object."),
    ("POST", "/videos", {}, 400, "prompt", "Missing required parameter: 'prompt'."),
    (
        "POST",
        "/videos",
        {"content": b"{oops", "headers": {"content-type": "application/json"}},
        400,
        None,
        "We could not parse the JSON body of your request",
    ),
    (
        "POST",
        "/videos",
        {"content": b"prompt", "headers": {"content-type": "text/plain"}},
        400,
        None,
        "Unsupported content type: send application/json or multipart/form-data.",
    ),
    (
        "POST",
        "/videos",
        {"json": {"prompt": "p" * 32001}},
        400,
        "prompt",
        "Invalid 'prompt': string too long (maximum 32000 characters).",
    ),
    ("POST", "/videos", {"json": {"prompt": "x", "model": 7}}, 400, "model", "Invalid 'model': expected a string."),
    (
        "POST",
        "/videos",
        {"json": {"prompt": "x", "model": "t", "size": 720}},
        400,
        "size",
        "Invalid 'size': expected a string like '720x1280'.",
    ),
    (
        "POST",
        "/videos",
        {"json": {"prompt": "x", "model": "t", "size": "0x0"}},
        400,
        "size",
        "Invalid 'size': Size '0x0' is not WIDTHxHEIGHT.",
    ),
    (
        "POST",
        "/videos",
        {"json": {"prompt": "x", "model": "t", "size": "64x64", "seconds": "121"}},
        400,
        "seconds",
        "Invalid 'seconds': must be a whole number of seconds from 1 to 120.",
    ),
    (
        "POST",
        "/videos",
        {"json": {"prompt": "x", "model": "t", "size": "64x64", "input_reference": 5}},
        400,
        "input_reference",
        "Invalid 'input_reference': expected a file or an object.",
    ),
    (
        "POST",
        "/videos",
        {"json": {"prompt": "x", "size": "720x1280", "input_reference": {"image_url": "ftp://a"}}},
        400,
        "input_reference",
        "Invalid 'input_reference.image_url': expected an http(s) or data URL.",
    ),
    (
        "POST",
        "/videos",
        {"json": {"prompt": "x", "input_reference": {"image_url": "data:image/png,abc"}}},
        400,
        "input_reference",
        "Invalid 'input_reference.image_url': data URLs must be base64-encoded.",
    ),
    (
        "POST",
        "/videos",
        {"json": {"prompt": "x", "input_reference": {"image_url": "data:image/png;base64,***"}}},
        400,
        "input_reference",
        "Invalid 'input_reference.image_url': bad base64 data.",
    ),
    (
        "POST",
        "/videos",
        {
            "data": {"prompt": "x", "model": "t", "size": "64x64"},
            "files": {"input_reference": ("f.png", b"not pixels", "image/png")},
        },
        400,
        "input_reference",
        "Invalid 'input_reference': the file is not a readable image.",
    ),
    (
        "POST",
        "/videos",
        {
            "data": {"prompt": "x", "model": "t", "size": "64x64"},
            "files": {"input_reference": ("f.gif", _image("GIF"), "image/gif")},
        },
        400,
        "input_reference",
        "Invalid 'input_reference': unsupported image format GIF; use image/jpeg, image/png or",
    ),
    (
        "POST",
        "/videos",
        {"json": {"prompt": "x", "characters": [{"id": "a"}, {"id": "b"}, {"id": "c"}]}},
        400,
        "characters",
        "Invalid 'characters': at most 2 characters",
    ),
    (
        "POST",
        "/videos",
        {"json": {"prompt": "x", "characters": "char_nobody"}},
        404,
        "characters",
        "Character 'char_nobody' not found.",
    ),
    ("GET", "/videos?order=sideways", {}, 400, "order", "Invalid 'order': must be 'asc' or 'desc'."),
    ("GET", "/videos?limit=ten", {}, 400, "limit", "Invalid 'limit': expected an integer."),
    (
        "POST",
        "/videos/edits",
        {"data": {"prompt": "x"}, "files": {"video": ("c.mp4", b"...", "video/mp4")}},
        400,
        "model",
        "'model' is required when 'video' is an uploaded file.",
    ),
    (
        "POST",
        "/videos/edits",
        {"json": {"prompt": "x"}},
        400,
        "video",
        "Missing required parameter: 'video' (an object with 'id', or a file).",
    ),
    (
        "POST",
        "/videos/edits",
        {"data": {"prompt": "x", "model": "t"}, "files": {"video": ("c.mp4", b"..", "video/mp4")}},
        400,
        "video",
        "Invalid 'video': the file is not a readable video.",
    ),
    ("POST", "/videos/characters", {"json": {"name": ""}}, 400, "name", "Invalid 'name': 1 to 80 characters."),
    (
        "POST",
        "/videos/characters",
        {"json": {"name": "Mossy"}},
        400,
        "video",
        "Missing required parameter: 'video' (a video file).",
    ),
    ("PUT", "/videos", {}, 405, None, "Invalid URL (PUT /v1/videos)"),
]


@pytest.mark.parametrize(
    ("method", "path", "request_kwargs", "status", "param", "message"),
    REFUSED_REQUESTS,
    ids=[f"{case[0]} {case[1]}: {case[5][:40]}" for case in REFUSED_REQUESTS],
)
async def test_invalid_requests_are_refused_like_the_api_refuses_them(
    http_client: httpx2.AsyncClient,
    emulator: Emulator,
    method: str,
    path: str,
    request_kwargs: dict[str, Any],
    status: int,
    param: str | None,
    message: str,
) -> None:
    """Each refusal: the status, the envelope, the parameter at fault and the API's words; nothing created."""
    sent = {**request_kwargs, "headers": {**AUTH, **request_kwargs.get("headers", {})}}
    response = await http_client.request(method, f"{BASE}{path}", **sent)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["message"].startswith(message) and error["param"] == param, error
    assert emulator.store.jobs == {}


async def test_edits_from_form_fields_and_the_extension_limit(http_client: httpx2.AsyncClient) -> None:
    """A form names the source as video[id] (the official SDK's encoding of objects); a video can be
    extended six times, not seven."""
    source = await create(http_client, model="t", size="64x48", seconds="1")
    edit = await http_client.post(
        f"{BASE}/videos/edits", files={"video[id]": (None, source["id"]), "prompt": (None, "blue")}, headers=AUTH
    )
    assert edit.status_code == 200 and edit.json()["size"] == "64x48"
    video_id = source["id"]
    for _ in range(6):
        extended = await http_client.post(
            f"{BASE}/videos/extensions", json={"video": {"id": video_id}, "prompt": "on", "seconds": "4"}, headers=AUTH
        )
        assert extended.status_code == 200, extended.text
        video_id = extended.json()["id"]
    assert extended.json()["seconds"] == "25"
    refused = await http_client.post(
        f"{BASE}/videos/extensions", json={"video": {"id": video_id}, "prompt": "on", "seconds": "4"}, headers=AUTH
    )
    assert refused.status_code == 400
    assert refused.json()["error"] == {
        "message": "A video can be extended at most 6 times.",
        "type": "invalid_request_error",
        "param": "video",
        "code": "extension_limit_reached",
    }


async def test_the_control_plane_refuses_what_it_does_not_know(http_client: httpx2.AsyncClient) -> None:
    control = "http://emulator.test/_emulator"
    for method, path in (("GET", "/nope"), ("POST", "/videos/video_nope/expire"), ("GET", "/faults")):
        response = await http_client.request(method, control + path)
        assert (response.status_code, response.json()) == (404, {"error": "unknown control endpoint"}), path


async def test_the_app_answers_lifespan_and_ignores_other_protocols(emulator: Emulator) -> None:
    """Served by any ASGI server: the lifespan handshake completes; a websocket is not answered."""
    incoming: list[Message] = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    with anyio.fail_after(5):
        await emulator.app({"type": "lifespan"}, receive, send)
        await emulator.app({"type": "websocket", "path": "/v1/videos"}, receive, send)
    assert sent == [{"type": "lifespan.startup.complete"}, {"type": "lifespan.shutdown.complete"}]


def test_a_fault_hits_only_its_method_and_route_and_only_so_many_times() -> None:
    plan = FaultPlan()
    given = Fault(kind="status", status=503, method="post", path="/videos", times=2)
    plan.add(given)
    assert plan.take("status", "GET", "/videos") is None
    assert plan.take("status", "POST", "/videos/{video_id}") is None
    assert plan.take("delay", "POST", "/videos") is None
    assert [plan.take("status", "POST", "/videos") is not None for _ in range(3)] == [True, True, False]
    assert given.times == 2, "the caller's fault is not used up"
    with pytest.raises(ValueError, match=r"unknown fault fields: \['colour'\]"):
        Fault.from_json({"kind": "status", "colour": "red"})


def test_a_fake_clock_never_goes_back() -> None:
    clock = FakeClock(now=100.0)
    clock.advance(0)
    with pytest.raises(ValueError, match="a clock does not go back"):
        clock.advance(-0.001)
    assert (clock.time(), clock.monotonic()) == (100.0, 100.0)

"""What the client puts on the wire: body shapes (multipart as the official SDK sends it, JSON when
the body holds objects), headers per auth style, query parameters. Requests reach the real
emulator; the wiretap only records them."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx2
import pytest
from pydantic import ValidationError

from sora_mcp import (
    AuthenticationError,
    BadRequestError,
    ImageReference,
    InputError,
    NotFoundError,
    ResponseValidationError,
    Settings,
    SoraClient,
    UnsupportedContentError,
    Video,
    VideoError,
    VideoVariant,
    __version__,
)
from sora_mcp._assets import ASSETS, local_stem, sniff_media
from sora_mcp.emulator import Emulator, EmulatorConfig

from ..conftest import TEST_KEY
from .support import SMALL, Wiretap, finished, image_bytes

pytestmark = pytest.mark.anyio


async def test_plain_create_is_multipart_like_the_sdk(client: SoraClient, wiretap: Wiretap) -> None:
    video = await client.generate_video("a calico cat at a piano", "sora-2", 8, "1280x720")
    (sent,) = wiretap.only("POST", "/videos")
    assert str(sent.url) == "http://emulator.test/v1/videos"
    assert sent.text_fields() == {
        "prompt": "a calico cat at a piano",
        "model": "sora-2",
        "seconds": "8",
        "size": "1280x720",
    }
    assert (video.seconds, video.size, video.model) == ("8", "1280x720", "sora-2")


async def test_defaults_come_from_settings(make_client: Callable[..., SoraClient], wiretap: Wiretap) -> None:
    async with make_client(model="sora-2-pro", size="1792x1024", seconds="12") as client:
        video = await client.generate_video("defaults")
    assert (video.model, video.size, video.seconds) == ("sora-2-pro", "1792x1024", "12")
    assert wiretap.sent[0].text_fields()["seconds"] == "12"


async def test_uploaded_image_is_a_file_part_with_its_real_type(
    client: SoraClient, wiretap: Wiretap, images: Path
) -> None:
    lying = images / "frame.png"
    lying.write_bytes(image_bytes((128, 96), "JPEG"))  # JPEG bytes behind a .png name
    await client.generate_video_with_image("an orange wall", lying, **SMALL)
    parts = wiretap.only("POST", "/videos")[0].form()
    filename, content_type, payload = parts["input_reference"]
    assert (filename, content_type) == ("frame.png", "image/jpeg")
    assert payload == lying.read_bytes()
    assert {name for name, part in parts.items() if part[0] is None} == {"prompt", "model", "seconds", "size"}


async def test_image_url_goes_as_json_and_is_never_fetched(client: SoraClient, wiretap: Wiretap) -> None:
    url = "http://127.0.0.1:9/internal/frame.png"  # the server's business; we must not fetch it (no SSRF)
    video = await client.generate_video("remote", input_reference=url, **SMALL)
    assert video.status == "queued"
    assert [s.url.host for s in wiretap.sent] == ["emulator.test"]
    assert wiretap.sent[0].json() == {
        "prompt": "remote",
        "model": "test-model",
        "seconds": "1",
        "size": "128x96",
        "input_reference": {"image_url": url},
    }


async def test_file_id_goes_as_json(client: SoraClient, wiretap: Wiretap) -> None:
    await client.generate_video("by id", input_reference=ImageReference.from_file_id("file-abc"), **SMALL)
    assert wiretap.sent[0].json()["input_reference"] == {"file_id": "file-abc"}


async def test_characters_go_as_json_objects(client: SoraClient, wiretap: Wiretap, images: Path) -> None:
    clip = images / "mossy.mp4"
    clip.write_bytes((await client.download_video((await finished(client)).id)).path.read_bytes())
    character = await client.create_character("Mossy", clip)
    assert character.id is not None
    frame = images / "frame.webp"
    frame.write_bytes(image_bytes((128, 96), "WEBP"))
    wiretap.sent.clear()
    video = await client.generate_video("Mossy waves", input_reference=frame, characters=[character.id], **SMALL)
    assert video.status == "queued"
    body = wiretap.sent[0].json()
    assert body["characters"] == [{"id": character.id}]
    assert body["input_reference"]["image_url"].startswith("data:image/webp;base64,"), "an upload as a data URL"


async def test_character_upload_is_multipart(client: SoraClient, wiretap: Wiretap, images: Path) -> None:
    clip = images / "clip.mp4"
    clip.write_bytes((await client.download_video((await finished(client)).id)).path.read_bytes())
    wiretap.sent.clear()
    character = await client.create_character("Mossy", clip)
    parts = wiretap.only("POST", "/videos/characters")[0].form()
    assert parts["name"] == (None, None, b"Mossy")
    assert parts["video"][:2] == ("clip.mp4", "video/mp4") and parts["video"][2] == clip.read_bytes()
    assert character.name == "Mossy"


async def test_remix_edit_and_extension_bodies(client: SoraClient, wiretap: Wiretap) -> None:
    source = await finished(client)
    wiretap.sent.clear()
    await client.remix_video(source.id, "at night")
    await client.edit_video("in blue", video_id=source.id)
    await client.extend_video(source.id, "and then", 4)
    assert [(s.path, s.json()) for s in wiretap.sent] == [
        (f"/v1/videos/{source.id}/remix", {"prompt": "at night"}),
        ("/v1/videos/edits", {"video": {"id": source.id}, "prompt": "in blue"}),
        ("/v1/videos/extensions", {"video": {"id": source.id}, "prompt": "and then", "seconds": "4"}),
    ]


async def test_bearer_headers(make_client: Callable[..., SoraClient], wiretap: Wiretap) -> None:
    async with make_client(organization="org-1", project="proj-1") as client:
        await client.list_videos(limit=3, order="asc")
    sent = wiretap.sent[0]
    assert sent.headers["authorization"] == f"Bearer {TEST_KEY}" and "api-key" not in sent.headers
    assert sent.headers["openai-organization"] == "org-1" and sent.headers["openai-project"] == "proj-1"
    assert sent.headers["user-agent"] == f"sora-mcp/{__version__}"
    assert dict(sent.url.params) == {"limit": "3", "order": "asc"}


async def test_azure_style_sends_api_key_and_api_version(settings: Settings, wiretap: Wiretap) -> None:
    secured = Emulator(EmulatorConfig(api_key=TEST_KEY, render_seconds=0, queue_seconds=0))
    transport = httpx2.ASGITransport(app=secured.app)
    azure = settings.model_copy(update={"auth_style": "azure", "api_version": "2026-05-01-preview"})
    async with (
        httpx2.AsyncClient(transport=transport, event_hooks={"request": [wiretap]}) as http,
        SoraClient(azure, http_client=http) as client,
    ):
        video = await client.generate_video("azure", **SMALL)
        await client.get_video_status(video.id)
    for sent in wiretap.sent:
        assert sent.headers["api-key"] == TEST_KEY and "authorization" not in sent.headers
        assert sent.url.params["api-version"] == "2026-05-01-preview"
    assert secured.stats.count("GET", "/videos/{video_id}") == 1


async def test_no_auth_style_sends_no_credentials(make_client: Callable[..., SoraClient], wiretap: Wiretap) -> None:
    async with make_client(api_key=None, auth_style="none") as client:
        with pytest.raises(AuthenticationError):
            await client.list_videos()  # this emulator wants a key, and none was sent
    assert "authorization" not in wiretap.sent[0].headers and "api-key" not in wiretap.sent[0].headers


async def test_download_asks_for_binary_and_names_the_variant(client: SoraClient, wiretap: Wiretap) -> None:
    done = await finished(client)
    wiretap.sent.clear()
    await client.download_thumbnail(done.id)
    (sent,) = wiretap.sent
    assert sent.path == f"/v1/videos/{done.id}/content" and dict(sent.url.params) == {"variant": "thumbnail"}
    assert sent.headers["accept"] == "application/binary"


async def test_ids_are_opaque_and_cannot_change_the_path(client: SoraClient, wiretap: Wiretap) -> None:
    """Any printable id a server minted travels as one percent-encoded path segment; ids no server
    could have minted (empty, control characters, absurdly long) are refused before anything is sent."""
    for odd in ("../videos", "a/b", "x?y#z", "%2e%2e", "..", "video_" + "QUJD+/=" * 40):
        with pytest.raises(NotFoundError):
            await client.get_video_status(odd)
        raw = wiretap.sent[-1].url.raw_path.decode()
        assert unquote(raw.removeprefix("/v1/videos/")) == odd
    sent = len(wiretap.sent)
    for bad in ("", "a\nb", "tab\there", " padded", "x" * 5000):
        with pytest.raises(InputError):
            await client.get_video_status(bad)
        with pytest.raises(InputError):
            await client.download_video(bad)
    assert len(wiretap.sent) == sent


def test_settings_come_from_the_environment_when_not_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", TEST_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://gateway.test/v1/")
    client = SoraClient()
    assert client.settings.base_url == "http://gateway.test/v1"
    assert client.settings.api_key_value == TEST_KEY


async def test_an_injected_http_client_is_left_open(settings: Settings, http_client: httpx2.AsyncClient) -> None:
    async with SoraClient(settings, http_client=http_client) as client:
        await client.list_videos()
    assert not http_client.is_closed
    owned = SoraClient(settings)
    await owned.aclose()
    with pytest.raises(RuntimeError):
        await owned.list_videos()


# --- what comes back: read liberally, refused plainly ------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "status", "progress"),
    [
        ({"status": "Succeeded", "progress": "99.6"}, "completed", 100),
        ({"status": "processing", "progress": 42.4}, "in_progress", 42),
        ({"status": "timed-out", "progress": 250}, "failed", 100),
        ({"status": "on the moon", "progress": -3}, "in_progress", 0),
        ({"status": None, "progress": True}, "in_progress", None),
        ({"progress": "half"}, "in_progress", None),
        ({"status": "queued", "progress": float("nan")}, "queued", None),
        ({"status": "queued", "progress": "inf"}, "queued", None),
        ({"status": "queued", "progress": [50]}, "queued", None),
    ],
)
def test_status_words_and_progress_are_read_liberally(sent: dict[str, Any], status: str, progress: int | None) -> None:
    video = Video.model_validate({"id": "video_1", **sent})
    assert (video.status, video.progress) == (status, progress)
    word = sent.get("status")
    assert video.server_status == (None if word is None else str(word))


def test_other_fields_are_read_liberally() -> None:
    video = Video.model_validate(
        {
            "id": 12,
            "object": None,
            "status": "failed",
            "created_at": "1700000000",
            "completed_at": 1700000012.4,
            "expires_at": "soon",
            "seconds": 8,
            "size": True,
            "model": {"name": "sora-2"},
            "error": "the render crashed",
        }
    )
    assert (video.id, video.object, video.created_at, video.completed_at, video.expires_at) == (
        "12",
        "video",
        1700000000,
        1700000012,
        None,
    )
    assert (video.seconds, video.size, video.model) == ("8", None, None)
    assert video.error == VideoError(code="unknown", message="the render crashed")
    assert video.status_text == "failed"
    coded = Video.model_validate({"id": "v", "status": "error", "error": {"code": 7, "message": None, "x": 1}})
    assert coded.error == VideoError(code="7", message="no reason given") and coded.status_text == "failed (error)"
    assert Video.model_validate({"id": "v", "status": "done", "error": 42}).error is None


def test_a_body_that_is_not_a_video_is_refused_by_the_model() -> None:
    with pytest.raises(ValidationError):
        Video.model_validate(["not", "an", "object"])
    with pytest.raises(ValidationError):
        Video.model_validate({"id": "", "status": "queued"})


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"<html><body>Sign in to the proxy</body></html>", "it is not JSON"),
        (b'{"object": "list", "data": [{"status": "queued"}]}', "data.0.id: Field required"),
    ],
)
async def test_a_2xx_body_that_is_not_the_contract(settings: Settings, body: bytes, problem: str) -> None:
    """A proxy's login page or a body without ids: one actionable error, never a crash; for a create,
    never the advice to send it again (it may have started a paid job)."""

    def answer(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=body, headers={"content-type": "text/html"})

    async with (
        httpx2.AsyncClient(transport=httpx2.MockTransport(answer)) as http,
        SoraClient(settings, http_client=http) as client,
    ):
        with pytest.raises(ResponseValidationError) as listed:
            await client.list_videos()
        with pytest.raises(ResponseValidationError) as created:
            await client.generate_video("x", **SMALL)
    assert "answered GET /v1/videos with 200 (text/html) but the body is not what the /v1/videos contract" in str(
        listed.value
    )
    assert f"contract describes ({problem}): " in str(listed.value)
    assert str(listed.value).endswith(
        "Check that OPENAI_BASE_URL points at a server that speaks /v1/videos (not a proxy or a web page)."
    )
    assert "The server may have created the job anyway: do not send it again." in str(created.value)
    assert listed.value.body == body.decode()


@pytest.mark.parametrize(
    ("variant", "served", "content_type", "said"),
    [
        ("video", b"<!doctype html><title>Login</title>", "text/html", "sent an HTML page. Nothing was saved."),
        ("video", b"\x89PNG\r\n\x1a\n" + b"\x00" * 16, "image/png", "sent image/png. Nothing was saved."),
        ("thumbnail", b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 8, "video/mp4", "sent image/webp. Nothing"),
        ("spritesheet", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 8, "video/mp4", "does not serve the spritesheet"),
    ],
)
async def test_the_wrong_media_is_never_saved(
    settings: Settings, variant: VideoVariant, served: bytes, content_type: str, said: str
) -> None:
    """The first bytes decide: an HTML page, an image for the video, a declared type that lies, the MP4
    for an image variant: refused before anything is written."""

    def answer(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, stream=httpx2.ByteStream(served), headers={"content-type": content_type})

    async with (
        httpx2.AsyncClient(transport=httpx2.MockTransport(answer)) as http,
        SoraClient(settings, http_client=http) as client,
    ):
        with pytest.raises(UnsupportedContentError) as refused:
            await client.download_content("video_1", variant=variant)
    assert said in str(refused.value)
    assert refused.value.url == "http://emulator.test/v1/videos/video_1/content"
    assert not settings.output_dir.exists() or list(settings.output_dir.iterdir()) == []


@pytest.mark.parametrize(
    ("head", "content_type"),
    [
        (b"\x00\x00\x00\x18ftypisom", "video/mp4"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"),
        (b"GIF89a\x01\x00", None),
        (b"", None),
    ],
)
def test_media_is_known_by_its_first_bytes(head: bytes, content_type: str | None) -> None:
    assert sniff_media(head) == content_type


def test_what_each_asset_kind_accepts_and_is_named() -> None:
    assert ASSETS["video"].accepts("video/mp4") and not ASSETS["video"].accepts("image/webp")
    assert ASSETS["metadata"].accepts("application/json") and not ASSETS["metadata"].accepts("video/mp4")
    assert ASSETS["spritesheet"].accepts("image/webp") and not ASSETS["spritesheet"].accepts("text/html")
    assert ASSETS["spritesheet"].suffixes() == (".spritesheet.jpg", ".spritesheet.png", ".spritesheet.webp")
    assert ASSETS["video"].suffixes() == (".mp4",) and ASSETS["video"].suffix_for("image/png") == ".mp4"


@pytest.mark.parametrize(
    ("video_id", "stem"),
    [
        ("video_68d7", "video_68d7"),
        ("video-12", "video-12"),
        ("x" * 96, "x" * 96),
        ("x" * 97, None),
        ("video_QUJD+/=", None),
        ("-leading-dash", None),
        ("id-" + "0" * 32, None),  # a real id shaped like a digest stem is digested too: no collision
    ],
)
def test_short_filename_safe_ids_name_their_files_and_others_a_digest(video_id: str, stem: str | None) -> None:
    named = local_stem(video_id)
    if stem is not None:
        assert named == stem
    else:
        assert named.startswith("id-") and len(named) == 35 and named != video_id
        assert local_stem(video_id) == named, "stable"


async def test_a_server_that_refuses_the_encoding_gets_the_other_one_once(settings: Settings) -> None:
    """A 415 (or a 400/422 about the body's encoding) created nothing, so ``auto`` sends the create
    once more in the other encoding; any other refusal is not repeated."""
    seen: list[str] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        kind = request.headers["content-type"].split(";")[0]
        seen.append(kind)
        if kind == "multipart/form-data":
            return httpx2.Response(415, json={"detail": "Unsupported Media Type"})
        return httpx2.Response(200, json={"id": "video_1", "status": "queued"})

    async with (
        httpx2.AsyncClient(transport=httpx2.MockTransport(answer)) as http,
        SoraClient(settings, http_client=http) as client,
    ):
        video = await client.generate_video("x", **SMALL)
    assert video.id == "video_1" and seen == ["multipart/form-data", "application/json"]

    def wants_form(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.headers["content-type"].split(";")[0])
        if request.headers["content-type"] == "application/json":
            return httpx2.Response(422, json={"detail": "Expected form data, got a JSON body"})
        return httpx2.Response(200, json={"id": "video_2", "status": "queued"})

    seen.clear()
    async with (
        httpx2.AsyncClient(transport=httpx2.MockTransport(wants_form)) as http,
        SoraClient(settings, http_client=http) as client,
    ):
        video = await client.generate_video("x", input_reference="https://example.com/a.png", **SMALL)
    assert video.id == "video_2" and seen == ["application/json", "multipart/form-data"]

    def refuses(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.headers["content-type"].split(";")[0])
        return httpx2.Response(400, json={"error": {"message": "Invalid 'size'.", "param": "size"}})

    seen.clear()
    async with (
        httpx2.AsyncClient(transport=httpx2.MockTransport(refuses)) as http,
        SoraClient(settings, http_client=http) as client,
    ):
        with pytest.raises(BadRequestError):
            await client.generate_video("x", **SMALL)
    assert seen == ["multipart/form-data"], "a refusal of what the request holds is not sent again"


async def test_a_url_reference_in_a_multipart_create(make_client: Callable[..., SoraClient], wiretap: Wiretap) -> None:
    async with make_client(create_encoding="multipart") as client:
        await client.generate_video("remote", input_reference="https://example.com/frame.png", **SMALL)
    fields = wiretap.sent[0].text_fields()
    assert fields["input_reference"] == '{"image_url": "https://example.com/frame.png"}'


async def test_local_input_checks_send_nothing(client: SoraClient, wiretap: Wiretap, images: Path) -> None:
    for call, refused in (
        (lambda: client.generate_video("p" * 32001, **SMALL), "The prompt is longer than 32000 characters."),
        (lambda: client.generate_video("   ", **SMALL), "The prompt is empty."),
        (lambda: client.edit_video("x"), "Give exactly one of video_id or video_path."),
        (lambda: client.edit_video("x", video_id="v", video_path=images / "a.mp4"), "Give exactly one of"),
        (lambda: client.create_character("", images / "a.mp4"), "A character name has 1 to 80 characters."),
        (lambda: client.create_character("n" * 81, images / "a.mp4"), "A character name has 1 to 80"),
        (lambda: client.generate_video("x", "m", 4, "wide"), "Size 'wide' is not WIDTHxHEIGHT."),
        (lambda: client.generate_video("x", "m", "four", "64x64"), "Duration 'four' is not a whole number"),
    ):
        with pytest.raises(InputError) as stopped:
            await call()
        assert str(stopped.value).startswith(refused)
    assert wiretap.sent == []


def test_settings_split_lists_and_refuse_a_base_url_that_is_not_http(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SORA_MCP_INPUT_ROOTS", f"{tmp_path / 'a'}{os.pathsep}{os.pathsep}{tmp_path / 'b'}")
    monkeypatch.setenv("SORA_MCP_ALLOWED_ORIGINS", " https://a.example, ,https://b.example ")
    settings = Settings()
    assert settings.input_roots == [tmp_path / "a", tmp_path / "b"]
    assert settings.allowed_origins == ["https://a.example", "https://b.example"]
    with pytest.raises(ValidationError) as refused:
        Settings(base_url="ftp://videos.example/v1")
    assert "base URL 'ftp://videos.example/v1' must start with http:// or https://" in str(refused.value)

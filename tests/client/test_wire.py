"""What the client puts on the wire: body shapes (multipart as the official SDK sends it, JSON when
the body holds objects), headers per auth style, query parameters. Requests reach the real
emulator; the wiretap only records them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote

import httpx2
import pytest

from sora_mcp import AuthenticationError, ImageReference, InputError, NotFoundError, Settings, SoraClient, __version__
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

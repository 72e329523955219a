"""Every tool's happy path and its actionable errors, in-process, in both protocol eras."""

from __future__ import annotations

import base64
import io
import json
import os
from pathlib import Path

import anyio
import av
import httpx2
import pytest
from mcp import Client, MCPError
from mcp.types import (
    BlobResourceContents,
    ImageContent,
    PromptReference,
    ResourceLink,
    ResourceTemplateReference,
    TextContent,
    TextResourceContents,
)
from PIL import Image

from sora_mcp import Settings
from sora_mcp.emulator import Emulator, EmulatorConfig, FakeClock, Fault
from sora_mcp.server import create_server
from tests.conftest import TEST_KEY
from tests.server.conftest import APP_TOOL_NAMES, SMALL, error_text, structured

pytestmark = pytest.mark.anyio


async def _generate(client: Client, **extra: object) -> str:
    result = await client.call_tool("generate_video", {"prompt": "a red kite over the sea", **SMALL, **extra})
    data = structured(result)
    assert data["status"] == "queued"
    return str(data["id"])


async def _complete(client: Client, video_id: str) -> dict[str, object]:
    with anyio.fail_after(20):
        data = structured(await client.call_tool("wait_for_video", {"video_id": video_id, "timeout_seconds": 15}))
    assert data["status"] == "completed"
    return data


@pytest.mark.full_media
async def test_generate_wait_download_read_delete(mcp_client: Client, settings: Settings) -> None:
    video_id = await _generate(mcp_client)
    reported: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reported.append(progress)

    with anyio.fail_after(20):
        waited = await mcp_client.call_tool(
            "wait_for_video", {"video_id": video_id, "timeout_seconds": 15}, progress_callback=on_progress
        )
    info = structured(waited)
    assert info["done"] is True and info["timed_out"] is False and info["status"] == "completed"
    assert reported and reported[-1] == 100.0
    assert reported == sorted(set(reported)), "progress must strictly increase"

    result = await mcp_client.call_tool("download_video", {"video_id": video_id})
    download = structured(result)
    path = Path(str(download["path"]))
    assert path.parent == settings.output_dir and path.name == f"{video_id}.mp4"
    assert download["mime_type"] == "video/mp4" and download["bytes"] == path.stat().st_size
    [link] = [block for block in result.content if isinstance(block, ResourceLink)]
    assert str(link.uri) == f"sora://videos/{video_id}/video" and link.mime_type == "video/mp4"
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (160, 96)

    blob = (await mcp_client.read_resource(str(link.uri))).contents[0]
    assert isinstance(blob, BlobResourceContents) and blob.mime_type == "video/mp4"
    assert base64.b64decode(blob.blob) == path.read_bytes()

    metadata = (await mcp_client.read_resource(f"sora://videos/{video_id}/metadata")).contents[0]
    assert isinstance(metadata, TextResourceContents) and video_id in metadata.text

    deleted = structured(await mcp_client.call_tool("delete_video", {"video_id": video_id, "delete_local_files": True}))
    assert deleted["deleted"] is True and str(path) in deleted["local_files_removed"]
    assert not path.exists()
    status = await mcp_client.call_tool("get_video_status", {"video_id": video_id})
    assert f"The server answered 404: Video with id '{video_id}' not found." in error_text(status)


async def test_thumbnail_and_spritesheet_are_shown_inline(mcp_client: Client) -> None:
    video_id = await _generate(mcp_client)
    await _complete(mcp_client, video_id)
    for variant, mime in (("thumbnail", "image/webp"), ("spritesheet", "image/jpeg")):
        result = await mcp_client.call_tool("download_video", {"video_id": video_id, "variant": variant})
        assert structured(result)["mime_type"] == mime
        [image] = [block for block in result.content if isinstance(block, ImageContent)]
        assert image.mime_type == mime
        Image.open(io.BytesIO(base64.b64decode(image.data))).verify()


@pytest.mark.parametrize(
    "emulator_config", [EmulatorConfig(strict_spec=True, render_seconds=0, queue_seconds=0, poll_after_ms=10)]
)
async def test_an_image_in_another_format_is_kept_listed_and_served_as_it_is(
    mcp_client: Client, settings: Settings
) -> None:
    """A strict-spec server sends the spritesheet as WebP, not JPEG: the file, the result, the
    listing, the metadata and the resource all say WebP, and nothing is listed twice."""
    video_id = await _generate(mcp_client, size="1280x720", seconds=4)
    await _complete(mcp_client, video_id)
    settings.output_dir.mkdir(parents=True)
    (settings.output_dir / f"{video_id}.spritesheet.jpg").write_bytes(b"an older copy")
    saved = structured(await mcp_client.call_tool("download_video", {"video_id": video_id, "variant": "spritesheet"}))
    assert saved["path"].endswith(".spritesheet.webp") and saved["mime_type"] == "image/webp"
    listed = [r for r in (await mcp_client.list_resources()).resources if r.uri.endswith("/spritesheet")]
    assert [(r.name, r.mime_type) for r in listed] == [(f"{video_id}.spritesheet.webp", "image/webp")]
    read = (await mcp_client.read_resource(saved["resource_uri"])).contents[0]
    assert isinstance(read, BlobResourceContents) and read.mime_type == "image/webp"
    Image.open(io.BytesIO(base64.b64decode(read.blob))).verify()
    metadata = (await mcp_client.read_resource(saved["metadata_uri"])).contents[0]
    assert isinstance(metadata, TextResourceContents)
    assert json.loads(metadata.text)["files"] == {"spritesheet": f"{video_id}.spritesheet.webp"}


async def test_resources_list_is_the_output_directory(mcp_client: Client, settings: Settings) -> None:
    video_id = await _generate(mcp_client)
    await _complete(mcp_client, video_id)
    await mcp_client.call_tool("download_video", {"video_id": video_id, "variant": "thumbnail"})
    listed = {str(r.uri): r for r in (await mcp_client.list_resources()).resources}
    assert f"sora://videos/{video_id}/thumbnail" in listed
    assert f"sora://videos/{video_id}/metadata" in listed
    assert listed[f"sora://videos/{video_id}/thumbnail"].mime_type == "image/webp"
    # a partial download left by a crash is never listed
    (settings.output_dir / f".{video_id}.mp4.abc.part").write_bytes(b"partial")
    uris = {str(r.uri) for r in (await mcp_client.list_resources()).resources}
    assert f"sora://videos/{video_id}/video" not in uris


async def test_resources_survive_a_restart(
    settings: Settings, http_client: httpx2.AsyncClient, emulator: Emulator
) -> None:
    async with Client(create_server(settings, http_client=http_client)) as first:
        video_id = await _generate(first)
        await _complete(first, video_id)
        await first.call_tool("download_video", {"video_id": video_id})
    async with Client(create_server(settings, http_client=http_client)) as second:
        uris = {str(r.uri) for r in (await second.list_resources()).resources}
        assert f"sora://videos/{video_id}/video" in uris
        contents = (await second.read_resource(f"sora://videos/{video_id}/video")).contents[0]
        assert isinstance(contents, BlobResourceContents)


async def test_resource_templates_and_prompt(mcp_client: Client) -> None:
    templates = {t.uri_template: t.mime_type for t in (await mcp_client.list_resource_templates()).resource_templates}
    assert templates == {
        "sora://videos/{video_id}/video": "video/mp4",
        "sora://videos/{video_id}/thumbnail": "image/webp",
        "sora://videos/{video_id}/spritesheet": "image/jpeg",
        "sora://videos/{video_id}/metadata": "application/json",
    }
    prompts = {p.name for p in (await mcp_client.list_prompts()).prompts}
    assert prompts == {"write_video_prompt"}
    got = await mcp_client.get_prompt("write_video_prompt", {"idea": "a fox in snow", "orientation": "landscape"})
    content = got.messages[0].content
    assert isinstance(content, TextContent)
    text = content.text
    assert "a fox in snow" in text and "1280x720" in text and "Camera" in text


async def test_argument_completion(mcp_client: Client) -> None:
    """Resource templates complete to the ids downloaded locally (for that asset); the prompt's
    arguments, which carry no schema, complete to their allowed values."""
    assert mcp_client.server_capabilities.completions is not None
    video_id = await _generate(mcp_client)
    await _complete(mcp_client, video_id)
    await mcp_client.call_tool("download_video", {"video_id": video_id, "variant": "thumbnail"})

    async def template(kind: str, value: str) -> list[str]:
        ref = ResourceTemplateReference(type="ref/resource", uri=f"sora://videos/{{video_id}}/{kind}")
        return (await mcp_client.complete(ref, {"name": "video_id", "value": value})).completion.values

    assert await template("thumbnail", "video_") == [video_id]
    assert await template("thumbnail", "video_zzz") == []
    assert await template("video", "") == [], "no MP4 of it was downloaded"

    async def prompt(name: str, value: str) -> list[str]:
        ref = PromptReference(type="ref/prompt", name="write_video_prompt")
        return (await mcp_client.complete(ref, {"name": name, "value": value})).completion.values

    assert await prompt("orientation", "") == ["portrait", "landscape"]
    assert await prompt("duration_seconds", "1") == ["12", "16"]
    assert await prompt("idea", "a") == []


async def test_list_videos_pages(mcp_client: Client) -> None:
    ids = [await _generate(mcp_client, new_job=True) for _ in range(3)]  # three jobs, not one reused
    first = structured(await mcp_client.call_tool("list_videos", {"limit": 2}))
    assert [v["id"] for v in first["videos"]] == ids[::-1][:2]
    assert first["has_more"] is True and first["next_after"] == ids[1]
    second = structured(await mcp_client.call_tool("list_videos", {"limit": 2, "after": first["next_after"]}))
    assert [v["id"] for v in second["videos"]] == [ids[0]] and second["has_more"] is False
    oldest = structured(await mcp_client.call_tool("list_videos", {"limit": 1, "order": "asc"}))
    assert oldest["videos"][0]["id"] == ids[0]


@pytest.mark.parametrize(
    "emulator_config", [EmulatorConfig(render_seconds=1.0, queue_seconds=0.0, poll_after_ms=10, media="fast")]
)
@pytest.mark.parametrize("emulator_clock", [FakeClock()])  # the job stays in_progress until advanced
async def test_remix(mcp_client: Client, emulator_clock: FakeClock) -> None:
    video_id = await _generate(mcp_client)
    not_ready = await mcp_client.call_tool("remix_video", {"video_id": video_id, "prompt": "at night"})
    assert f"Video '{video_id}' is in_progress; only completed videos can be remixed." in error_text(not_ready)
    emulator_clock.advance(1)
    await _complete(mcp_client, video_id)
    remix = structured(await mcp_client.call_tool("remix_video", {"video_id": video_id, "prompt": "at night"}))
    assert remix["remixed_from_video_id"] == video_id and remix["id"] != video_id


async def test_estimated_cost_for_known_models(mcp_client: Client) -> None:
    result = await mcp_client.call_tool(
        "generate_video", {"prompt": "a lighthouse", "model": "sora-2-pro", "size": "1792x1024", "seconds": 8}
    )
    assert structured(result)["estimated_cost_usd"] == pytest.approx(4.0)


# --- errors the user or the model can act on -------------------------------------------------------


async def test_unknown_and_malformed_ids_are_tool_errors(mcp_client: Client) -> None:
    unknown = "video_" + "0" * 48
    missing = error_text(await mcp_client.call_tool("get_video_status", {"video_id": unknown}))
    assert missing == (
        f"Error executing tool get_video_status: The server answered 404: Video with id '{unknown}' not found. "
        "Check the id (list_videos shows the ones that exist); deleted videos are gone for good."
    )
    for path_like in ("../../etc/passwd", "a/b"):  # opaque: sent (encoded), and the server does not know it
        text = error_text(await mcp_client.call_tool("get_video_status", {"video_id": path_like}))
        assert "The server answered 404" in text and "Check the id (list_videos shows" in text, text
    control = error_text(await mcp_client.call_tool("get_video_status", {"video_id": "x\x00y"}))
    assert "'x?y' is not a video id: ids are 1 to 2048 printable characters." in control
    empty = error_text(await mcp_client.call_tool("get_video_status", {"video_id": ""}))
    assert "video_id\n  String should have at least 1 character" in empty


async def test_wait_returns_last_status_on_timeout(settings: Settings, era: str) -> None:
    emulator = Emulator(EmulatorConfig(render_seconds=60.0, queue_seconds=0.0, poll_after_ms=10))
    async with (
        httpx2.AsyncClient(transport=httpx2.ASGITransport(app=emulator.app)) as http,
        Client(create_server(settings, http_client=http), mode=era) as client,
    ):
        video_id = await _generate(client)
        with anyio.fail_after(10):
            result = await client.call_tool("wait_for_video", {"video_id": video_id, "timeout_seconds": 0.3})
        data = structured(result)
        assert data["timed_out"] is True and data["done"] is False
        assert data["status"] in ("queued", "in_progress")
        assert "wait_for_video again" in data["next_step"]


async def test_failed_job_is_an_actionable_error(mcp_client: Client, emulator: Emulator) -> None:
    emulator.faults.add(Fault(kind="fail_job", error_code="moderation_blocked", error_message="Blocked."))
    video_id = await _generate(mcp_client)
    with anyio.fail_after(20):
        text = error_text(await mcp_client.call_tool("wait_for_video", {"video_id": video_id, "timeout_seconds": 15}))
    assert "moderation_blocked" in text and "rephrase" in text
    status = structured(await mcp_client.call_tool("get_video_status", {"video_id": video_id}))
    assert status["error"] == {"code": "moderation_blocked", "message": "Blocked."}
    assert status["next_step"] == (
        "This job ended failed and cannot be resumed: if the error says why, adjust the prompt and start a new "
        "job with generate_video."
    )


async def test_rate_limit_is_an_actionable_error(mcp_client: Client, emulator: Emulator) -> None:
    emulator.faults.add(Fault(kind="status", status=429, method="POST", path="/videos", retry_after="30"))
    text = error_text(await mcp_client.call_tool("generate_video", {"prompt": "a cat", **SMALL}))
    assert "The server answered 429: " in text and "Rate limited or out of quota: wait 30s and try again" in text
    assert emulator.stats.count("POST", "/videos") == 1, "a create is never retried"


async def test_expired_assets(mcp_client: Client, emulator: Emulator) -> None:
    video_id = await _generate(mcp_client)
    await _complete(mcp_client, video_id)
    emulator.expire_assets(video_id)
    text = error_text(await mcp_client.call_tool("download_video", {"video_id": video_id}))
    assert f"The server answered 404: The assets of video '{video_id}' have expired." in text
    assert "Assets expire about an hour after a video completes: generate it again" in text


async def test_retired_model_explains_the_shutdown(settings: Settings, era: str) -> None:
    emulator = Emulator(EmulatorConfig(render_seconds=0.0, queue_seconds=0.0, retired_models=frozenset({"sora-2"})))
    async with (
        httpx2.AsyncClient(transport=httpx2.ASGITransport(app=emulator.app)) as http,
        Client(create_server(settings, http_client=http), mode=era) as client,
    ):
        result = await client.call_tool("generate_video", {"prompt": "a cat", "model": "sora-2"})
        text = error_text(result)
    assert "2026-09-24" in text and "OPENAI_BASE_URL" in text


async def test_missing_key_says_how_to_fix_it(
    settings: Settings, http_client: httpx2.AsyncClient, emulator: Emulator, era: str
) -> None:
    keyless = settings.model_copy(update={"api_key": None})
    async with Client(create_server(keyless, http_client=http_client), mode=era) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        assert "generate_video" in tools, "the server starts without a key"
        text = error_text(await client.call_tool("generate_video", {"prompt": "a cat"}))
    assert "OPENAI_API_KEY" in text and "--backend emulator" in text
    assert emulator.stats.count("POST", "/videos") == 0


async def test_reference_image_outside_roots_is_refused(mcp_client: Client, emulator: Emulator) -> None:
    text = error_text(
        await mcp_client.call_tool("generate_video", {"prompt": "x", **SMALL, "input_reference": "/etc/passwd"})
    )
    assert "SORA_MCP_INPUT_ROOTS" in text
    assert emulator.stats.count("POST", "/videos") == 0


async def test_reference_image_size_mismatch_and_fit(mcp_client: Client, settings: Settings) -> None:
    image = settings.input_roots[0] / "frame.png"
    Image.new("RGB", (300, 200), "teal").save(image)
    args = {"prompt": "a teal sky", **SMALL, "input_reference": str(image)}
    text = error_text(await mcp_client.call_tool("generate_video", args))
    assert "The image is 300x200 but the video is 160x96;" in text and "pass fit='crop'" in text
    for fit in ("crop", "pad"):
        assert structured(await mcp_client.call_tool("generate_video", {**args, "fit_reference": fit}))["id"]


async def test_bad_arguments_are_tool_errors(mcp_client: Client) -> None:
    for args, refusal in (
        ({"prompt": ""}, "prompt\n  String should have at least 1 character"),
        ({"prompt": "x", "seconds": -4}, "seconds\n  Input should be greater than or equal to 1"),
        ({"prompt": "x", "size": "big"}, "size\n  String should match pattern"),
        ({"prompt": 12}, "prompt\n  Input should be a valid string"),
        ({"prompt": "x", "fit_reference": "stretch"}, "fit_reference\n  Input should be 'none', 'crop' or 'pad'"),
    ):
        text = error_text(await mcp_client.call_tool("generate_video", args))
        assert text.startswith("Error executing tool generate_video: 1 validation error for") and refusal in text


async def test_read_only_mode_leaves_out_spending_tools(
    settings: Settings, http_client: httpx2.AsyncClient, era: str
) -> None:
    server = create_server(settings.model_copy(update={"read_only": True}), http_client=http_client)
    async with Client(server, mode=era) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
    assert tools == {"get_video_status", "wait_for_video", "list_videos", "download_video", *APP_TOOL_NAMES}


async def test_the_key_never_appears_in_results(mcp_client: Client, emulator: Emulator) -> None:
    video_id = await _generate(mcp_client)
    await _complete(mcp_client, video_id)
    await mcp_client.call_tool("download_video", {"video_id": video_id, "variant": "thumbnail"})
    for resource in (await mcp_client.list_resources()).resources:
        contents = (await mcp_client.read_resource(str(resource.uri))).contents[0]
        assert TEST_KEY not in contents.model_dump_json()
    emulator.faults.add(Fault(kind="status", status=500, times=None))
    results = [
        await mcp_client.call_tool("generate_video", {"prompt": "x", **SMALL}),
        await mcp_client.call_tool("get_video_status", {"video_id": "video_abc"}),
        await mcp_client.call_tool("list_videos", {}),
    ]
    for result in results:
        assert "The server answered 500: " in error_text(result)
        assert TEST_KEY not in result.model_dump_json()


# --- the output directory holds only what the library wrote ----------------------------------------------


async def test_what_is_planted_in_the_output_directory_is_never_a_resource(
    mcp_client: Client, settings: Settings
) -> None:
    """Files whose names the library could not have written, digest-named files without the metadata
    that makes them a video's (or with metadata naming another id, or unreadable), folders and links:
    none is listed or served. Of two formats of one asset, only the newer is."""
    out = settings.output_dir
    out.mkdir(parents=True)
    (out / "notes.txt").write_text("mine")
    lonely, garbled, foreign = ("id-" + digit * 32 for digit in "012")
    (out / f"{lonely}.mp4").write_bytes(b"planted")
    for stem, metadata in ((garbled, "not json"), (foreign, json.dumps({"id": "someone else's"}))):
        (out / f"{stem}.mp4").write_bytes(b"planted")
        (out / f"{stem}.json").write_text(metadata)
    (out / "video_dir.mp4").mkdir()
    (out / "video_link.thumbnail.webp").symlink_to(out / "notes.txt")
    (out / "video_two.spritesheet.jpg").write_bytes(b"older")
    os.utime(out / "video_two.spritesheet.jpg", (1, 1))
    (out / "video_two.spritesheet.webp").write_bytes(b"newer")

    resources = (await mcp_client.list_resources()).resources
    listed = [(str(r.uri), r.name, r.mime_type) for r in resources if str(r.uri).startswith("sora:")]
    assert listed == [("sora://videos/video_two/spritesheet", "video_two.spritesheet.webp", "image/webp")]
    for uri in (f"sora://videos/{lonely}/video", "sora://videos/video_dir/video", "sora://videos/%ff/video"):
        with pytest.raises(MCPError):
            await mcp_client.read_resource(uri)
    with pytest.raises(MCPError) as missing:
        await mcp_client.read_resource("sora://videos/video_link/thumbnail")
    assert "Call download_video with video_id='video_link' and variant='thumbnail' first." in str(missing.value)


async def test_a_resource_too_large_for_one_read_is_refused_by_path(mcp_client: Client, settings: Settings) -> None:
    settings.output_dir.mkdir(parents=True)
    big = settings.output_dir / "video_big.mp4"
    with big.open("wb") as handle:
        handle.truncate(16 * 1024 * 1024 + 1)  # sparse: costs no disk
    with pytest.raises(MCPError) as refused:
        await mcp_client.read_resource("sora://videos/video_big/video")
    assert f"{big} is 16,777,217 bytes, more than the 16,777,216 one resource read may return." in str(refused.value)
    assert "Open the file at that path, or read it in chunks with the read_asset_chunk tool." in str(refused.value)


async def test_completion_of_what_it_does_not_know_is_empty(mcp_client: Client) -> None:
    unknown = ResourceTemplateReference(type="ref/resource", uri="sora://videos/{video_id}/poster")
    assert (await mcp_client.complete(unknown, {"name": "video_id", "value": ""})).completion.values == []
    other = PromptReference(type="ref/prompt", name="another_prompt")
    assert (await mcp_client.complete(other, {"name": "idea", "value": "a"})).completion.values == []

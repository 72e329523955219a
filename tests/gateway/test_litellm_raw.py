"""What a real LiteLLM proxy (pinned, see litellm_proxy.py) does to /v1/videos, seen with plain HTTP.

These pin the facts our client has to cope with (opaque 266-character ids, thumbnails served as MP4, list and
delete unavailable, wrapped errors...), so that a LiteLLM upgrade that changes any of them fails here, loudly,
instead of surprising a user. One emulator and one proxy serve the whole module: a proxy start costs 7-25 s.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client

from sora_mcp import Settings
from sora_mcp.server import create_server
from tests.server.conftest import error_text, structured

from .litellm_proxy import LITELLM_VERSION
from .session import UPSTREAM_KEY, Gateway

# `video_` + standard base64 (alphabet with `+` and `/`, `=` padding) of this; the deployment id is a sha256 (hex) of
# the deployment's parameters, so it changes with the emulator's port. Base64 of ASCII only yields `+` or `/` from
# the bytes `>`, `?`, `~` and DEL, so with hex upstream ids (the emulator's, OpenAI's) only `=` shows up.
ID_ALPHABET = re.compile(r"video_[A-Za-z0-9+/]+={0,2}")
DECODED_ID = re.compile(
    r"litellm:custom_llm_provider:openai;model_id:sora-2;video_id:(?P<upstream>video_[0-9a-f]+)"
    r";deployment_id:(?P<deployment>[0-9a-f]{64})"
)
VIDEO_KEYS = {
    "id",
    "object",
    "status",
    "created_at",
    "completed_at",
    "expires_at",
    "error",
    "progress",
    "remixed_from_video_id",
    "seconds",
    "size",
    "model",
    "usage",
}


_COMPLETED: list[dict[str, Any]] = []


@pytest.fixture
async def completed(gateway: Gateway) -> dict[str, Any]:
    """A video made through the proxy, completed: made once, by the first test that needs it, then shared."""
    if not _COMPLETED:
        async with client(gateway.proxy.base_url, gateway.proxy.master_key) as http:
            video = await wait_completed(http, (await create(http, prompt="a lighthouse", size="1280x720"))["id"])
        assert video["status"] == "completed", video
        _COMPLETED.append(video)
    return _COMPLETED[0]


def client(base_url: str, key: str) -> httpx2.AsyncClient:
    # trust_env=False: everything here is on loopback, whatever proxies the environment names.
    return httpx2.AsyncClient(
        base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=60, trust_env=False
    )


@pytest.fixture
async def proxy(gateway: Gateway) -> AsyncIterator[httpx2.AsyncClient]:
    """Plain HTTP to the proxy as a client would, with the proxy's master key."""
    async with client(gateway.proxy.base_url, gateway.proxy.master_key) as http:
        yield http


@pytest.fixture
async def upstream(gateway: Gateway) -> AsyncIterator[httpx2.AsyncClient]:
    """Plain HTTP straight to the emulator, to compare with what the proxy made of it."""
    async with client(gateway.upstream_url, UPSTREAM_KEY) as http:
        yield http


def decode_id(video_id: str) -> re.Match[str]:
    assert ID_ALPHABET.fullmatch(video_id), video_id
    try:
        payload = base64.b64decode(video_id.removeprefix("video_"), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        pytest.fail(f"{video_id!r} is not standard base64 after video_: {exc}")
    match = DECODED_ID.fullmatch(payload)
    assert match, payload
    return match


def multipart(fields: dict[str, str]) -> dict[str, tuple[None, str]]:
    """Plain fields sent as multipart/form-data (httpx sends `data=` alone urlencoded)."""
    return {name: (None, value) for name, value in fields.items()}


async def create(proxy: httpx2.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await proxy.post("/videos", json={"model": "sora-2", "prompt": "a red fox in snow", **fields})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def wait_completed(proxy: httpx2.AsyncClient, video_id: str) -> dict[str, Any]:
    with anyio.fail_after(30):
        while True:
            response = await proxy.get(f"/videos/{video_id}")
            assert response.status_code == 200, response.text
            video: dict[str, Any] = response.json()
            if video["status"] not in ("queued", "in_progress"):
                return video
            # Polling a job is how this API works; the proxy drops openai-poll-after-ms, so pick our own pace.
            await anyio.sleep(0.2)


# -- ids and resources -----------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_json_create_answers_a_long_base64_id_holding_the_upstream_id(
    gateway: Gateway, proxy: httpx2.AsyncClient, upstream: httpx2.AsyncClient
) -> None:
    response = await proxy.post(
        "/videos", json={"model": "sora-2", "prompt": "a red fox in snow", "seconds": "4", "size": "720x1280"}
    )

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-litellm-version"] == LITELLM_VERSION == gateway.proxy.version
    assert response.headers["x-litellm-model-group"] == "sora-2"
    assert response.headers["x-litellm-model-name"] == "openai/sora-2"
    video = response.json()
    assert len(video["id"]) == 266  # with the emulator's 54-character ids, as with OpenAI's
    assert decode_id(video["id"])["deployment"] == response.headers["x-litellm-model-id"]
    # LiteLLM re-serializes its own VideoObject: `prompt` is gone (absent, not null), `usage` is new.
    assert set(video) == VIDEO_KEYS
    assert video["usage"] == {"duration_seconds": 4.0}
    assert (video["object"], video["status"], video["model"]) == ("video", "queued", "sora-2")
    assert (video["seconds"], video["size"]) == ("4", "720x1280")
    # The decoded id names the upstream's own video: the emulator knows it, with the prompt the proxy dropped.
    behind = await upstream.get(f"/videos/{decode_id(video['id'])['upstream']}")
    assert behind.status_code == 200
    assert behind.json()["prompt"] == "a red fox in snow"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        pytest.param({"seconds": 8, "size": "1280x720"}, ("8", "1280x720"), id="json-int-seconds"),
        pytest.param({"seconds": "4"}, ("4", "720x1280"), id="json-default-size"),
    ],
)
async def test_json_create_passes_seconds_and_size(
    proxy: httpx2.AsyncClient, fields: dict[str, Any], expected: tuple[str, str]
) -> None:
    # An integer `seconds` is turned into the string the API wants before it goes upstream.
    video = await create(proxy, **fields)
    decode_id(video["id"])
    assert (video["seconds"], video["size"]) == expected
    assert video["usage"] == {"duration_seconds": float(expected[0])}


@pytest.mark.anyio
async def test_multipart_create_works_like_json(proxy: httpx2.AsyncClient) -> None:
    fields = {"model": "sora-2", "prompt": "a blue whale", "seconds": "4", "size": "1280x720"}

    response = await proxy.post("/videos", files=multipart(fields))

    assert response.request.headers["content-type"].startswith("multipart/form-data")
    assert response.status_code == 200, response.text
    video = response.json()
    decode_id(video["id"])
    assert (video["seconds"], video["size"], video["status"]) == ("4", "1280x720", "queued")


@pytest.mark.anyio
async def test_retrieve_keeps_the_encoded_id_and_drops_poll_after(
    proxy: httpx2.AsyncClient, upstream: httpx2.AsyncClient
) -> None:
    video = await create(proxy)
    upstream_id = decode_id(video["id"])["upstream"]

    direct = await upstream.get(f"/videos/{upstream_id}")
    through = await proxy.get(f"/videos/{video['id']}")

    assert direct.json()["status"] in ("queued", "in_progress")
    assert direct.headers["openai-poll-after-ms"] == "100"
    assert through.status_code == 200
    assert through.json()["status"] in ("queued", "in_progress")
    assert "openai-poll-after-ms" not in through.headers
    assert not any("poll-after" in name for name in through.headers)
    assert through.json()["id"] == video["id"]
    assert through.json()["usage"] is None  # only create and remix fill it in


@pytest.mark.anyio
async def test_completed_video_reads_back_with_the_same_id(
    proxy: httpx2.AsyncClient, completed: dict[str, Any]
) -> None:
    response = await proxy.get(f"/videos/{completed['id']}")

    assert response.status_code == 200
    video = response.json()
    assert video["id"] == completed["id"]
    assert (video["status"], video["progress"]) == ("completed", 100)
    assert set(video) == VIDEO_KEYS


# -- content ---------------------------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("variant", [None, "video", "thumbnail", "spritesheet"])
async def test_content_is_always_the_mp4_whatever_the_variant(
    proxy: httpx2.AsyncClient, upstream: httpx2.AsyncClient, completed: dict[str, Any], variant: str | None
) -> None:
    params = {"variant": variant} if variant else {}
    upstream_id = decode_id(completed["id"])["upstream"]

    response = await proxy.get(f"/videos/{completed['id']}/content", params=params)
    mp4 = await upstream.get(f"/videos/{upstream_id}/content")

    assert response.status_code == 200
    assert response.headers["content-type"] == "video/mp4"
    # `filename=video_` + the whole encoded id, unquoted even though it holds `=`.
    assert response.headers["content-disposition"] == f"attachment; filename=video_{completed['id']}.mp4"
    assert response.content[4:8] == b"ftyp"
    assert response.content == mp4.content


@pytest.mark.anyio
async def test_the_upstream_does_serve_other_variants(upstream: httpx2.AsyncClient, completed: dict[str, Any]) -> None:
    # So the MP4 above is LiteLLM's doing (its content route never forwards `variant`), not the emulator's.
    upstream_id = decode_id(completed["id"])["upstream"]

    thumbnail = await upstream.get(f"/videos/{upstream_id}/content", params={"variant": "thumbnail"})

    assert thumbnail.status_code == 200
    assert thumbnail.headers["content-type"] == "image/webp"


# -- remix, list, delete ---------------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("encoding", ["json", "multipart"])
async def test_remix_works_and_names_its_source_by_the_raw_upstream_id(
    proxy: httpx2.AsyncClient, completed: dict[str, Any], encoding: str
) -> None:
    prompt = {"prompt": f"the same lighthouse, in fog ({encoding})"}
    url = f"/videos/{completed['id']}/remix"

    response = await (proxy.post(url, json=prompt) if encoding == "json" else proxy.post(url, files=multipart(prompt)))

    assert response.status_code == 200, response.text
    remix = response.json()
    source = decode_id(completed["id"])
    remixed = decode_id(remix["id"])
    assert remixed["upstream"] != source["upstream"]
    assert remixed["deployment"] == source["deployment"]
    # Not the id the client knows the source by: the upstream's own.
    assert remix["remixed_from_video_id"] == source["upstream"]
    assert (remix["status"], remix["seconds"], remix["size"]) == ("queued", "4", "1280x720")
    assert remix["usage"] == {"duration_seconds": 4.0}


@pytest.mark.anyio
async def test_list_is_a_400(proxy: httpx2.AsyncClient) -> None:
    # The list route routes by model, and a list request names none.
    response = await proxy.get("/videos")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"].startswith("litellm.BadRequestError: LLM Provider NOT provided.")
    assert (error["type"], error["code"]) == ("invalid_request_error", "400")


@pytest.mark.anyio
async def test_delete_is_a_405_and_the_video_stays(
    proxy: httpx2.AsyncClient, upstream: httpx2.AsyncClient, completed: dict[str, Any]
) -> None:
    response = await proxy.delete(f"/videos/{completed['id']}")

    assert response.status_code == 405
    assert response.headers["allow"] == "GET"
    assert response.json() == {"detail": "Method Not Allowed"}
    assert (await upstream.get(f"/videos/{decode_id(completed['id'])['upstream']}")).status_code == 200


# -- errors ----------------------------------------------------------------------------------------------------


def wrapped(response: httpx2.Response, status: int) -> dict[str, Any]:
    """The upstream's error envelope as LiteLLM passes it on: status kept, body turned into a message."""
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["message"].startswith("litellm.BadRequestError: OpenAIException - {")
    assert error["message"].endswith(
        "}\n\nLiteLLM: model group 'sora-2' failed with the error above. No fallback was attempted."
    )
    # `BadRequestError` whatever the status; the upstream's `param` and `code` are lost, `code` is the status.
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", None, str(status))
    # The upstream's headers come along under a prefix.
    assert response.headers["llm_provider-content-type"] == "application/json"
    assert response.headers["request-id"].startswith("req_")
    return error


@pytest.mark.anyio
async def test_upstream_400_is_wrapped(proxy: httpx2.AsyncClient) -> None:
    response = await proxy.post("/videos", json={"model": "sora-2", "prompt": "x", "size": "999x999"})

    error = wrapped(response, 400)
    assert "Invalid 'size' for sora-2" in error["message"]


@pytest.mark.anyio
async def test_content_of_a_pending_video_is_a_wrapped_400(proxy: httpx2.AsyncClient) -> None:
    video = await create(proxy)

    response = await proxy.get(f"/videos/{video['id']}/content")

    error = wrapped(response, 400)
    assert "content is available once it is completed" in error["message"]


@pytest.mark.anyio
async def test_unknown_upstream_id_in_a_litellm_id_is_a_wrapped_404(proxy: httpx2.AsyncClient) -> None:
    payload = "litellm:custom_llm_provider:openai;model_id:sora-2;video_id:video_0000"
    forged = "video_" + base64.b64encode(payload.encode()).decode()

    for path in (f"/videos/{forged}", f"/videos/{forged}/content"):
        error = wrapped(await proxy.get(path), 404)
        assert "Video with id 'video_0000' not found." in error["message"]


@pytest.mark.anyio
async def test_an_id_holding_a_slash_does_not_route(proxy: httpx2.AsyncClient) -> None:
    # Possible only with `>`, `?` or `~` in what LiteLLM encodes (see ID_ALPHABET); percent-encoding does not help,
    # the proxy's router matches the decoded path.
    payload = "litellm:custom_llm_provider:openai;model_id:sora-2;video_id:video_ab?"
    forged = "video_" + base64.b64encode(payload.encode()).decode()
    assert forged.endswith("/")

    for video_id in (forged, forged.replace("/", "%2F")):
        retrieve = await proxy.get(f"/videos/{video_id}")
        content = await proxy.get(f"/videos/{video_id}/content")

        # The `/` is last here, so the router's trailing-slash redirect kicks in: to the id without it.
        assert retrieve.status_code == 307
        assert retrieve.headers["location"].endswith(forged.removesuffix("/"))
        assert content.status_code == 404
        assert content.json() == {"detail": "Not Found"}


@pytest.mark.anyio
async def test_id_not_minted_by_litellm_goes_to_openai_and_is_a_500(proxy: httpx2.AsyncClient) -> None:
    # An id it cannot decode carries no model, so LiteLLM asks its default, https://api.openai.com/v1; the
    # fixture sends that to a dead loopback port, whose refusal becomes this 500.
    response = await proxy.get("/videos/video_0123456789abcdef")

    assert response.status_code == 500
    error = response.json()["error"]
    assert error["message"].startswith("litellm.InternalServerError: InternalServerError: OpenAIException - ")
    assert "Cannot connect to host" in error["message"]
    assert (error["type"], error["code"]) == ("internal_server_error", "500")


@pytest.mark.anyio
async def test_model_and_prompt_are_checked_by_the_proxy(proxy: httpx2.AsyncClient) -> None:
    unknown = await proxy.post("/videos", json={"model": "sora-9", "prompt": "x"})
    no_model = await proxy.post("/videos", json={"prompt": "x"})
    no_prompt = await proxy.post("/videos", json={"model": "sora-2"})

    assert unknown.status_code == no_model.status_code == no_prompt.status_code == 400
    assert unknown.json()["error"]["message"].startswith("/videos: Invalid model name passed in model=sora-9.")
    assert no_model.json()["error"]["message"].startswith("/videos: Invalid model name passed in model=None.")
    assert no_prompt.json()["error"] == {
        "message": "/videos: Missing required parameter: 'prompt'.",
        "type": "invalid_request_error",
        "param": "prompt",
        "code": "400",
    }


# -- auth ------------------------------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    "header",
    [
        pytest.param(("Authorization", "Bearer {key}"), id="authorization-bearer"),
        pytest.param(("x-litellm-api-key", "{key}"), id="x-litellm-api-key"),
        pytest.param(("x-litellm-api-key", "Bearer {key}"), id="x-litellm-api-key-bearer"),
        pytest.param(("api-key", "{key}"), id="api-key"),
        pytest.param(("x-api-key", "{key}"), id="x-api-key"),
        pytest.param(("x-goog-api-key", "{key}"), id="x-goog-api-key"),
        pytest.param(("Ocp-Apim-Subscription-Key", "{key}"), id="ocp-apim-subscription-key"),
    ],
)
async def test_the_master_key_is_accepted_in_several_headers(
    gateway: Gateway, completed: dict[str, Any], header: tuple[str, str]
) -> None:
    name, value = header
    async with httpx2.AsyncClient(base_url=gateway.proxy.base_url, trust_env=False, timeout=60) as http:
        response = await http.get(
            f"/videos/{completed['id']}", headers={name: value.format(key=gateway.proxy.master_key)}
        )

    assert response.status_code == 200, response.text


@pytest.mark.anyio
async def test_a_wrong_key_without_a_database_is_a_400(gateway: Gateway, completed: dict[str, Any]) -> None:
    # Any key but the master key is looked up as a virtual key, in the database there is none of.
    async with httpx2.AsyncClient(base_url=gateway.proxy.base_url, trust_env=False, timeout=60) as http:
        response = await http.get(f"/videos/{completed['id']}", headers={"Authorization": "Bearer sk-wrong"})

    assert response.status_code == 400
    assert response.json() == {
        "error": {"message": "No connected db.", "type": "no_db_connection", "param": None, "code": "400"}
    }


@pytest.mark.anyio
@pytest.mark.parametrize(
    "headers",
    [pytest.param({}, id="no-key"), pytest.param({"Authorization": "{key}"}, id="key-without-bearer")],
)
async def test_a_missing_key_is_a_plain_text_500(
    gateway: Gateway, completed: dict[str, Any], headers: dict[str, str]
) -> None:
    # Its auth error handler imports `prisma`, which the [proxy] extra does not install: the ModuleNotFoundError
    # escapes as Starlette's bare 500.
    sent = {name: value.format(key=gateway.proxy.master_key) for name, value in headers.items()}
    async with httpx2.AsyncClient(base_url=gateway.proxy.base_url, trust_env=False, timeout=60) as http:
        response = await http.get(f"/videos/{completed['id']}", headers=sent)

    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == "Internal Server Error"


# --- sora-mcp's own tools and CLI through the proxy -------------------------------------------------------
# generate, wait, download the video, status and remix work with LiteLLM's 266-character ids; list, delete
# and thumbnails end in errors that say plainly what this server does not offer, and nothing wrong is saved
# under an asset's name. (In this file, not one of its own: one file runs on one xdist worker, so one proxy.)


def _settings(gateway: Gateway, output_dir: Path) -> Settings:
    return Settings(
        api_key=gateway.proxy.master_key,
        base_url=gateway.proxy.base_url,
        model="sora-2",
        output_dir=output_dir,
        input_roots=[output_dir],
        poll_interval=0.2,
    )


@pytest.mark.anyio
async def test_mcp_tools_through_litellm(gateway: Gateway, tmp_path: Path) -> None:
    async with Client(create_server(_settings(gateway, tmp_path))) as client:
        created = structured(
            await client.call_tool("generate_video", {"prompt": "a lighthouse", "size": "720x1280", "seconds": 4})
        )
        video_id = created["id"]
        assert len(video_id) > 200 and video_id.startswith("video_"), "LiteLLM's encoded id"
        assert created["prompt"] == "a lighthouse", "LiteLLM drops the prompt; the request fills it in"
        with anyio.fail_after(60):
            done = structured(await client.call_tool("wait_for_video", {"video_id": video_id, "timeout_seconds": 45}))
        assert done["status"] == "completed"
        status = structured(await client.call_tool("get_video_status", {"video_id": video_id}))
        assert status["id"] == video_id

        saved = structured(await client.call_tool("download_video", {"video_id": video_id}))
        path = Path(saved["path"])
        assert path.read_bytes()[4:8] == b"ftyp" and len(path.name) < 60, "a digest names the file"
        [contents] = (await client.read_resource(saved["resource_uri"])).contents
        assert contents.mime_type == "video/mp4"

        thumbnail = await client.call_tool("download_video", {"video_id": video_id, "variant": "thumbnail"})
        assert "does not serve the thumbnail" in error_text(thumbnail)
        assert not any("thumbnail" in p.name for p in tmp_path.iterdir()), "nothing saved under an asset's name"

        remixed = structured(await client.call_tool("remix_video", {"video_id": video_id, "prompt": "at night"}))
        assert remixed["id"] != video_id and len(remixed["id"]) > 200

        listed = error_text(await client.call_tool("list_videos", {}))
        assert "refused to list videos" in listed and "Fix the request" not in listed
        deleted = error_text(await client.call_tool("delete_video", {"video_id": video_id}))
        assert "does not support deleting videos" in deleted and "Check the request" not in deleted


@pytest.mark.anyio
async def test_cli_through_litellm(gateway: Gateway, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SORA_MCP_", "OPENAI_"))}
    env |= {"OPENAI_API_KEY": gateway.proxy.master_key, "OPENAI_BASE_URL": gateway.proxy.base_url}
    command = [sys.executable, "-m", "sora_mcp", "generate", "a harbour at dawn", "--json", "--wait"]
    with anyio.fail_after(90):
        result = await anyio.run_process([*command, "--download", str(tmp_path)], env=env, check=False)
    assert result.returncode == 0, result.stderr.decode()
    done, download = json.loads(result.stdout)
    assert done["status"] == "completed" and len(done["id"]) > 200
    saved = Path(download["path"])
    assert saved.parent == tmp_path.resolve() and saved.read_bytes()[4:8] == b"ftyp"
    listing = await anyio.run_process([sys.executable, "-m", "sora_mcp", "list"], env=env, check=False)
    assert listing.returncode == 1 and b"refused to list videos" in listing.stderr
    assert b"Traceback" not in listing.stderr

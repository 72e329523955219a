"""Each modelled deviation, seen with plain HTTP as a client sees it: one test per row of docs/dialects.md.
(The LiteLLM rows repeat what tests/gateway observes through a real proxy.)"""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

import httpx2
import pytest

from sora_mcp.emulator import Emulator, FakeClock, Fault
from sora_mcp.emulator._dialects import VLLM_SERVED_MODEL

from .support import KEY, make_emulator

pytestmark = pytest.mark.anyio

BEARER = {"authorization": f"Bearer {KEY}"}


@asynccontextmanager
async def wire(emulator: Emulator, headers: dict[str, str] | None = None) -> AsyncIterator[httpx2.AsyncClient]:
    """Plain HTTP to ``emulator`` at the base URL a user of that server configures."""
    base = "http://emulator.test" + emulator.dialect.base_path
    transport = httpx2.ASGITransport(app=emulator.app)
    async with httpx2.AsyncClient(transport=transport, base_url=base, headers=headers or BEARER) as http:
        yield http


def form(**fields: str) -> dict[str, tuple[None, str]]:
    return {name: (None, value) for name, value in fields.items()}


async def created(http: httpx2.AsyncClient, *, json: bool = False, **fields: str) -> dict[str, Any]:
    body = {"prompt": "a paper boat", **fields}
    response = await (http.post("/videos", json=body) if json else http.post("/videos", files=form(**body)))
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


# -- ids ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "shape"),
    [
        ("openai", r"video_[0-9a-f]{48}"),
        ("azure", r"video_[0-9a-f]{48}"),
        ("litellm", r"video_[A-Za-z0-9+/]{258}=="),
        ("vllm-omni", r"video-1"),
        ("sglang", r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"),
    ],
)
async def test_ids_have_each_servers_shape(name: str, shape: str) -> None:
    emulator = make_emulator(name)
    async with wire(emulator, {"api-key": KEY} if name == "azure" else None) as http:
        fields = {"model": VLLM_SERVED_MODEL} if name == "vllm-omni" else {}
        video = await created(http, json=name == "sglang", **fields)
    assert re.fullmatch(shape, video["id"]), video["id"]


async def test_a_litellm_id_wraps_the_upstream_id_and_deployment() -> None:
    emulator = make_emulator("litellm")
    async with wire(emulator) as http:
        video = await created(http, json=True)
        payload = base64.b64decode(video["id"].removeprefix("video_"), validate=True).decode()
    match = re.fullmatch(
        r"litellm:custom_llm_provider:openai;model_id:sora-2;video_id:(video_[0-9a-f]{48});deployment_id:([0-9a-f]{64})",
        payload,
    )
    assert match and match.group(2) == emulator.deployment
    assert len(video["id"]) == 266


# -- LiteLLM ------------------------------------------------------------------------------------------------------
async def test_litellm_drops_the_prompt_adds_usage_and_no_poll_hint() -> None:
    emulator = make_emulator("litellm", render_seconds=10.0)
    async with wire(emulator) as http:
        video = await created(http, json=True, seconds="8")
        again = await http.get(f"/videos/{quote(video['id'], safe='')}")
    assert "prompt" not in video and video["usage"] == {"duration_seconds": 8.0}
    assert again.json()["usage"] is None and "prompt" not in again.json()
    assert "openai-poll-after-ms" not in again.headers and again.json()["status"] in ("queued", "in_progress")


async def test_litellm_serves_the_mp4_for_every_variant() -> None:
    emulator = make_emulator("litellm")
    async with wire(emulator) as http:
        video_id = (await created(http))["id"]
        for variant in ("thumbnail", "spritesheet"):
            response = await http.get(f"/videos/{quote(video_id, safe='')}/content", params={"variant": variant})
            assert response.headers["content-type"] == "video/mp4" and response.content[4:8] == b"ftyp"
            assert response.headers["content-disposition"] == f"attachment; filename=video_{video_id}.mp4"


async def test_litellm_refuses_list_and_has_no_delete_route() -> None:
    emulator = make_emulator("litellm")
    async with wire(emulator) as http:
        video_id = quote((await created(http))["id"], safe="")
        listed = await http.get("/videos")
        deleted = await http.delete(f"/videos/{video_id}")
        edits = await http.post("/videos/edits", json={"prompt": "x"})
    assert listed.status_code == 400
    assert listed.json()["error"]["message"].startswith("litellm.BadRequestError: LLM Provider NOT provided.")
    assert (listed.json()["error"]["type"], listed.json()["error"]["code"]) == ("invalid_request_error", "400")
    for refused in (deleted, edits):
        assert (refused.status_code, refused.headers["allow"], refused.json()) == (
            405,
            "GET",
            {"detail": "Method Not Allowed"},
        )
    assert len(emulator.store.jobs) == 1


async def test_litellm_remix_names_its_source_by_the_upstream_id() -> None:
    emulator = make_emulator("litellm")
    async with wire(emulator) as http:
        source = (await created(http))["id"]
        remix = (await http.post(f"/videos/{quote(source, safe='')}/remix", json={"prompt": "at dusk"})).json()
    upstream = emulator.dialect.upstream_id(source)
    assert remix["remixed_from_video_id"] == upstream != source and upstream.startswith("video_")
    assert emulator.dialect.upstream_id(remix["id"]) != upstream


async def test_litellm_wraps_upstream_errors_and_cannot_route_foreign_ids() -> None:
    emulator = make_emulator("litellm", render_seconds=10.0)
    async with wire(emulator) as http:
        pending = quote((await created(http))["id"], safe="")
        content = await http.get(f"/videos/{pending}/content")
        foreign = await http.get("/videos/video_0123456789abcdef")
    error = content.json()["error"]
    assert content.status_code == 400 and error["code"] == "400" and error["param"] is None
    assert error["message"].startswith("litellm.BadRequestError: OpenAIException - {")
    assert "content is available once it is completed" in error["message"]
    assert error["message"].endswith(
        "LiteLLM: model group 'sora-2' failed with the error above. No fallback was attempted."
    )
    assert foreign.status_code == 500 and foreign.json()["error"]["type"] == "internal_server_error"


@pytest.mark.parametrize(
    "header",
    [
        ("authorization", f"Bearer {KEY}"),
        ("x-litellm-api-key", KEY),
        ("x-litellm-api-key", f"Bearer {KEY}"),
        ("api-key", KEY),
        ("x-api-key", KEY),
        ("x-goog-api-key", KEY),
        ("ocp-apim-subscription-key", KEY),
    ],
)
async def test_litellm_reads_the_key_from_many_headers(header: tuple[str, str]) -> None:
    async with wire(make_emulator("litellm"), dict([header])) as http:
        assert (await http.post("/videos", json={"prompt": "x"})).status_code == 200


async def test_litellm_without_a_key_or_with_a_wrong_one() -> None:
    emulator = make_emulator("litellm")
    async with wire(emulator, {"authorization": "Bearer sk-wrong"}) as http:
        wrong = await http.get("/videos/whatever")
        missing = await http.get("/videos/whatever", headers={"authorization": ""})
    assert (wrong.status_code, wrong.json()["error"]["message"]) == (400, "No connected db.")
    assert (missing.status_code, missing.text, missing.headers["content-type"].split(";")[0]) == (
        500,
        "Internal Server Error",
        "text/plain",
    )


# -- vLLM-Omni ----------------------------------------------------------------------------------------------------
async def test_vllm_create_is_multipart_only_and_answers_three_keys() -> None:
    emulator = make_emulator("vllm-omni")
    async with wire(emulator, {}) as http:  # no key: vLLM-Omni checks none unless started with --api-key
        video = await created(http)
        refused = await http.post("/videos", json={"prompt": "a paper boat"})
        other_model = await http.post("/videos", files=form(prompt="x", model="sora-2"))
        url_reference = await http.post(
            "/videos", files=form(prompt="x", input_reference='{"image_url": "https://example.com/a.png"}')
        )
    assert set(video) == {"id", "status", "created_at"} and video["status"] == "queued"
    assert refused.status_code == 400
    assert "('body', 'prompt')" in refused.json()["error"]["message"] and refused.json()["error"]["code"] == 400
    assert other_model.json()["error"]["message"] == (
        f"Model mismatch: request specifies 'sora-2' but server is running '{VLLM_SERVED_MODEL}'."
    )
    assert "Expected UploadFile" in url_reference.json()["error"]["message"]
    assert len(emulator.store.jobs) == 1


async def test_vllm_routes_errors_and_a_key_when_started_with_one() -> None:
    emulator = make_emulator("vllm-omni", render_seconds=10.0, api_key=KEY)
    async with wire(emulator) as http:
        video_id = (await created(http))["id"]
        remix = await http.post(f"/videos/{video_id}/remix", json={"prompt": "x"})
        edits = await http.post("/videos/edits", files=form(prompt="x"))
        unknown = await http.get("/videos/video-999")
        pending = await http.get(f"/videos/{video_id}/content", params={"variant": "thumbnail"})
        unauthorized = await http.get(f"/videos/{video_id}", headers={"authorization": "Bearer sk-wrong"})
        deleted = await http.delete(f"/videos/{video_id}")  # still rendering: cancelled and deleted
    assert (remix.status_code, remix.json()) == (404, {"detail": "Not Found"})
    assert (edits.status_code, edits.headers["allow"]) == (405, "GET")
    assert (unknown.status_code, unknown.json()) == (
        404,
        {"error": {"message": "Video not found", "type": "Not Found", "param": None, "code": 404}},
    )
    assert (pending.status_code, pending.json()["error"]["message"]) == (404, "Generation is still in-progress")
    assert (unauthorized.status_code, unauthorized.json()) == (401, {"error": "Unauthorized"})
    assert deleted.json() == {"object": "video.deleted", "deleted": True, "id": video_id}


async def test_vllm_answers_a_failed_jobs_get_with_500() -> None:
    emulator = make_emulator("vllm-omni")
    emulator.faults.add(Fault(kind="fail_job", method="POST", path="/videos"))
    async with wire(emulator, {}) as http:
        video_id = (await created(http))["id"]
        response = await http.get(f"/videos/{video_id}")
        content = await http.get(f"/videos/{video_id}/content")
    assert response.status_code == 500
    assert (response.json()["id"], response.json()["status"], response.json()["error"]["code"]) == (
        video_id,
        "failed",
        500,
    )
    assert content.status_code == 422


# -- SGLang -------------------------------------------------------------------------------------------------------
async def test_sglang_wants_json_for_text_and_says_queued_until_done() -> None:
    clock = FakeClock()
    emulator = make_emulator("sglang", clock=clock, render_seconds=10.0, queue_seconds=1.0)
    async with wire(emulator, {}) as http:
        bare = await http.post("/videos", files=form(prompt="x"))
        video = await created(http, json=True)
        clock.advance(6.0)  # halfway through rendering
        halfway = (await http.get(f"/videos/{video['id']}")).json()
        clock.advance(6.0)
        done = (await http.get(f"/videos/{video['id']}")).json()
        listed = (await http.get("/videos")).json()
        deleted = (await http.delete(f"/videos/{video['id']}")).json()
    assert (bare.status_code, bare.json()) == (400, {"detail": "input_reference file is required"})
    assert "prompt" not in video and video["quality"] == "standard"
    assert (halfway["status"], halfway["progress"]) == ("queued", 0)
    assert (done["status"], done["progress"], done["expires_at"]) == ("completed", 100, None)
    assert set(listed) == {"data", "object"}
    assert (deleted["id"], deleted["status"], deleted["object"]) == (video["id"], "deleted", "video")


# -- Azure --------------------------------------------------------------------------------------------------------
async def test_azure_serves_under_openai_v1_with_an_api_key_header() -> None:
    emulator = make_emulator("azure")
    transport = httpx2.ASGITransport(app=emulator.app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://emulator.test") as http:
        ok = await http.post("/openai/v1/videos", json={"prompt": "x", "model": "sora-2"}, headers={"api-key": KEY})
        entra = await http.get("/openai/v1/videos", headers={"authorization": f"Bearer {KEY}"})
        plain_v1 = await http.get("/v1/videos", headers={"api-key": KEY})
        no_key = await http.get("/openai/v1/videos")
        unknown = await http.post("/openai/v1/videos", json={"prompt": "x", "model": "sora"}, headers={"api-key": KEY})
        control = await http.get("/_emulator/health")
    assert ok.status_code == 200 and entra.status_code == 200
    assert (plain_v1.status_code, plain_v1.json()["error"]["message"]) == (404, "Resource not found")
    assert no_key.status_code == 401 and no_key.json()["error"]["code"] == "401"
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "DeploymentNotFound")
    assert control.status_code == 200, "the control plane stays at the root"

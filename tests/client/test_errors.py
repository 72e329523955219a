"""HTTP errors become the exception tree in one place: the class, the carried details, a message that
says what to do next, and never the API key."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx2
import pytest

from sora_mcp import (
    APIConnectionError,
    APIStatusError,
    AssetExpiredError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    InternalServerError,
    ModelNotAvailableError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    Settings,
    SoraClient,
    UnprocessableEntityError,
    UnsupportedOperationError,
)
from sora_mcp._errors import SORA_SHUTDOWN_NOTE
from sora_mcp._http import error_from_response, redact
from sora_mcp.emulator import Emulator, EmulatorConfig, Fault

from ..conftest import TEST_KEY
from .support import SMALL, Sleeps, Wiretap, closed_port, finished

pytestmark = pytest.mark.anyio

RETIRED = EmulatorConfig(render_seconds=0, queue_seconds=0, retired_models=frozenset({"sora-2", "wan-2.2"}))


def answer(status: int, body: Any = None, *, text: str | None = None, **headers: str) -> httpx2.Response:
    request = httpx2.Request("POST", "https://videos.example/v1/videos?api-version=1")
    if text is not None:
        return httpx2.Response(status, text=text, headers=headers, request=request)
    return httpx2.Response(status, json=body, headers=headers, request=request)


def envelope(message: str, code: str | None = None, kind: str = "invalid_request_error") -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


@pytest.mark.parametrize("emulator_config", [EmulatorConfig(api_key="sk-the-right-key-000000")])
async def test_wrong_key(client: SoraClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(AuthenticationError) as denied:
        await client.list_videos()
    error = denied.value
    assert (error.status_code, error.code, error.method) == (401, "invalid_api_key", "GET")
    assert error.url == "http://emulator.test/v1/videos" and error.request_id and error.request_id.startswith("req_")
    assert "OPENAI_API_KEY" in str(error) and "SORA_MCP_AUTH_STYLE=azure" in str(error)
    everything = str(error) + repr(error) + repr(vars(error)) + caplog.text
    assert TEST_KEY not in everything and "sk-the-right-key" not in everything


async def test_a_server_that_echoes_the_key_cannot_leak_it(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    def hostile(request: httpx2.Request) -> httpx2.Response:
        echoed = request.headers["authorization"]
        body = envelope(f"Incorrect API key provided: {echoed}. Also sk-proj-someoneelse123456 is wrong.")
        body["debug"] = [{"header": echoed}]
        return httpx2.Response(401, json=body, request=request)

    caplog.set_level(logging.DEBUG)
    async with (
        httpx2.AsyncClient(transport=httpx2.MockTransport(hostile)) as http,
        SoraClient(settings, http_client=http) as client,
    ):
        with pytest.raises(AuthenticationError) as denied:
            await client.get_video_status("video_1")
    everything = str(denied.value) + repr(denied.value) + repr(vars(denied.value)) + caplog.text
    assert TEST_KEY not in everything and "someoneelse" not in everything
    assert "[redacted]" in str(denied.value) and "[redacted]" in repr(denied.value.body)


def test_key_shaped_tokens_are_masked() -> None:
    assert redact("key sk-proj-abcdefgh1234 leaked", None) == "key sk-[redacted] leaked"
    assert redact("azure key 0123abcd0123abcd here", "0123abcd0123abcd") == "azure key [redacted] here"
    assert redact("sk-ok is short", None) == "sk-ok is short"


SERVER_FAILED = "The server failed; try again in a moment. If it persists, check the provider's status page."


@pytest.mark.parametrize(
    ("status", "error_class", "hint"),
    [
        (400, BadRequestError, "Fix the request as the message says and send it again."),
        (403, PermissionDeniedError, "This key may not use this resource or model: check the key's project and"),
        (404, NotFoundError, "Check the id (list_videos shows the ones that exist); deleted videos are gone"),
        (409, ConflictError, "Check the request and try again."),
        (422, UnprocessableEntityError, "Check the request and try again."),
        (429, RateLimitError, "Rate limited or out of quota: wait a minute and try again, or check the account's"),
        (500, InternalServerError, SERVER_FAILED),
        (502, InternalServerError, SERVER_FAILED),
        (418, APIStatusError, "Check the request and try again."),
    ],
)
async def test_each_status_has_its_class(
    make_client: Callable[..., SoraClient],
    emulator: Emulator,
    status: int,
    error_class: type[APIStatusError],
    hint: str,
) -> None:
    emulator.faults.add(Fault(kind="status", status=status, method="GET", times=None))
    async with make_client(max_retries=0) as client:
        with pytest.raises(APIStatusError) as failed:
            await client.list_videos(after="video_cursor")  # a request with input of the user's
    assert type(failed.value) is error_class and failed.value.status_code == status
    assert (failed.value.hint or "").startswith(hint), "every error says what to do next"
    assert str(failed.value).startswith(f"The server answered {status}: ")


@pytest.mark.parametrize(
    ("status", "body", "call", "words"),
    [
        (405, {"detail": "Method Not Allowed"}, "delete", "does not support deleting videos"),
        (501, {"error": {"message": "Not implemented", "type": "x"}}, "delete", "does not support deleting videos"),
        (400, {"error": {"message": "LLM Provider NOT provided"}}, "list", "refused to list videos"),
        (404, {"detail": "Not Found"}, "list", "has no route for listing videos"),
    ],
)
async def test_what_a_server_does_not_offer_is_said_plainly(
    settings: Settings, status: int, body: dict[str, Any], call: str, words: str
) -> None:
    """No advice to fix a request the user did not write: the server does not do it."""

    def answer(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(status, json=body)

    async with (
        httpx2.AsyncClient(transport=httpx2.MockTransport(answer)) as http,
        SoraClient(settings.model_copy(update={"max_retries": 0}), http_client=http) as client,
    ):
        with pytest.raises(UnsupportedOperationError) as refused:
            await (client.delete_video("video_1") if call == "delete" else client.list_videos())
    text = str(refused.value)
    assert words in text and "Fix the request" not in text and refused.value.status_code == status


async def test_unknown_video(client: SoraClient) -> None:
    with pytest.raises(NotFoundError) as missing:
        await client.get_video_status("video_" + "0" * 48)
    assert missing.value.code == "video_not_found" and missing.value.param == "video_id"
    assert "list_videos" in str(missing.value)


async def test_expired_assets(client: SoraClient, emulator: Emulator) -> None:
    done = await finished(client)
    emulator.expire_assets(done.id)
    with pytest.raises(AssetExpiredError) as expired:
        await client.download_video(done.id)
    assert expired.value.status_code == 404 and "about an hour" in str(expired.value)


@pytest.mark.parametrize("emulator_config", [RETIRED])
async def test_retired_sora_model_explains_the_shutdown(client: SoraClient) -> None:
    with pytest.raises(ModelNotAvailableError) as gone:
        await client.generate_video("x", "sora-2")
    message = str(gone.value)
    assert "2026-09-24" in message and "OPENAI_BASE_URL" in message and "SORA_MCP_MODEL" in message
    assert "The model `sora-2` does not exist" in message, "the server's own words are kept"
    assert (gone.value.status_code, gone.value.code, gone.value.param) == (404, "model_not_found", "model")


@pytest.mark.parametrize("emulator_config", [RETIRED])
async def test_another_servers_missing_model_names_server_and_model(client: SoraClient) -> None:
    with pytest.raises(ModelNotAvailableError) as gone:
        await client.generate_video("x", "wan-2.2", 4, "832x480")
    message = str(gone.value)
    assert "http://emulator.test/v1" in message and "'wan-2.2'" in message and "SORA_MCP_MODEL" in message
    assert SORA_SHUTDOWN_NOTE not in message


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (404, envelope("The API deployment for this resource does not exist.", "DeploymentNotFound")),
        (400, envelope("Model my-video-model is not supported by this server.")),
        (404, envelope("Deployment 'sora' not found", kind="video_generation_user_error")),
    ],
)
def test_model_not_available_shapes(settings: Settings, status: int, body: Any) -> None:
    error = error_from_response(answer(status, body), settings, model="my-video-model")
    assert isinstance(error, ModelNotAvailableError)


def test_the_shutdown_note_is_added_for_api_openai_com(settings: Settings) -> None:
    openai = settings.model_copy(update={"base_url": "https://api.openai.com/v1"})
    error = error_from_response(answer(404, envelope("gone", "model_not_found")), openai, model="my-model")
    assert SORA_SHUTDOWN_NOTE in str(error)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, envelope("Video with id 'x' not found.")),
        (404, envelope("Character 'char_1' not found.")),
        (400, envelope("Invalid 'seconds' for sora-2: must be one of 4, 8.", "invalid_value")),
    ],
)
def test_other_errors_are_not_taken_for_a_missing_model(settings: Settings, status: int, body: Any) -> None:
    assert not isinstance(error_from_response(answer(status, body), settings), ModelNotAvailableError)


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (answer(502, text="<html><body>Bad Gateway</body></html>"), "<html><body>Bad Gateway</body></html>"),
        (answer(500, text=""), "Internal Server Error"),
        (answer(400, {"detail": "num_frames must be positive"}), "num_frames must be positive"),
        (answer(400, {"error": "plain string error"}), "plain string error"),
        (answer(400, ["odd", "body"]), "['odd', 'body']"),
    ],
)
def test_bodies_that_are_not_the_envelope(settings: Settings, response: httpx2.Response, expected: str) -> None:
    error = error_from_response(response, settings)
    assert expected in str(error) and error.code is None
    assert error.url == "https://videos.example/v1/videos", "the query string is not carried"


def test_a_redirect_is_an_error_that_names_the_target(settings: Settings) -> None:
    response = answer(307, text="", location="https://elsewhere.example/v1/videos")
    error = error_from_response(response, settings)
    assert type(error) is APIStatusError and "https://elsewhere.example/v1/videos" in str(error)


async def test_missing_key_sends_nothing(
    make_client: Callable[..., SoraClient], wiretap: Wiretap, emulator: Emulator
) -> None:
    async with make_client(api_key=None) as client:
        for call in (
            lambda: client.generate_video("x", **SMALL),
            lambda: client.list_videos(),
            lambda: client.download_video("video_1"),
            lambda: client.remix_video("video_1", "y"),
        ):
            with pytest.raises(ConfigurationError) as missing:
                await call()
            for advice in ("OPENAI_API_KEY", "--backend emulator", "SORA_MCP_AUTH_STYLE=none"):
                assert advice in str(missing.value)
    assert wiretap.sent == [] and emulator.stats.requests == []


async def test_unreachable_server(settings: Settings, sleeps: Sleeps) -> None:
    dead = settings.model_copy(update={"base_url": f"http://127.0.0.1:{closed_port()}/v1", "max_retries": 0})
    async with SoraClient(dead, sleep=sleeps) as client:
        with pytest.raises(APIConnectionError) as refused:
            await client.list_videos()
    assert "OPENAI_BASE_URL" in str(refused.value) and refused.value.method == "GET"
    assert TEST_KEY not in repr(vars(refused.value))

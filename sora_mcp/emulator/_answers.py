"""How the emulator says no: the one ``ApiError`` its handlers raise, the fixed answers (``Canned``) a
server gives whatever was asked, and the envelopes each kind of server wraps an error in."""

from __future__ import annotations

import json
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Literal

from starlette.responses import JSONResponse, PlainTextResponse, Response

__all__ = ["ApiError", "Canned", "ErrorStyle", "Refused", "fastapi_validation", "render_error"]

# openai: {"error": {message, type, param, code}}; fastapi: {"detail": message} (a FastAPI app's own
# HTTPException); vllm: vLLM's handler ({"error": {message, type: "Not Found", param, code: 404}});
# litellm: the upstream's envelope turned into the text of a BadRequestError, status kept.
ErrorStyle = Literal["openai", "fastapi", "vllm", "litellm"]


class ApiError(Exception):
    """An error about what was asked (an unknown id, a bad size): each dialect wraps it its own way."""

    def __init__(
        self, status: int, message: str, *, param: str | None = None, code: str | None = None, kind: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.kind = kind or ("invalid_request_error" if status < 500 else "server_error")

    def envelope(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}}

    def response(self, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse(self.envelope(), status_code=self.status, headers=headers)


@dataclass(frozen=True)
class Canned:
    """A fixed answer: a framework's 404, a gateway's refusal, an auth failure in a server's own words.
    ``body`` is JSON, or plain text when ``text`` is set."""

    status: int
    body: Any
    text: bool = False
    headers: tuple[tuple[str, str], ...] = ()

    def response(self) -> Response:
        headers = dict(self.headers)
        if self.text:
            return PlainTextResponse(str(self.body), status_code=self.status, headers=headers)
        return JSONResponse(self.body, status_code=self.status, headers=headers)


class Refused(Exception):
    """Raised by a handler to give a ``Canned`` answer instead of doing the work."""

    def __init__(self, answer: Canned) -> None:
        super().__init__(answer.status)
        self.answer = answer


def render_error(error: ApiError, style: ErrorStyle, *, model: str) -> Response:
    """``error`` as a server of ``style`` answers it; ``model`` names LiteLLM's model group."""
    if style == "openai":
        return error.response()
    if style == "fastapi":
        return JSONResponse({"detail": error.message}, status_code=error.status)
    if style == "vllm":
        return JSONResponse(vllm_error(error.status, error.message), status_code=error.status)
    # LiteLLM re-raises what the upstream said as a BadRequestError whatever the status, the upstream's
    # envelope as text; the upstream's `param` and `code` are lost (tests/gateway/test_litellm_raw.py).
    message = (
        f"litellm.BadRequestError: OpenAIException - {json.dumps(error.envelope())}\n\n"
        f"LiteLLM: model group '{model}' failed with the error above. No fallback was attempted."
    )
    body = {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": str(error.status)}}
    return JSONResponse(body, status_code=error.status, headers={"llm_provider-content-type": "application/json"})


def vllm_error(status: int, message: str) -> dict[str, Any]:
    """vLLM's ErrorResponse: the status's phrase as `type`, the status (a number) as `code`."""
    return {"error": {"message": message, "type": HTTPStatus(status).phrase, "param": None, "code": status}}


def fastapi_validation(errors: list[dict[str, Any]]) -> str:
    """The text vLLM's handler makes of a FastAPI RequestValidationError: ``str(exc)`` then ``exc.errors()``."""
    count = len(errors)
    listed = "".join(f"  {error}\n" for error in errors)
    return f"{count} validation error{'s' if count != 1 else ''}:\n{listed} {errors}"

"""The wire: headers, the one error mapping, the one retry policy, and key redaction.

Retry policy (as openai-python's, adapted): idempotent calls (GET, DELETE, downloads) are retried on
408, 409, 429, 5xx and broken connections with capped exponential backoff and jitter, honouring
``retry-after-ms`` then ``Retry-After`` and ``x-should-retry``. A create is never retried once the
request may have reached the server: only a connection that was never established is retried.
"""

from __future__ import annotations

import datetime
import email.utils
import json
import logging
import math
import random
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, quote_plus, urlsplit

import httpx2

from ._config import Settings, without_credentials
from ._errors import (
    SORA_SHUTDOWN_NOTE,
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AssetExpiredError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    MissingAPIKeyError,
    MissingBaseURLError,
    ModelNotAvailableError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    UnprocessableEntityError,
    UnsupportedOperationError,
)
from ._version import __version__

__all__ = ["Wire", "backoff", "connection_error", "error_from_response", "parse_retry_after", "redact", "retry_delay"]

log = logging.getLogger("sora_mcp.client")

T = TypeVar("T")

RETRYABLE_STATUSES = frozenset({408, 409, 429}) | frozenset(range(500, 600))
MAX_HINTED_DELAY = 60.0
INITIAL_BACKOFF = 0.5
MAX_BACKOFF = 8.0
NO_SERVER_MESSAGE = (
    "No server is configured (OPENAI_BASE_URL is unset), so no request was sent. Two ways on: point sora-mcp "
    "at a server that still speaks /v1/videos: set OPENAI_BASE_URL (Azure OpenAI "
    "https://<resource>.openai.azure.com/openai/v1 with SORA_MCP_AUTH_STYLE=azure, a LiteLLM proxy, vLLM-Omni, "
    "SGLang Diffusion or a gateway) and OPENAI_API_KEY if it needs one; or start the server with "
    "`sora-mcp serve --backend emulator` to try everything locally without a key. (OpenAI's own Videos API at "
    "api.openai.com shut down on 2026-09-24.)"
)
_SECRET_LIKE = re.compile(r"\b(sk-[A-Za-z0-9_\-*]{6,})")
# "The model `sora-2` does not exist or you do not have access to it." (OpenAI), "The API deployment for
# this resource does not exist." / "DeploymentNotFound" (Azure), "Model x is not supported" (gateways).
_MODEL_GONE = re.compile(r"\b(model|deployment)\b.{0,120}?\b(does not exist|not found|is not supported)", re.I | re.S)
_MODEL_GONE_CODES = frozenset({"model_not_found", "deploymentnotfound", "invalid_model", "model_not_available"})

STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def secret_forms(secret: str) -> list[str]:
    """Every way a key can appear in text: raw, escaped (repr, JSON) and URL-encoded; longest first."""
    forms = {
        secret,
        repr(secret)[1:-1],
        json.dumps(secret)[1:-1],
        quote(secret, safe=""),
        quote_plus(secret),
    }
    return sorted((form for form in forms if form), key=len, reverse=True)


def redact(text: str, secret: str | Sequence[str] | None) -> str:
    """Remove the key (or each secret), in every form, and anything key-shaped from text that came from a
    server or a library."""
    secrets = [secret] if isinstance(secret, str) else list(secret or ())
    for value in secrets:
        for form in secret_forms(value):
            text = text.replace(form, "[redacted]")
    return _SECRET_LIKE.sub("sk-[redacted]", text)


def public_url(url: httpx2.URL) -> str:
    """A request URL as it may be shown: no query, no ``user:password@``."""
    return without_credentials(str(url.copy_with(query=None)))


def redact_tree(value: Any, secret: Sequence[str]) -> Any:
    """``redact`` applied to every string of a decoded JSON body (kept on the error as ``body``)."""
    if isinstance(value, str):
        return redact(value, secret)
    if isinstance(value, dict):
        return {key: redact_tree(item, secret) for key, item in value.items()}
    if isinstance(value, list):
        return [redact_tree(item, secret) for item in value]
    return value


def parse_retry_after(headers: httpx2.Headers, *, now: float | None = None) -> float | None:
    """Seconds the server asks us to wait: ``retry-after-ms``, else ``Retry-After`` (seconds or an
    HTTP date). None when neither is present or readable; never negative."""
    milliseconds = _number(headers.get("retry-after-ms"))
    if milliseconds is not None:
        return max(0.0, milliseconds / 1000)
    raw = headers.get("retry-after")
    if raw is None:
        return None
    seconds = _number(raw)
    if seconds is not None:
        return max(0.0, seconds)
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" dates come back naive; HTTP dates are always GMT
        when = when.replace(tzinfo=datetime.UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _number(raw: str | None) -> float | None:
    try:
        value = float(raw) if raw is not None else None
    except ValueError:
        return None
    return value if value is not None and not math.isnan(value) else None


def backoff(attempt: int) -> float:
    """0.5 s × 2^attempt, capped at 8 s, with up to 25 % jitter taken off (so clients spread out)."""
    base = min(MAX_BACKOFF, INITIAL_BACKOFF * 2.0**attempt)
    return base * (1 - 0.25 * random.random())  # noqa: S311 - jitter, not cryptography


def retry_delay(error: APIStatusError, attempt: int) -> float | None:
    """How long to wait before retrying after ``error``; None when it must not be retried.

    ``x-should-retry`` wins over the status. A hint of more than a minute is not waited out: the
    error (with ``retry_after``) goes to the caller, who can decide to come back later.
    """
    should = error.should_retry
    if should is False or (should is None and error.status_code not in RETRYABLE_STATUSES):
        return None
    hint = error.retry_after
    if hint is not None and hint > MAX_HINTED_DELAY:
        return None
    if hint is not None and hint > 0:
        return hint
    return backoff(attempt)


def _envelope(response: httpx2.Response, secret: Sequence[str]) -> tuple[dict[str, Any], Any, str]:
    """(the ``error`` object, the redacted body, the server's message), whatever shape the body has."""
    try:
        body = redact_tree(response.json(), secret)
    except ValueError:
        text = redact(response.text[:500].strip(), secret)
        return {}, text, text or response.reason_phrase or "no details"
    error = body.get("error") if isinstance(body, dict) else None
    envelope = error if isinstance(error, dict) else {}
    candidates = [envelope.get("message"), error]
    if isinstance(body, dict):  # FastAPI-style servers (vLLM, SGLang) answer {"detail": ...} or {"message": ...}
        candidates += [body.get("detail"), body.get("message")]
    message = next((c for c in candidates if isinstance(c, str) and c.strip()), None)
    return envelope, body, message or str(body)[:500] or response.reason_phrase or "no details"


def _text(envelope: dict[str, Any], key: str) -> str | None:
    value = envelope.get(key)
    return value if isinstance(value, str) else None


def error_from_response(
    response: httpx2.Response,
    settings: Settings,
    *,
    model: str | None = None,
    operation: str | None = None,
    user_input: bool = True,
) -> APIStatusError:
    """The one place where an HTTP error answer becomes an exception of the tree.

    ``operation`` names what was asked in words ("list videos"); ``user_input`` says whether the request
    carried anything the user wrote (a prompt, a size): a 400 to a request without any cannot be fixed
    by the user, so it means the server does not support the operation that way."""
    envelope, body, server_message = _envelope(response, settings.secrets)
    status = response.status_code
    code = _text(envelope, "code")
    kwargs: dict[str, Any] = {
        "status_code": status,
        "method": response.request.method,
        "url": public_url(response.request.url),
        "request_id": response.headers.get("x-request-id"),
        "code": code,
        "param": _text(envelope, "param"),
        "error_type": _text(envelope, "type"),
        "body": body,
        "retry_after": parse_retry_after(response.headers),
    }
    unsupported = _unsupported(response, status, body, server_message, settings, operation, user_input)
    if unsupported is not None:
        return unsupported.with_details(**kwargs)
    create = response.request.method == "POST"
    hint = None
    if status == 400 and not user_input and operation is not None:
        hint = (
            f"The request to {operation} held nothing of yours to fix: if the message says the video is not "
            f"ready, wait for it (wait_for_video); otherwise this server may not support {gerund(operation)}."
        )
    error = _classify(
        status, code, server_message, settings, model, kwargs, response.headers.get("location"), create, hint
    )
    should_retry = response.headers.get("x-should-retry")
    if should_retry in ("true", "false"):
        error.should_retry = should_retry == "true"
    return error


def _classify(
    status: int,
    code: str | None,
    server_message: str,
    settings: Settings,
    model: str | None,
    kwargs: dict[str, Any],
    location: str | None,
    create: bool,
    hint: str | None = None,
) -> APIStatusError:
    prefix = f"The server answered {status}: {server_message}"
    if 300 <= status < 400:
        hint = (
            f"It redirected to {location or '(no location)'}; redirects are not followed because they could "
            "carry the API key to another host. Set OPENAI_BASE_URL to the final address."
        )
        return APIStatusError(prefix, hint=hint, **kwargs)
    if status in (400, 404) and _is_model_gone(code, server_message):
        return ModelNotAvailableError(_model_gone_message(server_message, settings, model), **kwargs)
    if status == 404 and ("expired" in (code or "") or "expired" in server_message.lower()):
        hint = "Assets expire about an hour after a video completes: generate it again (or remix a newer one)."
        return AssetExpiredError(prefix, hint=hint, **kwargs)
    error_class = STATUS_ERRORS.get(status, InternalServerError if status >= 500 else APIStatusError)
    return error_class(prefix, hint=hint or _hint(status, kwargs["retry_after"], settings, create), **kwargs)


def _is_model_gone(code: str | None, message: str) -> bool:
    if code and code.lower() in _MODEL_GONE_CODES:
        return True
    return bool(_MODEL_GONE.search(message))


def _model_gone_message(server_message: str, settings: Settings, model: str | None) -> str:
    host = urlsplit(settings.base_url or "").hostname or settings.shown_base_url
    what = f"model {model!r}" if model else "the requested model"
    text = f"{settings.shown_base_url} does not offer {what}: {server_message}"
    azure = host.endswith(".azure.com") or settings.auth_style == "azure"  # a deployment name, not OpenAI's model
    if host == "api.openai.com" or ((model or "").startswith("sora") and not azure):
        return f"{text} {SORA_SHUTDOWN_NOTE}"
    return f"{text} Set SORA_MCP_MODEL (or pass model=...) to a model {host} serves."


def _hint(status: int, retry_after: float | None, settings: Settings, create: bool) -> str:
    if status == 400:
        return "Fix the request as the message says and send it again."
    if create and (status >= 500 or status == 408):
        return (
            "The server may have created the job before it failed: do not send it again blindly. Look for it "
            "with list_videos (or get_video_status) first; create it again only if it is not there."
        )
    if status == 401:
        azure = " For Azure OpenAI also set SORA_MCP_AUTH_STYLE=azure." if settings.auth_style != "azure" else ""
        return f"Check OPENAI_API_KEY: it is missing, wrong or revoked for {settings.shown_base_url}.{azure}"
    if status == 403:
        return "This key may not use this resource or model: check the key's project and permissions."
    if status == 404:
        return "Check the id (list_videos shows the ones that exist); deleted videos are gone for good."
    if status == 429:
        wait = f"wait {retry_after:.0f}s" if retry_after else "wait a minute"
        return f"Rate limited or out of quota: {wait} and try again, or check the account's limits and billing."
    if status >= 500:
        return "The server failed; try again in a moment. If it persists, check the provider's status page."
    return "Check the request and try again."


def invalid_body(
    response: httpx2.Response, settings: Settings, problem: str, *, created: bool = False
) -> ResponseValidationError:
    """A 2xx answer whose body is not what the contract describes. For a create, the job may exist:
    the message says how to find it, never to send the create again (that would be a second paid job)."""
    text = redact(response.text[:2000], settings.secrets)
    shown = text[:300] + ("…" if len(text) > 300 else "")
    content_type = response.headers.get("content-type", "no content type")
    request = response.request
    message = (
        f"{settings.shown_base_url} answered {request.method} {request.url.path} with {response.status_code} "
        f"({content_type}) but the body is not what the /v1/videos contract describes ({problem}): {shown!r}"
    )
    if created:
        hint = (
            "The server may have created the job anyway: do not send it again. Look for it with list_videos (or "
            "get_video_status if you know its id) before deciding; if OPENAI_BASE_URL points at something else "
            "than a /v1/videos server (a proxy's login page), fix it."
        )
    else:
        hint = "Check that OPENAI_BASE_URL points at a server that speaks /v1/videos (not a proxy or a web page)."
    return ResponseValidationError(
        message,
        hint=hint,
        body=text,
        method=response.request.method,
        url=public_url(response.request.url),
    )


@dataclass(frozen=True)
class _Unsupported:
    message: str
    hint: str

    def with_details(self, **kwargs: Any) -> UnsupportedOperationError:
        return UnsupportedOperationError(self.message, hint=self.hint, **kwargs)


def _unsupported(
    response: httpx2.Response,
    status: int,
    body: Any,
    server_message: str,
    settings: Settings,
    operation: str | None,
    user_input: bool,
) -> _Unsupported | None:
    """An answer that means "this server does not do that", in plain words; None otherwise."""
    if operation is None:
        return None
    said = f"(it answered {status}: {server_message[:200]})"
    if status in (405, 501):
        return _Unsupported(
            f"This server ({settings.shown_base_url}) does not support {gerund(operation)} {said}.",
            "Nothing was changed. Use the operations it offers (see the README's servers table), or a server that "
            f"supports {gerund(operation)}.",
        )
    if status == 404 and _route_missing(body, server_message):
        return _Unsupported(
            f"{settings.shown_base_url} has no route for {gerund(operation)} {said}.",
            "Either this server does not support it, or OPENAI_BASE_URL is wrong (most servers need the /v1 at "
            "its end, e.g. http://host:4000/v1): check it before anything else.",
        )
    if status == 400 and not user_input and _NOT_OFFERED.search(server_message):
        return _Unsupported(
            f"This server ({settings.shown_base_url}) refused to {operation} {said}. The request held nothing of yours "
            "to fix, so the server does not support it (gateways such as LiteLLM cannot list or delete videos).",
            "Keep the ids that generate_video returns; follow and download each video by its id.",
        )
    return None


# How servers word "I do not do that" (LiteLLM: "LLM Provider NOT provided", NotImplementedError for Veo).
_NOT_OFFERED = re.compile(
    r"not (supported|implemented|available for)|unsupported|notimplemented|provider not provided", re.I
)


_GERUNDS = {"look": "looking", "list": "listing", "delete": "deleting", "remix": "remixing", "edit": "editing"}


def gerund(operation: str) -> str:
    """'delete videos' -> 'deleting videos': what a server does not support, in plain words."""
    verb, _, rest = operation.partition(" ")
    word = _GERUNDS.get(verb, verb.removesuffix("e") + "ing")
    return f"{word} {rest}".strip()


def _route_missing(body: Any, server_message: str) -> bool:
    """Whether a 404 is a framework's answer for a path it has no route for (``{"detail": "Not Found"}``,
    an HTML page, nothing) rather than an answer about the thing asked for (an unknown id)."""
    text = server_message.strip().lower().rstrip(".")
    if text in ("", "not found", "404 not found", "404: not found", "no details", "resource not found"):
        return True  # a framework's (or Azure's gateway's) words for a path it does not serve
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return False
    return text.startswith(("<!doctype", "<html"))


def connection_error(
    exc: httpx2.TransportError, settings: Settings, method: str, url: str, *, create: bool = False
) -> APIConnectionError:
    detail = redact(str(exc) or type(exc).__name__, settings.secrets)
    url = without_credentials(url)
    never_sent = isinstance(exc, httpx2.ConnectError | httpx2.ConnectTimeout | httpx2.PoolTimeout)
    if create and not never_sent:
        error_class = APITimeoutError if isinstance(exc, httpx2.TimeoutException) else APIConnectionError
        return error_class(
            f"The create reached {settings.shown_base_url} but its answer was lost ({type(exc).__name__}: {detail}).",
            hint="The job may exist and be paid for: do not send it again. Look for it with list_videos (or "
            "get_video_status) first; create it again only if it is not there.",
            method=method,
            url=url,
        )
    if isinstance(exc, httpx2.TimeoutException):
        return APITimeoutError(
            f"No answer from {settings.shown_base_url} in time ({type(exc).__name__}: {detail}).",
            hint="The server may be slow or overloaded: try again, or raise SORA_MCP_TIMEOUT.",
            method=method,
            url=url,
        )
    return APIConnectionError(
        f"Could not reach {settings.shown_base_url} ({type(exc).__name__}: {detail}).",
        hint="Check OPENAI_BASE_URL and that the server is up and reachable from this machine.",
        method=method,
        url=url,
    )


class Wire:
    """Sends requests to ``settings.shown_base_url`` with auth headers, retries and error mapping."""

    def __init__(
        self,
        settings: Settings,
        http: Callable[[], httpx2.AsyncClient],
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        self.settings = settings
        self._http = http
        self.sleep = sleep
        self.timeout = httpx2.Timeout(settings.timeout, connect=settings.connect_timeout)

    def url(self, path: str) -> str:
        if self.settings.base_url is None:
            raise MissingBaseURLError(NO_SERVER_MESSAGE)
        return self.settings.base_url + path

    def headers(self) -> dict[str, str]:
        settings = self.settings
        headers = {"User-Agent": f"sora-mcp/{__version__}", "Accept": "application/json"}
        key = settings.api_key_value
        if settings.auth_style != "none":
            if not key:
                raise MissingAPIKeyError(
                    "No API key is configured, so no request was sent.",
                    hint="Set OPENAI_API_KEY (for Azure also SORA_MCP_AUTH_STYLE=azure), use "
                    "SORA_MCP_AUTH_STYLE=none for servers without auth (vLLM-Omni, SGLang), or use the "
                    "emulator (--backend emulator).",
                )
            if settings.auth_style == "azure":
                headers["api-key"] = key
            else:
                headers["Authorization"] = f"Bearer {key}"
        if settings.organization:
            headers["OpenAI-Organization"] = settings.organization
        if settings.project:
            headers["OpenAI-Project"] = settings.project
        return headers

    def params(self, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        params = {k: v for k, v in (extra or {}).items() if v is not None}
        if self.settings.api_version:
            params["api-version"] = self.settings.api_version
        return params

    def log_response(self, response: httpx2.Response, attempt: int) -> None:
        """One debug line per answer: never headers, never the key."""
        request = response.request
        log.debug(
            "%s %s -> %d (request id %s, attempt %d)",
            request.method,
            request.url.path,
            response.status_code,
            response.headers.get("x-request-id"),
            attempt + 1,
        )

    async def retrying(self, call: Callable[[int], Awaitable[T]], *, idempotent: bool, method: str, url: str) -> T:
        """THE retry policy: run ``call(attempt)`` until it succeeds or must not be retried.

        Idempotent calls are retried on retryable statuses and broken connections. Anything else
        (a create) is retried only when the connection was never established, so the server cannot
        have seen it: a second paid job must never be started by a retry.
        """
        attempt = 0
        while True:
            try:
                return await call(attempt)
            except httpx2.TransportError as exc:
                error = connection_error(exc, self.settings, method, url, create=not idempotent)
                never_sent = isinstance(exc, httpx2.ConnectError | httpx2.ConnectTimeout | httpx2.PoolTimeout)
                if not (idempotent or never_sent) or attempt >= self.settings.max_retries:
                    raise error from exc
                delay = backoff(attempt)
            except APIConnectionError:
                if not idempotent or attempt >= self.settings.max_retries:
                    raise
                delay = backoff(attempt)
            except APIStatusError as error:
                hinted = retry_delay(error, attempt) if idempotent else None
                if hinted is None or attempt >= self.settings.max_retries:
                    raise
                delay = hinted
            attempt += 1
            log.debug("%s %s: retry %d of %d in %.2fs", method, url, attempt, self.settings.max_retries, delay)
            await self.sleep(delay)

    async def request(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool,
        params: dict[str, Any] | None = None,
        json: Any = None,
        files: Any = None,
        model: str | None = None,
        operation: str | None = None,
        user_input: bool = True,
        accept: Callable[[httpx2.Response], bool] | None = None,
    ) -> httpx2.Response:
        """Send one API call (retried per ``retrying``); an answer other than 2xx raises (see
        ``error_from_response`` for ``operation`` and ``user_input``) unless ``accept`` takes it as an
        answer (a server that reports a failed job with an error status)."""
        url = self.url(path)
        headers = self.headers()  # raises MissingAPIKeyError before anything is sent

        async def attempt(number: int) -> httpx2.Response:
            response = await self._http().request(
                method, url, params=self.params(params), json=json, files=files, headers=headers, timeout=self.timeout
            )
            self.log_response(response, number)
            if not response.is_success and not (accept is not None and accept(response)):
                raise error_from_response(
                    response, self.settings, model=model, operation=operation, user_input=user_input
                )
            return response

        return await self.retrying(attempt, idempotent=idempotent, method=method, url=url)

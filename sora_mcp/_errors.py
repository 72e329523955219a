"""One exception tree for everything sora-mcp can fail at.

Every message says what happened *and what to do next*; ``str(exc)`` is safe to show to a
person or a model (it never contains the API key).

    SoraError
    ├── ConfigurationError            settings are missing or wrong (no key, bad base URL)
    │   ├── MissingAPIKeyError        no key, and the auth style needs one: nothing was sent
    │   └── MissingBaseURLError       no server configured (no base URL): nothing was sent
    ├── InputError                    a local input was refused before anything was sent
    │   ├── ImageReferenceError       not an image, unreadable, too large, wrong size
    │   └── PathNotAllowedError       outside the output directory / allowed input roots
    ├── StorageError                  a local file or folder could not be used (disk full, read-only, ...)
    ├── APIError                      talking to the Videos API went wrong
    │   ├── APIConnectionError        no HTTP answer at all
    │   │   ├── APITimeoutError       the answer took too long
    │   │   └── IncompleteDownloadError   the body ended before every byte arrived
    │   ├── ResponseValidationError   a 2xx answer that is not what the contract describes
    │   ├── UnsupportedContentError   the server sent another kind of media than asked for
    │   └── APIStatusError            HTTP >= 400, mapped from the status and the error envelope
    │       ├── BadRequestError             400
    │       ├── AuthenticationError         401
    │       ├── PermissionDeniedError       403
    │       ├── NotFoundError               404
    │       │   └── AssetExpiredError       the downloadable assets are gone
    │       ├── ModelNotAvailableError      400/404 "model does not exist" (e.g. after the Sora shutdown)
    │       ├── ConflictError               409
    │       ├── UnprocessableEntityError    422
    │       ├── RateLimitError              429 (carries ``retry_after``)
    │       ├── UnsupportedOperationError   the server does not offer this operation (list, delete, remix, ...)
    │       └── InternalServerError         >= 500
    ├── VideoJobError                 the job itself ended ``failed`` (moderation, ...)
    └── WaitTimeoutError              a wait hit its deadline; carries the last status, the job goes on
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._models import Video

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AssetExpiredError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "ImageReferenceError",
    "IncompleteDownloadError",
    "InputError",
    "InternalServerError",
    "MissingAPIKeyError",
    "MissingBaseURLError",
    "ModelNotAvailableError",
    "NotFoundError",
    "PathNotAllowedError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseValidationError",
    "SoraError",
    "StorageError",
    "UnprocessableEntityError",
    "UnsupportedContentError",
    "UnsupportedOperationError",
    "VideoJobError",
    "WaitTimeoutError",
]

SORA_SHUTDOWN_NOTE = (
    "OpenAI shut its own Videos API (Sora) down on 2026-09-24, so api.openai.com no longer serves "
    "sora-2 / sora-2-pro. Point sora-mcp at a server that still speaks /v1/videos: set "
    "OPENAI_BASE_URL (e.g. an Azure OpenAI resource 'https://<resource>.openai.azure.com/openai/v1' "
    "with SORA_MCP_AUTH_STYLE=azure, a LiteLLM proxy, vLLM-Omni or SGLang Diffusion) and set "
    "SORA_MCP_MODEL to a model (or Azure deployment) that server offers; or try everything locally "
    "with --backend emulator."
)


class SoraError(Exception):
    """Root of every error raised by sora-mcp."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(f"{message} {hint}" if hint else message)


class ConfigurationError(SoraError):
    """The settings cannot work (missing API key, malformed base URL, ...)."""


class MissingAPIKeyError(ConfigurationError):
    """No API key is configured and the auth style needs one, so no request was sent."""


class MissingBaseURLError(ConfigurationError):
    """No base URL is configured (there is no working default since 2026-09-24), so nothing was sent."""


class InputError(SoraError):
    """A local input was refused before any request was sent."""


class ImageReferenceError(InputError):
    """An image reference is not a usable PNG/JPEG/WebP of the requested size."""


class PathNotAllowedError(InputError):
    """A path points outside the output directory or the allowed input roots."""


class StorageError(SoraError):
    """A local file or folder could not be used: the message names it and says what to do."""


class APIError(SoraError):
    """Talking to the Videos API failed."""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        self.method = method
        self.url = url
        super().__init__(message, hint=hint)


class APIConnectionError(APIError):
    """The server could not be reached, or the connection broke before an answer."""


class APITimeoutError(APIConnectionError):
    """The server did not answer in time."""


class IncompleteDownloadError(APIConnectionError):
    """The connection ended before the whole body arrived (the download is retried from scratch)."""


class ResponseValidationError(APIError):
    """A successful answer whose body is not what the contract describes (``body`` holds it, redacted)."""

    def __init__(self, message: str, *, hint: str | None = None, body: Any = None, **where: Any) -> None:
        self.body = body
        super().__init__(message, hint=hint, **where)


class UnsupportedContentError(APIError):
    """The server answered a content request with another kind of media (or a page): nothing was saved."""


class APIStatusError(APIError):
    """The server answered with an HTTP error status."""

    status_code: int = 0
    should_retry: bool | None = None  # the server's x-should-retry header, when it sent one

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        hint: str | None = None,
        method: str | None = None,
        url: str | None = None,
        request_id: str | None = None,
        code: str | None = None,
        param: str | None = None,
        error_type: str | None = None,
        body: Any = None,
        retry_after: float | None = None,
    ) -> None:
        self.status_code = status_code
        self.retry_after = retry_after
        self.request_id = request_id
        self.code = code
        self.param = param
        self.error_type = error_type
        self.body = body
        super().__init__(message, hint=hint, method=method, url=url)


class BadRequestError(APIStatusError):
    """HTTP 400: the request was refused as invalid."""


class AuthenticationError(APIStatusError):
    """HTTP 401: the API key is missing, wrong or revoked."""


class PermissionDeniedError(APIStatusError):
    """HTTP 403: the key may not use this resource or model."""


class NotFoundError(APIStatusError):
    """HTTP 404: no such video, character or route."""


class AssetExpiredError(NotFoundError):
    """The video exists (or existed) but its downloadable assets have expired."""


class ModelNotAvailableError(APIStatusError):
    """The server does not offer the requested model (e.g. Sora after OpenAI's shutdown)."""


class ConflictError(APIStatusError):
    """HTTP 409: the resource is in a state that does not allow this."""


class UnprocessableEntityError(APIStatusError):
    """HTTP 422: the request was well-formed but could not be processed."""


class RateLimitError(APIStatusError):
    """HTTP 429: too many requests, or the quota is used up (``retry_after``: the server's hint)."""


class UnsupportedOperationError(APIStatusError):
    """The server does not offer this operation at all (405/501 on the route, no route, or a refusal of a
    request that held nothing of the user's to fix)."""


class InternalServerError(APIStatusError):
    """HTTP 5xx: the server failed."""


class VideoJobError(SoraError):
    """The generation job finished with ``status == "failed"``."""

    def __init__(self, video: Video) -> None:
        self.video = video
        err = video.error
        self.code = err.code if err else None
        detail = f"{err.code}: {err.message}" if err else "no reason given"
        if self.is_moderation:
            hint = (
                "The prompt or reference image was blocked by the content policy: rephrase it without real "
                "people, copyrighted characters or music, and use a reference image without human faces."
            )
        else:
            hint = "Check the prompt and settings, then start a new job (a failed job cannot be resumed)."
        super().__init__(f"Video {video.id} failed ({detail}).", hint=hint)

    @property
    def is_moderation(self) -> bool:
        code = (self.code or "").lower()
        return any(word in code for word in ("moderation", "policy", "safety", "blocked"))


class WaitTimeoutError(SoraError):
    """A wait reached its deadline before the job finished; the job keeps running server-side."""

    def __init__(self, video: Video | None, waited: float, *, video_id: str | None = None) -> None:
        self.video = video
        self.waited = waited
        if video is None:
            message = f"No answer about {video_id or 'the video'} arrived within {waited:.0f}s (the server is slow)."
        else:
            progress = f" ({video.progress}%)" if video.progress is not None else ""
            message = f"Video {video.id} is still {video.status_text}{progress} after waiting {waited:.0f}s."
        super().__init__(message, hint="The job keeps running on the server: wait again with the same id to resume.")

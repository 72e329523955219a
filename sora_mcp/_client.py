"""SoraClient: a typed async client for the whole /v1/videos contract.

One injected (or owned) ``httpx2.AsyncClient``; base URL, key, auth header style, timeouts and
retries come from ``Settings``. Method names are the ones our users know from the seed API.
Transport details (headers, the error mapping, the retry policy) live in ``_http``; images in
``_images``; which paths may be read or written, and atomic downloads, in ``_files``.
"""

from __future__ import annotations

import inspect
import json
import logging
import math
import mimetypes
import random
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import quote

import anyio
import httpx2
from pydantic import BaseModel, ValidationError

from ._assets import ASSETS, IMAGE_TYPES, VideoVariant, check_id, local_stem, sniff_media
from ._catalog import check_request
from ._config import Settings, without_credentials
from ._errors import (
    APIStatusError,
    APITimeoutError,
    IncompleteDownloadError,
    InputError,
    UnsupportedContentError,
    VideoJobError,
    WaitTimeoutError,
)
from ._files import resolve_input, resolve_output, write_atomically
from ._http import Wire, error_from_response, invalid_body, public_url, redact_tree
from ._models import (
    Character,
    DeletedVideo,
    DownloadResult,
    FitMode,
    Order,
    Video,
    VideoList,
    normalize_status,
)
from ._storage import disk_error

if TYPE_CHECKING:
    from ._images import ImageReference

__all__ = ["SoraClient"]

log = logging.getLogger("sora_mcp.client")

DOWNLOAD_CHUNK = 256 * 1024
# Bytes httpcore2 may take per socket read on a plain-HTTP/1.1 connection (its default is 64 KiB).
READ_SIZE = 256 * 1024
MAX_POLL_INTERVAL = 10.0
POLL_BACKOFF = 1.5
MAX_PROMPT = 32000
MAX_CONNECTIONS = 16
# Servers that cannot say what they send; the first bytes decide instead.
GENERIC_TYPES = frozenset({"", "application/octet-stream", "application/binary", "binary/octet-stream"})

ProgressCallback = Callable[[Video], Awaitable[None] | None]
Upload = tuple[str, bytes, str]  # (filename, bytes, content type): one multipart file part
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Content:
    """An asset as it arrives: its checked media type, its announced size and its bytes."""

    video_id: str
    variant: VideoVariant
    content_type: str  # proven by the first bytes, not just declared
    expected_size: int | None
    chunks: AsyncIterator[bytes]


ContentSink = Callable[[Content], Awaitable[T]]


class SoraClient:
    """Async client of a server that speaks /v1/videos. Use as ``async with SoraClient(...)``.

    ``sleep`` and ``clock`` are the seams that make retries and waits testable without waiting.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        http_client: httpx2.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings if settings is not None else Settings()
        self._owns_http = http_client is None
        self._http_client = http_client
        self._closed = False
        self._sleep = sleep
        self._clock = clock
        self._wire = Wire(self._settings, lambda: self._http, sleep)

    @property
    def _http(self) -> httpx2.AsyncClient:
        """The HTTP client, built on first use: its TLS context costs tens of milliseconds that a
        server should not spend before answering its first ``tools/list``."""
        if self._closed:
            raise RuntimeError("This SoraClient was closed; open a new one.")
        if self._http_client is None:
            # Redirects are not followed: a custom auth header (api-key) would be sent to the new host.
            # The pool is capped: many concurrent waits share a few connections instead of opening one each.
            limits = httpx2.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS // 2)
            self._http_client = httpx2.AsyncClient(follow_redirects=False, limits=limits)
            _widen_reads()
            log.debug("HTTP client built (pool of %d connections)", MAX_CONNECTIONS)
        return self._http_client

    @property
    def settings(self) -> Settings:
        return self._settings

    async def __aenter__(self) -> SoraClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client if this object created it; an injected one belongs to the caller."""
        self._closed = True
        if self._owns_http and self._http_client is not None:
            await self._http_client.aclose()

    # -- create ------------------------------------------------------------------------------------------
    async def generate_video(
        self,
        prompt: str,
        model: str | None = None,
        seconds: str | int | None = None,
        size: str | None = None,
        *,
        input_reference: ImageReference | str | Path | None = None,
        fit: FitMode = "none",
        characters: Sequence[str] | None = None,
    ) -> Video:
        """Start a job (``POST /videos``). Returns at once; the job is ``queued``.

        Everything that can be checked locally (prompt, the model's sizes and durations, the image)
        is checked before the request goes out: a create is paid and is never retried.
        """
        model = model or self._settings.model
        size = size or self._settings.size
        seconds = str(seconds if seconds is not None else self._settings.seconds)
        _check_prompt(prompt)
        check_request(model, size, seconds)
        fields: dict[str, Any] = {"prompt": prompt, "model": model, "seconds": seconds, "size": size}
        if characters:
            fields["characters"] = [{"id": character} for character in characters]
        reference = None
        if input_reference is not None:
            # Decoding and resampling a large image takes a while: keep it off the event loop.
            reference = await anyio.to_thread.run_sync(self._prepare_reference, input_reference, size, fit)
        response = await self._post_create("/videos", fields, reference, model=model)
        video = self._parse(response, Video, created=True)
        return video.filled(model=model, size=size, seconds=seconds, prompt=prompt)

    async def generate_video_with_image(
        self,
        prompt: str,
        input_reference_path: str | Path,
        model: str | None = None,
        seconds: str | int | None = None,
        size: str | None = None,
        *,
        fit: FitMode = "none",
    ) -> Video:
        """Start a job whose first frame is a local image (PNG, JPEG or WebP inside the input roots)."""
        path = Path(input_reference_path) if isinstance(input_reference_path, str) else input_reference_path
        return await self.generate_video(prompt, model, seconds, size, input_reference=path, fit=fit)

    async def remix_video(self, video_id: str, prompt: str) -> Video:
        """A new job that changes a completed video (``POST /videos/{id}/remix``)."""
        _check_prompt(prompt)
        path = f"/videos/{_segment(video_id)}/remix"
        response = await self._wire.request(
            "POST", path, idempotent=False, json={"prompt": prompt}, operation="remix videos"
        )
        return self._parse(response, Video, created=True).filled(prompt=prompt)

    async def edit_video(
        self,
        prompt: str,
        *,
        video_id: str | None = None,
        video_path: str | Path | None = None,
        model: str | None = None,
    ) -> Video:
        """A new job that edits a completed video (by id) or an uploaded one (``POST /videos/edits``).

        An upload needs ``model`` on the wire (the guide says so), so the default model is sent.
        """
        _check_prompt(prompt)
        if video_path is not None and video_id is None:
            fields = {"prompt": prompt, "model": model or self._settings.model}
            upload = await self._read_video(video_path)
            response = await self._post_multipart("/videos/edits", fields, ("video", upload), model=model)
        elif video_id is not None and video_path is None:
            body = {"video": {"id": check_id(video_id)}, "prompt": prompt}
            response = await self._wire.request(
                "POST", "/videos/edits", idempotent=False, json=body, operation="edit videos"
            )
        else:
            raise InputError("Give exactly one of video_id or video_path.", hint="Pass the id of a completed video.")
        return self._parse(response, Video, created=True).filled(prompt=prompt)

    async def extend_video(self, video_id: str, prompt: str, seconds: str | int) -> Video:
        """A new job that continues a completed video; its ``seconds`` is the stitched total."""
        _check_prompt(prompt)
        body = {"video": {"id": check_id(video_id)}, "prompt": prompt, "seconds": str(seconds)}
        response = await self._wire.request(
            "POST", "/videos/extensions", idempotent=False, json=body, operation="extend videos"
        )
        return self._parse(response, Video, created=True).filled(prompt=prompt)

    async def create_character(self, name: str, video_path: str | Path) -> Character:
        """A reusable character from a short clip (``POST /videos/characters``, multipart only)."""
        if not 1 <= len(name) <= 80:
            raise InputError("A character name has 1 to 80 characters.", hint="Pick a shorter name.")
        upload = await self._read_video(video_path)
        response = await self._post_multipart("/videos/characters", {"name": name}, ("video", upload))
        return self._parse(response, Character, created=True)

    async def get_character(self, character_id: str) -> Character:
        """A character made by ``create_character``."""
        response = await self._wire.request(
            "GET", f"/videos/characters/{_segment(character_id, 'character id')}", idempotent=True
        )
        return self._parse(response, Character)

    def _prepare_reference(self, value: ImageReference | str | Path, size: str, fit: FitMode) -> ImageReference:
        from ._images import ImageReference  # Pillow is loaded only when an image is given

        return ImageReference.parse(value, roots=self._settings.input_roots).fitted(size, fit)

    async def _read_video(self, path: str | Path) -> Upload:
        real = resolve_input(path, self._settings.input_roots)
        content_type = mimetypes.guess_type(real.name)[0] or "video/mp4"
        return real.name, await anyio.Path(real).read_bytes(), content_type

    async def _post_create(
        self, path: str, fields: dict[str, Any], reference: ImageReference | None, *, model: str
    ) -> httpx2.Response:
        """Send a create in the configured encoding. ``auto``: multipart, as the official SDK sends it
        (vLLM-Omni accepts nothing else), unless the body has objects multipart cannot carry
        (characters, an image URL or file id); then JSON. A server that refuses the encoding itself
        (415, or a 4xx saying so) created nothing, so ``auto`` tries the other encoding once."""
        setting = self._settings.create_encoding
        needs_json = "characters" in fields or (reference is not None and reference.kind != "file")
        first: Literal["multipart", "json"] = (
            "json" if setting == "json" or (setting == "auto" and needs_json) else "multipart"
        )
        try:
            return await self._send_create(path, fields, reference, first, model=model)
        except APIStatusError as error:
            if setting != "auto" or not _refuses_encoding(error):
                raise
            log.info(
                "%s refused a %s create (%d); sending it once as the other encoding", path, first, error.status_code
            )
            other: Literal["multipart", "json"] = "multipart" if first == "json" else "json"
            return await self._send_create(path, fields, reference, other, model=model)

    async def _send_create(
        self,
        path: str,
        fields: dict[str, Any],
        reference: ImageReference | None,
        encoding: Literal["multipart", "json"],
        *,
        model: str,
    ) -> httpx2.Response:
        if encoding == "json":
            body = {**fields, "input_reference": _reference_object(reference)} if reference is not None else fields
            return await self._wire.request("POST", path, idempotent=False, json=body, model=model)
        text_fields = {name: value if isinstance(value, str) else json.dumps(value) for name, value in fields.items()}
        file = None
        if reference is not None and reference.kind == "file":
            file = ("input_reference", _upload_of(reference))
        elif reference is not None:  # a URL or file id travels as JSON text in its form field
            text_fields["input_reference"] = json.dumps(_reference_object(reference))
        return await self._post_multipart(path, text_fields, file, model=model)

    async def _post_multipart(
        self, path: str, fields: dict[str, Any], file: tuple[str, Upload] | None, *, model: str | None = None
    ) -> httpx2.Response:
        """Scalar fields as text parts, then the file part with its filename and content type."""
        parts: list[tuple[str, Any]] = [(name, (None, str(value))) for name, value in fields.items()]
        if file is not None:
            parts.append(file)
        return await self._wire.request("POST", path, idempotent=False, files=parts, model=model)

    def _parse(self, response: httpx2.Response, model: type[M], *, created: bool = False) -> M:
        """The body as ``model``; one ResponseValidationError (actionable, redacted) when it is not."""
        try:
            body = response.json()
        except ValueError:
            raise invalid_body(response, self._settings, "it is not JSON", created=created) from None
        try:  # whatever the server echoes (the key in an error message, say) is redacted before anyone sees it
            return model.model_validate(redact_tree(body, self._settings.secrets))
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"]) or "the body"
            problem = f"{where}: {error['msg']}"
            raise invalid_body(response, self._settings, problem, created=created) from None

    # -- read --------------------------------------------------------------------------------------------
    async def get_video_status(self, video_id: str) -> Video:
        """The job as it is now (``GET /videos/{id}``)."""
        video, _hint = await self._retrieve(video_id)
        return video

    async def poll_video(self, video_id: str) -> tuple[Video, float | None]:
        """One poll of a job: the job as it is now, and how many seconds the server asks to wait
        before the next poll (its ``openai-poll-after-ms``, clamped; None when it sent none)."""
        return await self._retrieve(video_id)

    async def _retrieve(self, video_id: str) -> tuple[Video, float | None]:
        """The job, and the server's ``openai-poll-after-ms`` hint in seconds (None without one)."""
        response = await self._wire.request(
            "GET",
            f"/videos/{_segment(video_id)}",
            idempotent=True,
            operation="look up videos",
            user_input=False,
            accept=lambda answer: _failed_job(answer, video_id),
        )
        hint = poll_hint(response.headers.get("openai-poll-after-ms"))
        return self._parse(response, Video), hint

    async def wait_for_completion(
        self,
        video_id: str,
        *,
        timeout: float = 600.0,
        poll_interval: float | None = None,
        on_progress: ProgressCallback | None = None,
        raise_on_failure: bool = True,
    ) -> Video:
        """Poll until the job is terminal, at most ``timeout`` seconds; cancellable at any await.

        Sleeps as the server's ``openai-poll-after-ms`` says, else ``poll_interval`` with gentle
        backoff and jitter, and never past the deadline. ``on_progress`` (sync or async) sees every
        poll. On the deadline raises WaitTimeoutError with the last status: the job keeps running,
        and waiting again resumes.
        """
        started = self._clock()
        last: list[Video] = []
        # The deadline also covers requests in flight, their retries and back-off: a slow answer or a
        # long Retry-After cannot hold the caller past it (a zero timeout still polls once).
        with anyio.move_on_after(timeout if timeout > 0 else math.inf):
            return await self._poll(
                video_id, started, started + timeout, poll_interval, on_progress, raise_on_failure, last
            )
        raise WaitTimeoutError(last[-1] if last else None, self._clock() - started, video_id=video_id)

    async def _poll(
        self,
        video_id: str,
        started: float,
        deadline: float,
        poll_interval: float | None,
        on_progress: ProgressCallback | None,
        raise_on_failure: bool,
        last: list[Video],
    ) -> Video:
        interval = poll_interval if poll_interval is not None else self._settings.poll_interval
        while True:
            video, hint = await self._retrieve(video_id)
            last.append(video)
            del last[:-1]
            await _notify(on_progress, video)
            if video.is_terminal:
                if video.status == "failed" and raise_on_failure:
                    raise VideoJobError(video)
                return video
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise WaitTimeoutError(video, self._clock() - started)
            if hint is not None:  # jittered, so many waiters on one server do not poll in lockstep
                delay = hint * (0.9 + 0.2 * random.random())  # noqa: S311 - jitter, not cryptography
            else:
                jitter = 0.8 + 0.4 * random.random()  # noqa: S311 - jitter, not cryptography
                delay = min(interval * jitter, MAX_POLL_INTERVAL)
                interval = min(interval * POLL_BACKOFF, MAX_POLL_INTERVAL)
            await self._sleep(min(delay, remaining))

    async def list_videos(
        self, limit: int | None = 20, after: str | None = None, order: Order | None = "desc"
    ) -> VideoList:
        """One page of jobs (``GET /videos``); pass ``after=page.last_id`` for the next."""
        params = {"limit": limit, "after": after, "order": order}
        response = await self._wire.request(
            "GET", "/videos", idempotent=True, params=params, operation="list videos", user_input=after is not None
        )
        return self._parse(response, VideoList)

    async def iter_videos(self, *, page_size: int = 100, order: Order = "desc") -> AsyncIterator[Video]:
        """Every job, following the cursor page after page."""
        after: str | None = None
        while True:
            page = await self.list_videos(limit=page_size, after=after, order=order)
            for video in page.data:
                yield video
            if not page.has_more or not page.last_id:
                return
            after = page.last_id

    async def delete_video(self, video_id: str) -> DeletedVideo:
        """Delete a completed or failed job and its assets (``DELETE /videos/{id}``)."""
        response = await self._wire.request(
            "DELETE", f"/videos/{_segment(video_id)}", idempotent=True, operation="delete videos", user_input=False
        )
        return self._parse(response, DeletedVideo)

    # -- download ----------------------------------------------------------------------------------------
    async def download_video(self, video_id: str, output_path: str | Path | None = None) -> DownloadResult:
        """The MP4, by default ``<output_dir>/<video_id>.mp4``."""
        return await self.download_content(video_id, output_path, variant="video")

    async def download_thumbnail(self, video_id: str, output_path: str | Path | None = None) -> DownloadResult:
        """The thumbnail (WebP), by default ``<output_dir>/<video_id>.thumbnail.webp``."""
        return await self.download_content(video_id, output_path, variant="thumbnail")

    async def download_spritesheet(self, video_id: str, output_path: str | Path | None = None) -> DownloadResult:
        """The spritesheet (JPEG), by default ``<output_dir>/<video_id>.spritesheet.jpg``."""
        return await self.download_content(video_id, output_path, variant="spritesheet")

    async def download_content(
        self, video_id: str, output_path: str | Path | None = None, *, variant: VideoVariant = "video"
    ) -> DownloadResult:
        """Stream an asset to a file inside the output directory, atomically; retried like any GET.

        Nothing ever appears under the final name unless every byte arrived and the bytes are the
        kind of media asked for: a broken, cancelled or wrong download leaves no file behind.
        """
        stem = local_stem(check_id(video_id))
        default_name = stem + ASSETS[variant].suffix
        try:
            target = resolve_output(output_path, self._settings.output_dir, default_name)
        except OSError as exc:  # the output folder cannot be made (a file in the way, read-only, ...)
            raise disk_error(exc, self._settings.output_dir / default_name) from exc

        async def save(content: Content) -> DownloadResult:
            final = target
            if target.name == default_name:  # a name we chose follows what was really served
                final = target.with_name(stem + ASSETS[variant].suffix_for(content.content_type))
            try:
                count = await write_atomically(final, content.chunks, content.expected_size)
            except OSError as exc:  # disk full, read-only, a folder in the way: said plainly, nothing left behind
                raise disk_error(exc, final) from exc
            return DownloadResult(
                video_id=video_id, variant=variant, path=final, bytes=count, content_type=content.content_type
            )

        return await self.fetch_content(video_id, variant, save)

    async def fetch_content(self, video_id: str, variant: VideoVariant, sink: ContentSink[T]) -> T:
        """``GET /videos/{id}/content`` streamed into ``sink``, retried from scratch like any GET.

        The sink sees the bytes only once the first of them prove the right kind of media (MP4 for
        the video, an image for the thumbnail and spritesheet): a server that sends something else
        (a gateway serving the MP4 for every variant, an HTML error page) raises
        UnsupportedContentError before the sink writes anything.
        """
        url = self._wire.url(f"/videos/{_segment(video_id)}/content")
        # As the official SDK asks; identity, because a compressed body's decoded size is unbounded.
        headers = {**self._wire.headers(), "Accept": "application/binary", "Accept-Encoding": "identity"}

        settings = self._settings

        async def attempt(number: int) -> T:
            params = self._wire.params({"variant": variant})
            request = self._http.stream("GET", url, params=params, headers=headers, timeout=self._wire.timeout)
            async with request as response:
                self._wire.log_response(response, number)
                if not response.is_success:
                    await response.aread()
                    operation = f"download the {variant} of videos"
                    raise error_from_response(response, settings, operation=operation, user_input=False)
                content = await _checked_content(response, video_id, variant, settings)
                result = await sink(content)
            log.debug("downloaded %s %s", video_id, variant)
            return result

        # One bound for the whole download, retries included: a trickle or an endless body cannot hold on.
        with anyio.move_on_after(settings.download_timeout):
            return await self._wire.retrying(attempt, idempotent=True, method="GET", url=url)
        raise APITimeoutError(
            f"The download of the {variant} of {video_id} took longer than {settings.download_timeout:.0f}s in all. "
            "Nothing was saved.",
            hint="The server sends too slowly: try again later, or raise SORA_MCP_DOWNLOAD_TIMEOUT.",
            method="GET",
            url=without_credentials(url),
        )


def _widen_reads() -> None:
    """Let httpcore2 take up to READ_SIZE per read. asyncio receives up to 256 KiB per recv(), which
    httpcore2's 64 KiB reads cut into four: four times the per-chunk work in h11, httpcore2, httpx2 and
    ``_files`` on a plain-HTTP body (a 500 MiB download: 1.9x curl+fsync -> 1.4x, bench/download.py).
    httpx2's transports take no read size and no network backend (and a transport of our own would drop
    the proxies from the environment), so this raises httpcore2's class attribute: process-wide, never
    lowered, harmless to other users (it is a maximum per read). TLS reads return one record anyway.
    """
    import httpcore2  # loaded with the first httpx2 client, not at `import sora_mcp` time

    if httpcore2.AsyncHTTP11Connection.READ_NUM_BYTES < READ_SIZE:
        httpcore2.AsyncHTTP11Connection.READ_NUM_BYTES = READ_SIZE


MIN_POLL_HINT, MAX_POLL_HINT = 0.2, 60.0


def _failed_job(response: httpx2.Response, video_id: str) -> bool:
    """Whether an error answer to ``GET /videos/{video_id}`` is that job itself, failed: vLLM-Omni answers
    a failed job with the status its failure carried (500 for most) and the job as the body. That is the
    job's state, to report as a failed job, not a server error to retry."""
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("id") == video_id and normalize_status(body.get("status")) == "failed"


def poll_hint(raw: str | None) -> float | None:
    """``openai-poll-after-ms`` in seconds: plain ASCII digits only, clamped to a sane range."""
    if raw is None or not re.fullmatch(r"[0-9]{1,9}", raw.strip()) or int(raw) == 0:
        return None
    return min(MAX_POLL_HINT, max(MIN_POLL_HINT, int(raw) / 1000))


async def _checked_content(
    response: httpx2.Response, video_id: str, variant: VideoVariant, settings: Settings
) -> Content:
    """The response as ``Content`` once its first bytes prove the media type; else UnsupportedContentError.
    Its size is bounded by ``settings.max_download_bytes``, decoded bytes included."""
    base_url = settings.shown_base_url
    declared = response.headers.get("content-type", "").split(";")[0].strip().lower()
    encoding = response.headers.get("content-encoding", "identity").lower()
    length = response.headers.get("content-length", "").strip()
    # Content-Length counts encoded bytes; only compare it with what we write when nothing decodes them.
    expected = int(length) if length.isdigit() and len(length) < 20 and encoding == "identity" else None
    limit = settings.max_download_bytes
    if expected is not None and expected > limit:
        await response.aclose()
        raise _too_large(video_id, variant, expected, limit, public_url(response.request.url))
    # Nothing to decode: take the bytes as they arrive (re-chunking costs a third of the throughput).
    source = response.aiter_raw() if encoding == "identity" else response.aiter_bytes(DOWNLOAD_CHUNK)
    chunks = _guarded(source, response, video_id, variant, limit)
    head = b""
    async for chunk in chunks:
        head += chunk
        if len(head) >= 16:
            break
    sniffed = sniff_media(head)
    spec = ASSETS[variant]
    if sniffed is None or not spec.accepts(sniffed) or not (declared in GENERIC_TYPES or spec.accepts(declared)):
        await response.aclose()
        raise _wrong_media(video_id, variant, declared, sniffed, base_url, public_url(response.request.url))
    return Content(video_id, variant, sniffed, expected, _prepend(head, chunks))


def _wrong_media(
    video_id: str, variant: VideoVariant, declared: str, sniffed: str | None, base_url: str, url: str
) -> UnsupportedContentError:
    wanted = "an MP4 video" if variant == "video" else "an image (" + ", ".join(IMAGE_TYPES) + ")"
    got = sniffed or declared or "an unknown type"
    if got.startswith("text/html") or declared == "text/html":
        got = "an HTML page"
    if variant != "video" and got == "video/mp4":
        message = (
            f"This server does not serve the {variant} of videos: asked for {wanted}, it sent the MP4 "
            f"({video_id}). Nothing was saved."
        )
        hint = "Download variant 'video' instead (gateways such as LiteLLM serve only the MP4)."
    else:
        message = f"Asked for the {variant} of {video_id} ({wanted}), {base_url} sent {got}. Nothing was saved."
        hint = (
            "A proxy, captive portal or misconfigured gateway may be answering instead of the video server: "
            "check OPENAI_BASE_URL, then download again."
        )
    return UnsupportedContentError(message, hint=hint, method="GET", url=url)


def _too_large(video_id: str, variant: VideoVariant, size: int, limit: int, url: str) -> UnsupportedContentError:
    return UnsupportedContentError(
        f"The {variant} of {video_id} is larger than the {limit:,} bytes sora-mcp accepts for one asset "
        f"(at least {size:,}). Nothing was saved.",
        hint="If the server really serves such files, raise SORA_MCP_MAX_DOWNLOAD_BYTES; else check OPENAI_BASE_URL.",
        method="GET",
        url=url,
    )


async def _guarded(
    source: AsyncIterator[bytes], response: httpx2.Response, video_id: str, variant: VideoVariant, limit: int
) -> AsyncIterator[bytes]:
    """The body's chunks, at most ``limit`` bytes; a connection that breaks mid-body is an
    IncompleteDownloadError (an APIConnectionError, so the download is retried from scratch)."""
    received = 0
    try:
        async for chunk in source:
            received += len(chunk)
            if received > limit:
                raise _too_large(video_id, variant, received, limit, public_url(response.request.url))
            yield chunk
    except httpx2.TimeoutException:
        raise
    except httpx2.TransportError as exc:
        raise IncompleteDownloadError(
            f"The download of {video_id} broke off ({type(exc).__name__}).",
            hint="Nothing was saved under the final name; download again.",
            method="GET",
            url=public_url(response.request.url),
        ) from exc


async def _prepend(head: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if head:
        yield head
    async for chunk in rest:
        yield chunk


async def _notify(on_progress: ProgressCallback | None, video: Video) -> None:
    if on_progress is None:
        return
    result = on_progress(video)
    if inspect.isawaitable(result):
        await result


# What servers say when they refuse how a body is encoded, not what it holds (FastAPI, Starlette, LiteLLM).
# Two say it indirectly: a server that cannot see the prompt we always send reads only the other encoding
# (vLLM-Omni's form parser given JSON: "('body', 'prompt'), 'msg': 'Field required'"), and SGLang wants a
# file in every form ("input_reference file is required") but takes a text-only create as JSON.
_ENCODING_REFUSED = re.compile(
    r"content[- ]type|multipart|form[- ]data|application/json|json body|unsupported media|expected (a )?(form|json)"
    r"|\bprompt\b.{0,80}\b(field required|missing|is required)\b|\bfile is required\b",
    re.IGNORECASE | re.DOTALL,
)


def _refuses_encoding(error: APIStatusError) -> bool:
    """Whether a 4xx proves the server refused the encoding before creating anything."""
    if error.status_code == 415:
        return True
    return error.status_code in (400, 422) and _ENCODING_REFUSED.search(error.message) is not None


def _upload_of(reference: ImageReference) -> Upload:
    if reference.data is None:
        raise InputError(f"A {reference.kind} image reference has no bytes to upload.", hint="Pass it as a URL.")
    return reference.filename, reference.data, reference.content_type


def _reference_object(reference: ImageReference) -> dict[str, str]:
    """``ImageRefParam``: exactly one of image_url (http(s) or data URL) and file_id."""
    if reference.kind == "url" and reference.url:
        return {"image_url": reference.url}
    if reference.kind == "file_id" and reference.file_id:
        return {"file_id": reference.file_id}
    return {"image_url": reference.as_data_url()}


def _check_prompt(prompt: str) -> None:
    if not prompt or not prompt.strip():
        raise InputError("The prompt is empty.", hint="Describe the video: subject, action, setting, camera.")
    if len(prompt) > MAX_PROMPT:
        raise InputError(f"The prompt is longer than {MAX_PROMPT} characters.", hint="Shorten it.")


def _segment(identifier: str, what: str = "video id") -> str:
    """An opaque id as one URL path segment: every character that could change the path is encoded
    (dot segments too, which URL normalisation would otherwise resolve)."""
    segment = quote(check_id(identifier, what=what), safe="")
    return segment.replace(".", "%2E") if segment in (".", "..") else segment

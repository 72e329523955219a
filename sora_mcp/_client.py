"""SoraClient: a typed async client for the whole /v1/videos contract.

One injected (or owned) ``httpx2.AsyncClient``; base URL, key, auth header style, timeouts and
retries come from ``Settings``. Method names are the ones our users know from the seed API.
Transport details (headers, the error mapping, the retry policy) live in ``_http``; images in
``_images``; which paths may be read or written, and atomic downloads, in ``_files``.
"""

from __future__ import annotations

import inspect
import logging
import mimetypes
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import anyio
import httpx2

from ._catalog import check_request
from ._config import Settings
from ._errors import InputError, VideoJobError, WaitTimeoutError
from ._files import IncompleteDownloadError, resolve_input, resolve_output, write_atomically
from ._http import Wire, error_from_response
from ._images import ImageReference
from ._models import (
    CONTENT_TYPE_SUFFIXES,
    VARIANT_CONTENT_TYPES,
    Character,
    DeletedVideo,
    DownloadResult,
    FitMode,
    Order,
    Video,
    VideoList,
    VideoVariant,
)

__all__ = ["SoraClient"]

log = logging.getLogger("sora_mcp.client")

DOWNLOAD_CHUNK = 256 * 1024
MAX_POLL_INTERVAL = 10.0
POLL_BACKOFF = 1.5
MAX_PROMPT = 32000
DEFAULT_NAMES: dict[str, str] = {
    "video": "{id}.mp4",
    "thumbnail": "{id}.thumbnail.webp",
    "spritesheet": "{id}.spritesheet.jpg",
}

ProgressCallback = Callable[[Video], Awaitable[None] | None]
Upload = tuple[str, bytes, str]  # (filename, bytes, content type): one multipart file part


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
        # Redirects are not followed: a custom auth header (api-key) would be sent to the new host.
        self._http = http_client if http_client is not None else httpx2.AsyncClient(follow_redirects=False)
        self._sleep = sleep
        self._clock = clock
        self._wire = Wire(self._settings, self._http, sleep)

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
        if self._owns_http:
            await self._http.aclose()

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
        return Video.model_validate(response.json())

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
        response = await self._wire.request("POST", path, idempotent=False, json={"prompt": prompt})
        return Video.model_validate(response.json())

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
            body = {"video": {"id": _segment(video_id)}, "prompt": prompt}
            response = await self._wire.request("POST", "/videos/edits", idempotent=False, json=body)
        else:
            raise InputError("Give exactly one of video_id or video_path.", hint="Pass the id of a completed video.")
        return Video.model_validate(response.json())

    async def extend_video(self, video_id: str, prompt: str, seconds: str | int) -> Video:
        """A new job that continues a completed video; its ``seconds`` is the stitched total."""
        _check_prompt(prompt)
        body = {"video": {"id": _segment(video_id)}, "prompt": prompt, "seconds": str(seconds)}
        response = await self._wire.request("POST", "/videos/extensions", idempotent=False, json=body)
        return Video.model_validate(response.json())

    async def create_character(self, name: str, video_path: str | Path) -> Character:
        """A reusable character from a short clip (``POST /videos/characters``, multipart only)."""
        if not 1 <= len(name) <= 80:
            raise InputError("A character name has 1 to 80 characters.", hint="Pick a shorter name.")
        upload = await self._read_video(video_path)
        response = await self._post_multipart("/videos/characters", {"name": name}, ("video", upload))
        return Character.model_validate(response.json())

    async def get_character(self, character_id: str) -> Character:
        """A character made by ``create_character``."""
        response = await self._wire.request("GET", f"/videos/characters/{_segment(character_id)}", idempotent=True)
        return Character.model_validate(response.json())

    def _prepare_reference(self, value: ImageReference | str | Path, size: str, fit: FitMode) -> ImageReference:
        return ImageReference.parse(value, roots=self._settings.input_roots).fitted(size, fit)

    async def _read_video(self, path: str | Path) -> Upload:
        real = resolve_input(path, self._settings.input_roots)
        content_type = mimetypes.guess_type(real.name)[0] or "video/mp4"
        return real.name, await anyio.Path(real).read_bytes(), content_type

    async def _post_create(
        self, path: str, fields: dict[str, Any], reference: ImageReference | None, *, model: str
    ) -> httpx2.Response:
        """Multipart, as the official SDK sends it (vLLM-Omni accepts nothing else), unless the body
        has objects multipart cannot carry (characters, an image URL or file id): then JSON, with an
        uploaded image as a data URL."""
        if "characters" not in fields and (reference is None or reference.kind == "file"):
            file = ("input_reference", _upload_of(reference)) if reference is not None else None
            return await self._post_multipart(path, fields, file, model=model)
        if reference is not None:
            fields = {**fields, "input_reference": _reference_object(reference)}
        return await self._wire.request("POST", path, idempotent=False, json=fields, model=model)

    async def _post_multipart(
        self, path: str, fields: dict[str, Any], file: tuple[str, Upload] | None, *, model: str | None = None
    ) -> httpx2.Response:
        """Scalar fields as text parts, then the file part with its filename and content type."""
        parts: list[tuple[str, Any]] = [(name, (None, str(value))) for name, value in fields.items()]
        if file is not None:
            parts.append(file)
        return await self._wire.request("POST", path, idempotent=False, files=parts, model=model)

    # -- read --------------------------------------------------------------------------------------------
    async def get_video_status(self, video_id: str) -> Video:
        """The job as it is now (``GET /videos/{id}``)."""
        video, _hint = await self._retrieve(video_id)
        return video

    async def _retrieve(self, video_id: str) -> tuple[Video, float | None]:
        """The job, and the server's ``openai-poll-after-ms`` hint in seconds (None without one)."""
        response = await self._wire.request("GET", f"/videos/{_segment(video_id)}", idempotent=True)
        raw = response.headers.get("openai-poll-after-ms", "")
        hint = int(raw) / 1000 if raw.isdigit() and int(raw) > 0 else None
        return Video.model_validate(response.json()), hint

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
        deadline = started + timeout
        interval = poll_interval if poll_interval is not None else self._settings.poll_interval
        while True:
            video, hint = await self._retrieve(video_id)
            await _notify(on_progress, video)
            if video.is_terminal:
                if video.status == "failed" and raise_on_failure:
                    raise VideoJobError(video)
                return video
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise WaitTimeoutError(video, self._clock() - started)
            if hint is not None:
                delay = hint
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
        response = await self._wire.request("GET", "/videos", idempotent=True, params=params)
        return VideoList.model_validate(response.json())

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
        response = await self._wire.request("DELETE", f"/videos/{_segment(video_id)}", idempotent=True)
        return DeletedVideo.model_validate(response.json())

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
        """Stream an asset to disk inside the output directory, atomically; retried like any GET.

        Nothing ever appears under the final name unless every byte arrived: a broken download
        (even a cancelled one) leaves no file behind.
        """
        segment = _segment(video_id)
        default_name = DEFAULT_NAMES[variant].format(id=segment)
        target = resolve_output(output_path, self._settings.output_dir, default_name)
        url = self._wire.url(f"/videos/{segment}/content")
        headers = {**self._wire.headers(), "Accept": "application/binary"}  # as the official SDK asks

        async def attempt(number: int) -> DownloadResult:
            params = self._wire.params({"variant": variant})
            request = self._http.stream("GET", url, params=params, headers=headers, timeout=self._wire.timeout)
            async with request as response:
                self._wire.log_response(response, number)
                if not response.is_success:
                    await response.aread()
                    raise error_from_response(response, self._settings)
                content_type = response.headers.get("content-type", VARIANT_CONTENT_TYPES[variant]).split(";")[0]
                final = _with_served_suffix(target, default_name, content_type)
                count = await _save(response, final, video_id)
            return DownloadResult(
                video_id=video_id, variant=variant, path=final, bytes=count, content_type=content_type
            )

        result = await self._wire.retrying(attempt, idempotent=True, method="GET", url=url)
        log.debug("downloaded %s %s: %d bytes", video_id, variant, result.bytes)
        return result


async def _save(response: httpx2.Response, target: Path, video_id: str) -> int:
    """Stream the body into ``target`` atomically; a connection that breaks mid-body is an
    IncompleteDownloadError (an APIConnectionError, so the download is retried from scratch)."""
    encoding = response.headers.get("content-encoding", "identity").lower()
    length = response.headers.get("content-length", "")
    # Content-Length counts encoded bytes; only compare it with what we write when nothing decodes them.
    expected = int(length) if length.isdigit() and encoding == "identity" else None
    try:
        # Nothing to decode: take the bytes as they arrive (re-chunking costs a third of the throughput).
        chunks = response.aiter_raw() if encoding == "identity" else response.aiter_bytes(DOWNLOAD_CHUNK)
        return await write_atomically(target, chunks, expected)
    except httpx2.TimeoutException:
        raise
    except httpx2.TransportError as exc:
        raise IncompleteDownloadError(
            f"The download of {video_id} broke off ({type(exc).__name__}).",
            hint="Nothing was saved under the final name; download again.",
            method="GET",
            url=str(response.request.url.copy_with(query=None)),
        ) from exc


def _with_served_suffix(target: Path, default_name: str, content_type: str) -> Path:
    """A default file name gets the suffix of what the server actually sent (a strict-spec server
    serves the spritesheet as WebP, not JPEG); a name the caller chose is kept as it is."""
    suffix = CONTENT_TYPE_SUFFIXES.get(content_type)
    if target.name != default_name or suffix is None or target.suffix == suffix:
        return target
    return target.with_suffix(suffix)


async def _notify(on_progress: ProgressCallback | None, video: Video) -> None:
    if on_progress is None:
        return
    result = on_progress(video)
    if inspect.isawaitable(result):
        await result


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


def _segment(identifier: str) -> str:
    """An id as one URL path segment (and a safe file name): refuse anything that would change the path."""
    if not identifier or any(c in identifier for c in "/?#%\\\x00") or identifier in (".", ".."):
        raise InputError(f"{identifier!r} is not a valid id.", hint="Use an id returned by the server.")
    return identifier

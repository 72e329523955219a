"""SoraClient: a typed async client for the whole /v1/videos contract.

One injected (or owned) ``httpx2.AsyncClient``; base URL, key, auth header style, timeouts and
retries come from ``Settings``. Method names are the ones our users know from the seed API.
"""

from __future__ import annotations

import inspect
import logging
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
DEFAULT_NAMES = {"video": "{id}.mp4", "thumbnail": "{id}.thumbnail.webp", "spritesheet": "{id}.spritesheet.jpg"}

ProgressCallback = Callable[[Video], Awaitable[None] | None]


class SoraClient:
    """Async client of a server that speaks /v1/videos. Use as ``async with SoraClient(...)``."""

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
        if self._owns_http:
            await self._http.aclose()

    # -- create -----------------------------------------------------------------------------------------
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
        """Start a job (``POST /videos``). Returns at once; the job is ``queued``."""
        model = model or self._settings.model
        size = size or self._settings.size
        seconds = str(seconds if seconds is not None else self._settings.seconds)
        _check_prompt(prompt)
        check_request(model, size, seconds)
        fields: dict[str, Any] = {"prompt": prompt, "model": model, "seconds": seconds, "size": size}
        reference = None
        if input_reference is not None:
            reference = ImageReference.parse(input_reference, roots=self._settings.input_roots).fitted(size, fit)
        if characters:
            fields["characters"] = [{"id": character} for character in characters]
        return await self._create("/videos", fields, reference, model=model)

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
        """Start a job whose first frame is a local image (PNG, JPEG or WebP)."""
        reference = ImageReference.from_path(input_reference_path, roots=self._settings.input_roots)
        return await self.generate_video(prompt, model, seconds, size, input_reference=reference, fit=fit)

    async def remix_video(self, video_id: str, prompt: str) -> Video:
        """A new job that changes a completed video (``POST /videos/{id}/remix``)."""
        _check_prompt(prompt)
        return await self._create(f"/videos/{_segment(video_id)}/remix", {"prompt": prompt}, None)

    async def edit_video(
        self,
        prompt: str,
        *,
        video_id: str | None = None,
        video_path: str | Path | None = None,
        model: str | None = None,
    ) -> Video:
        """A new job that edits a completed video (by id) or an uploaded one (``POST /videos/edits``)."""
        _check_prompt(prompt)
        if (video_id is None) == (video_path is None):
            raise InputError("Give exactly one of video_id or video_path.", hint="Pass the id of a completed video.")
        if video_id is not None:
            return await self._create("/videos/edits", {"video": {"id": video_id}, "prompt": prompt}, None)
        fields = {"prompt": prompt, "model": model or self._settings.model}
        return await self._upload("/videos/edits", fields, "video", self._read_video(video_path), model=model)

    async def extend_video(self, video_id: str, prompt: str, seconds: str | int) -> Video:
        """A new job that continues a completed video; its ``seconds`` is the stitched total."""
        _check_prompt(prompt)
        body = {"video": {"id": video_id}, "prompt": prompt, "seconds": str(seconds)}
        return await self._create("/videos/extensions", body, None)

    async def create_character(self, name: str, video_path: str | Path) -> Character:
        """A reusable character from a short clip (``POST /videos/characters``)."""
        if not 1 <= len(name) <= 80:
            raise InputError("A character name has 1 to 80 characters.", hint="Pick a shorter name.")
        url = "/videos/characters"
        files = [("name", (None, name)), ("video", self._read_video(video_path))]
        response = await self._wire.request("POST", url, idempotent=False, files=files)
        return Character.model_validate(response.json())

    async def get_character(self, character_id: str) -> Character:
        response = await self._wire.request("GET", f"/videos/characters/{_segment(character_id)}", idempotent=True)
        return Character.model_validate(response.json())

    def _read_video(self, path: str | Path | None) -> tuple[str, bytes, str]:
        assert path is not None
        real = resolve_input(path, self._settings.input_roots)
        return (real.name, real.read_bytes(), "video/mp4")

    async def _create(
        self, path: str, fields: dict[str, Any], reference: ImageReference | None, *, model: str | None = None
    ) -> Video:
        """Creates go out once: a retry after the request may have arrived would be a second paid job."""
        if reference is not None and reference.kind == "file" and "characters" not in fields:
            return await self._upload(path, fields, "input_reference", reference_file(reference), model=model)
        if reference is not None:
            fields = {**fields, "input_reference": reference_object(reference)}
        if path == "/videos" and "input_reference" not in fields and "characters" not in fields:
            # Plain creates go as multipart, as the official SDK sends them: some servers
            # (vLLM-Omni) accept nothing else.
            return await self._upload(path, fields, None, None, model=model)
        response = await self._wire.request("POST", path, idempotent=False, json=fields, model=model)
        return Video.model_validate(response.json())

    async def _upload(
        self,
        path: str,
        fields: dict[str, Any],
        file_field: str | None,
        file: tuple[str, bytes, str] | None,
        *,
        model: str | None = None,
    ) -> Video:
        parts: list[tuple[str, Any]] = [(name, (None, str(value))) for name, value in fields.items()]
        if file_field is not None and file is not None:
            parts.append((file_field, file))
        response = await self._wire.request("POST", path, idempotent=False, files=parts, model=model)
        return Video.model_validate(response.json())

    # -- read -------------------------------------------------------------------------------------------
    async def get_video_status(self, video_id: str) -> Video:
        """The job as it is now (``GET /videos/{id}``)."""
        video, _hint = await self._retrieve(video_id)
        return video

    async def _retrieve(self, video_id: str) -> tuple[Video, float | None]:
        response = await self._wire.request("GET", f"/videos/{_segment(video_id)}", idempotent=True)
        raw_hint = response.headers.get("openai-poll-after-ms")
        hint = int(raw_hint) / 1000 if raw_hint and raw_hint.isdigit() else None
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
        """Poll until the job is terminal, at most ``timeout`` seconds.

        Sleeps as the server's ``openai-poll-after-ms`` says, else ``poll_interval`` with gentle
        backoff and jitter; never sleeps past the deadline. On the deadline raises WaitTimeoutError
        with the last status: the job keeps running, and waiting again resumes.
        """
        started = self._clock()
        deadline = started + timeout
        interval = poll_interval if poll_interval is not None else self._settings.poll_interval
        while True:
            video, hint = await self._retrieve(video_id)
            if on_progress is not None:
                result = on_progress(video)
                if inspect.isawaitable(result):
                    await result
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
                delay = interval * (0.8 + 0.4 * random.random())  # noqa: S311 - jitter
                interval = min(interval * 1.5, MAX_POLL_INTERVAL)
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

    # -- download ---------------------------------------------------------------------------------------
    async def download_video(self, video_id: str, output_path: str | Path | None = None) -> DownloadResult:
        return await self.download_content(video_id, output_path, variant="video")

    async def download_thumbnail(self, video_id: str, output_path: str | Path | None = None) -> DownloadResult:
        return await self.download_content(video_id, output_path, variant="thumbnail")

    async def download_spritesheet(self, video_id: str, output_path: str | Path | None = None) -> DownloadResult:
        return await self.download_content(video_id, output_path, variant="spritesheet")

    async def download_content(
        self, video_id: str, output_path: str | Path | None = None, *, variant: VideoVariant = "video"
    ) -> DownloadResult:
        """Stream an asset to disk inside the output directory, atomically; retried like any GET."""
        target = resolve_output(output_path, self._settings.output_dir, DEFAULT_NAMES[variant].format(id=video_id))
        url = self._wire.url(f"/videos/{_segment(video_id)}/content")
        headers = {**self._wire.headers(), "Accept": "application/binary"}

        async def attempt() -> DownloadResult:
            params = self._wire.params({"variant": variant})
            request = self._http.build_request("GET", url, params=params, headers=headers, timeout=self._wire.timeout)
            response = await self._http.send(request, stream=True)
            try:
                if response.status_code >= 400:
                    await response.aread()
                    raise error_from_response(response, self._settings)
                length = response.headers.get("content-length")
                expected = int(length) if length and length.isdigit() else None
                try:
                    count = await write_atomically(target, response.aiter_bytes(DOWNLOAD_CHUNK), expected)
                except httpx2.TransportError as exc:
                    raise IncompleteDownloadError(
                        f"The download of {video_id} broke off ({type(exc).__name__}).",
                        hint="Nothing was saved under the final name; download again.",
                        method="GET",
                        url=url,
                    ) from exc
            finally:
                await response.aclose()
            content_type = response.headers.get("content-type", VARIANT_CONTENT_TYPES[variant]).split(";")[0]
            return DownloadResult(
                video_id=video_id, variant=variant, path=target, bytes=count, content_type=content_type
            )

        result = await self._wire.retrying(attempt, idempotent=True, method="GET", url=url)
        log.debug("downloaded %s %s: %d bytes", video_id, variant, result.bytes)
        return result


def reference_file(reference: ImageReference) -> tuple[str, bytes, str]:
    assert reference.data is not None
    return (reference.filename, reference.data, reference.content_type)


def reference_object(reference: ImageReference) -> dict[str, str]:
    if reference.kind == "url" and reference.url:
        return {"image_url": reference.url}
    if reference.kind == "file_id" and reference.file_id:
        return {"file_id": reference.file_id}
    return {"image_url": reference.as_data_url()}


def _check_prompt(prompt: str) -> None:
    if not prompt or not prompt.strip():
        raise InputError("The prompt is empty.", hint="Describe the video: subject, action, setting, camera.")
    if len(prompt) > 32000:
        raise InputError("The prompt is longer than 32000 characters.", hint="Shorten it.")


def _segment(identifier: str) -> str:
    """An id as one URL path segment: refuse anything that would change the path."""
    if not identifier or any(c in identifier for c in "/?#%\\\x00") or identifier in (".", ".."):
        raise InputError(f"{identifier!r} is not a valid id.", hint="Use an id returned by the server.")
    return identifier

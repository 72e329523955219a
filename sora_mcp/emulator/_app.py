"""The emulator's HTTP surface: every /videos operation of the contract, plus the /_emulator
control plane (faults, stats, expiry) for tests that run it in another process.

The API is served under /v1 and at the root, so a base URL may end in /v1 or not.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import logging
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

import anyio
import av
from PIL import Image, UnidentifiedImageError
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from .._catalog import ALL_SECONDS, SPEC_SECONDS, SPEC_SIZES, lookup, parse_size
from .._errors import InputError
from ._clock import Clock, SystemClock
from ._config import EmulatorConfig
from ._faults import Fault, FaultPlan, RequestStats
from ._media import Media
from ._store import Job, Store

__all__ = ["Emulator"]

log = logging.getLogger("sora_mcp.emulator")

MAX_UPLOAD = 64 * 1024 * 1024
CHUNK = 64 * 1024
SIZE_MISMATCH = "Inpaint image must match the requested width and height"
VARIANTS = ("video", "thumbnail", "spritesheet")
EXTENSIONS = {"video/mp4": "mp4", "image/webp": "webp", "image/jpeg": "jpg"}  # for content-disposition


@dataclass(frozen=True)
class Upload:
    """An uploaded file, read into memory (the form is closed before handlers run)."""

    filename: str
    data: bytes


async def _materialize(value: UploadFile | str) -> Upload | str:
    if isinstance(value, str):
        return value
    return Upload(value.filename or "upload", await value.read())


class ApiError(Exception):
    """An error answered in the standard envelope."""

    def __init__(
        self, status: int, message: str, *, param: str | None = None, code: str | None = None, kind: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.kind = kind or ("invalid_request_error" if status < 500 else "server_error")

    def response(self, headers: dict[str, str] | None = None) -> JSONResponse:
        body = {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}}
        return JSONResponse(body, status_code=self.status, headers=headers)


Handler = Callable[[Request, dict[str, str]], Awaitable[Response]]


def _bad(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, message, param=param, code=code)


def _json_text(value: Any, param: str) -> Any:
    """A multipart form carries objects and arrays as JSON text: decode those, keep the rest."""
    if not isinstance(value, str) or not value.startswith(("{", "[")):
        return value
    try:
        return json.loads(value)
    except ValueError as exc:
        raise _bad(f"Invalid '{param}': the JSON text cannot be parsed.", param) from exc


class Emulator:
    """A local emulator of the /v1/videos API. ``app`` is its ASGI application. ``clock`` drives job
    status and timestamps (a FakeClock lets a test move a job along without waiting)."""

    def __init__(self, config: EmulatorConfig | None = None, *, clock: Clock | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.faults = FaultPlan()
        self.stats = RequestStats()
        self.store = Store(self.config, clock or SystemClock())
        self.routes: list[tuple[str, str, re.Pattern[str], Handler]] = []
        for method, template, handler in (
            ("POST", "/videos", self._create),
            ("GET", "/videos", self._list),
            ("POST", "/videos/characters", self._create_character),
            ("GET", "/videos/characters/{character_id}", self._get_character),
            ("POST", "/videos/edits", self._edit),
            ("POST", "/videos/extensions", self._extend),
            ("GET", "/videos/{video_id}", self._retrieve),
            ("DELETE", "/videos/{video_id}", self._delete),
            ("GET", "/videos/{video_id}/content", self._content),
            ("POST", "/videos/{video_id}/remix", self._remix),
        ):
            pattern = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "$")
            self.routes.append((method, template, pattern, handler))

    # -- helpers for tests -----------------------------------------------------------------------------
    @property
    def app(self) -> Emulator:
        return self

    def expire_assets(self, video_id: str) -> None:
        self.store.jobs[video_id].expired = True

    # -- ASGI ------------------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        path = request.url.path
        path = path[3:] if path.startswith("/v1/") or path == "/v1" else path
        if path.startswith("/_emulator") and self.config.control:
            response = await self._control(request, path)
        else:
            response = await self._api(request, path)
        response.headers.setdefault("x-request-id", "req_" + secrets.token_hex(16))
        await response(scope, receive, send)

    async def _api(self, request: Request, path: str) -> Response:
        method = request.method
        for route_method, template, pattern, handler in self.routes:
            match = pattern.match(path)
            if match and route_method == method:
                response = await self._handle(request, template, handler, match.groupdict())
                self.stats.record(method, template, response.status_code)
                return response
        known = any(pattern.match(path) for _, _, pattern, _ in self.routes)
        error = ApiError(405 if known else 404, f"Invalid URL ({method} /v1{path})", kind="invalid_request_error")
        self.stats.record(method, path, error.status)
        return error.response()

    async def _handle(self, request: Request, template: str, handler: Handler, params: dict[str, str]) -> Response:
        method = request.method
        delay = self.faults.take("delay", method, template)
        if delay is not None:
            await anyio.sleep(delay.delay)
        injected = self.faults.take("status", method, template)
        if injected is not None:
            return _injected_response(injected)
        try:
            self._authenticate(request)
            request.state.template = template
            return await handler(request, params)
        except ApiError as error:
            return error.response()

    def _authenticate(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        key = header[7:].strip() if header.lower().startswith("bearer ") else request.headers.get("api-key", "")
        if not key:
            raise ApiError(
                401,
                "You didn't provide an API key. You need to provide your API key in an Authorization header "
                "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                kind="invalid_request_error",
            )
        if self.config.api_key is not None and not secrets.compare_digest(key, self.config.api_key):
            raise ApiError(401, "Incorrect API key provided.", code="invalid_api_key", kind="invalid_request_error")

    # -- request bodies ----------------------------------------------------------------------------
    async def _fields(self, request: Request) -> dict[str, Any]:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("application/json"):
            try:
                data = json.loads(await request.body() or b"{}")
            except ValueError as exc:
                raise _bad(f"We could not parse the JSON body of your request: {exc}") from exc
            if not isinstance(data, dict):
                raise _bad("The JSON body must be an object.")
            return data
        if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
            async with request.form(max_part_size=MAX_UPLOAD) as form:
                items = [(key, await _materialize(value)) for key, value in form.multi_items()]
            fields: dict[str, Any] = {}
            for key, value in items:
                outer, bracket, inner = key.partition("[")
                if bracket:
                    nested = fields.setdefault(outer, {})
                    if isinstance(nested, dict):
                        nested[inner.rstrip("]")] = value
                else:
                    fields[key] = value
            return fields
        if not await request.body():
            return {}
        raise _bad("Unsupported content type: send application/json or multipart/form-data.")

    # -- validation ------------------------------------------------------------------------------------
    def _prompt(self, fields: dict[str, Any]) -> str:
        prompt = fields.get("prompt")
        if not isinstance(prompt, str) or not prompt:
            raise _bad("Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter")
        if len(prompt) > 32000:
            raise _bad(
                "Invalid 'prompt': string too long (maximum 32000 characters).", "prompt", "string_above_max_length"
            )
        return prompt

    def _model(self, fields: dict[str, Any], default: str = "sora-2") -> str:
        model = fields.get("model") or default
        if not isinstance(model, str):
            raise _bad("Invalid 'model': expected a string.", "model")
        if model in self.config.retired_models:
            raise ApiError(
                404,
                f"The model `{model}` does not exist or you do not have access to it.",
                param="model",
                code="model_not_found",
            )
        return model

    def _size_seconds(self, model: str, size: Any, seconds: Any) -> tuple[str, str]:
        if not isinstance(size, str):
            raise _bad("Invalid 'size': expected a string like '720x1280'.", "size")
        seconds = str(seconds)
        if self.config.strict_spec:
            if size not in SPEC_SIZES:
                raise _bad(f"Invalid 'size': must be one of {', '.join(SPEC_SIZES)}.", "size", "invalid_value")
            if seconds not in SPEC_SECONDS:
                raise _bad(f"Invalid 'seconds': must be one of {', '.join(SPEC_SECONDS)}.", "seconds", "invalid_value")
            return size, seconds
        spec = lookup(model)
        try:
            width, height = parse_size(size)
        except InputError as exc:
            raise _bad(f"Invalid 'size': {exc.message}", "size", "invalid_value") from exc
        if spec is not None and size not in spec.sizes:
            raise _bad(f"Invalid 'size' for {model}: must be one of {', '.join(spec.sizes)}.", "size", "invalid_value")
        if spec is not None and seconds not in spec.seconds:
            raise _bad(
                f"Invalid 'seconds' for {model}: must be one of {', '.join(spec.seconds)}.", "seconds", "invalid_value"
            )
        if not seconds.isdigit() or not 1 <= int(seconds) <= 120:
            raise _bad(
                "Invalid 'seconds': must be a whole number of seconds from 1 to 120.", "seconds", "invalid_value"
            )
        if width * height > self.config.max_render_pixels or width < 16 or height < 16:
            raise _bad(f"Invalid 'size': {size} is outside what this server renders.", "size", "invalid_value")
        return size, seconds

    async def _check_reference(self, reference: Any, size: str) -> None:
        if reference is None or reference == "":
            return
        if isinstance(reference, Upload):
            await self._check_image(reference.data, size)
            return
        reference = _json_text(reference, "input_reference")
        if not isinstance(reference, dict):
            raise _bad("Invalid 'input_reference': expected a file or an object.", "input_reference")
        given = [key for key in ("image_url", "file_id") if reference.get(key)]
        if len(given) != 1:
            raise _bad("Invalid 'input_reference': provide exactly one of 'image_url' or 'file_id'.", "input_reference")
        url = reference.get("image_url")
        if isinstance(url, str) and url.startswith("data:"):
            await self._check_image(_decode_data_url(url), size)
        elif isinstance(url, str) and not url.startswith(("http://", "https://")):
            raise _bad("Invalid 'input_reference.image_url': expected an http(s) or data URL.", "input_reference")

    async def _check_image(self, data: bytes, size: str) -> None:
        def measure() -> tuple[str | None, tuple[int, int]]:
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                return image.format, image.size

        try:
            fmt, dimensions = await anyio.to_thread.run_sync(measure)
        except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
            raise _bad("Invalid 'input_reference': the file is not a readable image.", "input_reference") from exc
        if fmt not in ("PNG", "JPEG", "WEBP"):
            raise _bad(
                f"Invalid 'input_reference': unsupported image format {fmt}; use image/jpeg, image/png or image/webp.",
                "input_reference",
            )
        if f"{dimensions[0]}x{dimensions[1]}" != size:
            raise ApiError(400, SIZE_MISMATCH)

    def _job(self, video_id: str) -> Job:
        job = self.store.jobs.get(video_id)
        if job is None:
            raise ApiError(404, f"Video with id '{video_id}' not found.", param="video_id", code="video_not_found")
        return job

    def _completed(self, video_id: str, action: str) -> Job:
        job = self._job(video_id)
        status, _ = self.store.state(job)
        if status != "completed":
            raise _bad(f"Video '{video_id}' is {status}; only completed videos can be {action}.", "video_id")
        return job

    def _planned_error(self, request: Request) -> tuple[str, str] | None:
        fault = self.faults.take("fail_job", request.method, request.state.template)
        return (fault.error_code, fault.error_message) if fault else None

    # -- operations --------------------------------------------------------------------------------
    async def _create(self, request: Request, _params: dict[str, str]) -> Response:
        fields = await self._fields(request)
        prompt = self._prompt(fields)
        model = self._model(fields)
        size, seconds = self._size_seconds(model, fields.get("size") or "720x1280", fields.get("seconds") or "4")
        await self._check_reference(fields.get("input_reference"), size)
        self._check_characters(fields.get("characters"))
        job = self.store.create(
            model=model, prompt=prompt, size=size, seconds=seconds, planned_error=self._planned_error(request)
        )
        return JSONResponse(self.store.resource(job, fresh=True))

    def _check_characters(self, characters: Any) -> None:
        if characters is None:
            return
        characters = _json_text(characters, "characters")
        if isinstance(characters, str):
            characters = [{"id": characters}]
        if not isinstance(characters, list) or len(characters) > 2:
            raise _bad("Invalid 'characters': at most 2 characters, as [{\"id\": ...}].", "characters")
        for item in characters:
            character_id = item.get("id") if isinstance(item, dict) else None
            if character_id not in self.store.characters:
                raise ApiError(404, f"Character '{character_id}' not found.", param="characters")

    async def _list(self, request: Request, _params: dict[str, str]) -> Response:
        query = request.query_params
        order = query.get("order", "desc")
        if order not in ("asc", "desc"):
            raise _bad("Invalid 'order': must be 'asc' or 'desc'.", "order")
        try:
            limit = int(query.get("limit", "20"))
        except ValueError as exc:
            raise _bad("Invalid 'limit': expected an integer.", "limit") from exc
        if not 0 <= limit <= 100:
            raise _bad("Invalid 'limit': must be between 0 and 100.", "limit")
        jobs = self.store.ordered(order)
        after = query.get("after")
        ids = [job.id for job in jobs]
        if after in ids:
            jobs = jobs[ids.index(after) + 1 :]
        page = jobs[:limit]
        data = [self.store.resource(job) for job in page]
        return JSONResponse(
            {
                "object": "list",
                "data": data,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
                "has_more": len(jobs) > len(page),
            }
        )

    async def _retrieve(self, _request: Request, params: dict[str, str]) -> Response:
        job = self._job(params["video_id"])
        resource = self.store.resource(job)
        headers = {}
        if resource["status"] in ("queued", "in_progress"):
            headers["openai-poll-after-ms"] = str(self.config.poll_after_ms)
        return JSONResponse(resource, headers=headers)

    async def _delete(self, _request: Request, params: dict[str, str]) -> Response:
        job = self._job(params["video_id"])
        status, _ = self.store.state(job)
        if status not in ("completed", "failed"):
            raise _bad(f"Video '{job.id}' is {status}; only completed or failed videos can be deleted.", "video_id")
        del self.store.jobs[job.id]
        return JSONResponse({"object": "video.deleted", "deleted": True, "id": job.id})

    async def _content(self, request: Request, params: dict[str, str]) -> Response:
        variant = request.query_params.get("variant", "video")
        if variant not in VARIANTS:
            raise _bad("Invalid 'variant': must be one of video, thumbnail, spritesheet.", "variant")
        job = self._job(params["video_id"])
        status, _ = self.store.state(job)
        if status != "completed":
            raise _bad(f"Video '{job.id}' is {status}; content is available once it is completed.", "video_id")
        if self.store.is_expired(job):
            raise ApiError(
                404, f"The assets of video '{job.id}' have expired. Generate it again.", code="video_expired"
            )
        media = await self._media(job)
        data, content_type = {
            "video": (media.video, "video/mp4"),
            "thumbnail": (media.thumbnail, "image/webp"),
            "spritesheet": (media.spritesheet, media.spritesheet_type),
        }[variant]
        length = max(len(data), self.config.pad_video_bytes) if variant == "video" else len(data)
        drop = self.faults.take("drop", request.method, request.state.template)
        slow = self.faults.take("slow", request.method, request.state.template)
        headers = {
            "content-length": str(length),
            "content-disposition": f'attachment; filename="{job.id}.{EXTENSIONS[content_type]}"',
        }
        body = _stream(data, length, drop.after_bytes if drop else None, slow.delay if slow else 0.0)
        return StreamingResponse(body, media_type=content_type, headers=headers)

    async def _media(self, job: Job) -> Media:
        try:
            return await job.media.get()
        except Exception as exc:
            log.exception("rendering the media of %s failed", job.id)
            raise ApiError(500, "The server had an error while rendering this video's content.") from exc

    async def _remix(self, request: Request, params: dict[str, str]) -> Response:
        fields = await self._fields(request)
        prompt = self._prompt(fields)
        source = self._completed(params["video_id"], "remixed")
        job = self.store.create(
            model=source.model,
            prompt=prompt,
            size=source.size,
            seconds=source.seconds,
            remixed_from=source.id,
            planned_error=self._planned_error(request),
        )
        return JSONResponse(self.store.resource(job, fresh=True))

    async def _source(self, fields: dict[str, Any], action: str) -> tuple[str, str, str, int]:
        """(model, size, seconds, extensions so far) of the video an edit or extension starts from."""
        video = _json_text(fields.get("video"), "video")
        if isinstance(video, dict) and isinstance(video.get("id"), str):
            source = self._completed(video["id"], action)
            return source.model, source.size, source.seconds, source.extensions
        if isinstance(video, Upload):
            model = fields.get("model")
            if not isinstance(model, str) or not model:
                raise _bad("'model' is required when 'video' is an uploaded file.", "model")
            size, seconds = await _probe(video.data)
            return self._model(fields), size, seconds, 0
        raise _bad("Missing required parameter: 'video' (an object with 'id', or a file).", "video")

    async def _edit(self, request: Request, _params: dict[str, str]) -> Response:
        fields = await self._fields(request)
        prompt = self._prompt(fields)
        model, size, seconds, _ = await self._source(fields, "edited")
        job = self.store.create(
            model=model, prompt=prompt, size=size, seconds=seconds, planned_error=self._planned_error(request)
        )
        return JSONResponse(self.store.resource(job, fresh=True))

    async def _extend(self, request: Request, _params: dict[str, str]) -> Response:
        fields = await self._fields(request)
        prompt = self._prompt(fields)
        model, size, seconds, extensions = await self._source(fields, "extended")
        added = str(fields.get("seconds") or "")
        allowed = SPEC_SECONDS if self.config.strict_spec else ALL_SECONDS
        if added not in allowed:
            raise _bad(f"Invalid 'seconds': must be one of {', '.join(allowed)}.", "seconds", "invalid_value")
        if extensions >= 6:
            raise _bad("A video can be extended at most 6 times.", "video", "extension_limit_reached")
        total = int(seconds) + int(added)
        if total > 120:
            raise _bad(f"Extending to {total}s would exceed the 120-second maximum.", "seconds", "duration_limit")
        job = self.store.create(
            model=model,
            prompt=prompt,
            size=size,
            seconds=str(total),
            extensions=extensions + 1,
            planned_error=self._planned_error(request),
        )
        return JSONResponse(self.store.resource(job, fresh=True))

    async def _create_character(self, request: Request, _params: dict[str, str]) -> Response:
        fields = await self._fields(request)
        name, video = fields.get("name"), fields.get("video")
        if not isinstance(name, str) or not 1 <= len(name) <= 80:
            raise _bad("Invalid 'name': 1 to 80 characters.", "name")
        if not isinstance(video, Upload):
            raise _bad("Missing required parameter: 'video' (a video file).", "video")
        await _probe(video.data)
        character = self.store.add_character(name)
        return JSONResponse(asdict(character))

    async def _get_character(self, _request: Request, params: dict[str, str]) -> Response:
        character = self.store.characters.get(params["character_id"])
        if character is None:
            raise ApiError(404, f"Character '{params['character_id']}' not found.", param="character_id")
        return JSONResponse(asdict(character))

    # -- control plane -------------------------------------------------------------------------------
    async def _control(self, request: Request, path: str) -> Response:
        if path == "/_emulator/health":
            return JSONResponse({"ok": True})
        if path == "/_emulator/stats":
            requests = [{"method": m, "path": t, "status": s} for m, t, s in self.stats.requests]
            return JSONResponse({"counts": self.stats.counts(), "requests": requests})
        if path == "/_emulator/faults" and request.method == "POST":
            try:
                fault = self.faults.add(Fault.from_json(await request.json()))
            except (ValueError, TypeError) as exc:  # the standard envelope, like every other 400
                return ApiError(400, str(exc), param="fault").response()
            return JSONResponse(asdict(fault), status_code=201)
        if path == "/_emulator/faults" and request.method == "DELETE":
            self.faults.clear()
            return Response(status_code=204)
        match = re.fullmatch(r"/_emulator/videos/([^/]+)/expire", path)
        if match and request.method == "POST" and match.group(1) in self.store.jobs:
            self.expire_assets(match.group(1))
            return Response(status_code=204)
        return JSONResponse({"error": "unknown control endpoint"}, status_code=404)


def _injected_response(fault: Fault) -> Response:
    headers: dict[str, str] = {}
    if fault.retry_after is not None:
        headers["retry-after"] = fault.retry_after
    if fault.retry_after_ms is not None:
        headers["retry-after-ms"] = str(fault.retry_after_ms)
    if fault.status == 429:
        error = ApiError(
            429,
            "Rate limit reached for requests. Please try again later.",
            code="rate_limit_exceeded",
            kind="rate_limit_error",
        )
    else:
        error = ApiError(fault.status, "The server had an error while processing your request. Sorry about that!")
    return error.response(headers)


class DroppedConnection(ConnectionResetError):
    """Raised inside a streaming body to make the server abort the connection (fault injection)."""


async def _stream(data: bytes, length: int, drop_after: int | None, pause: float) -> AsyncIterator[bytes]:
    """Send ``length`` bytes (``data`` then zero padding), pausing ``pause`` s between chunks; with
    ``drop_after``, abort after that many."""
    limit = length if drop_after is None else min(drop_after, length)
    sent = 0
    while sent < limit:
        end = min(limit, sent + CHUNK)
        chunk = data[sent:end]
        yield chunk + bytes(end - sent - len(chunk))
        sent = end
        await anyio.sleep(pause)
    if drop_after is not None and drop_after < length:
        raise DroppedConnection(f"fault injection: connection dropped after {sent} of {length} bytes")


def _decode_data_url(url: str) -> bytes:
    header, _, payload = url.partition(",")
    if ";base64" not in header:
        raise _bad("Invalid 'input_reference.image_url': data URLs must be base64-encoded.", "input_reference")
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _bad("Invalid 'input_reference.image_url': bad base64 data.", "input_reference") from exc


async def _probe(data: bytes) -> tuple[str, str]:
    """(size, seconds) of an uploaded video."""

    def probe() -> tuple[str, str]:
        with av.open(io.BytesIO(data), "r") as container:
            stream = container.streams.video[0]
            seconds = max(1, round((container.duration or 0) / 1_000_000))
            return f"{stream.codec_context.width}x{stream.codec_context.height}", str(seconds)

    try:
        return await anyio.to_thread.run_sync(probe)
    except (av.FFmpegError, IndexError, ValueError) as exc:
        raise _bad("Invalid 'video': the file is not a readable video.", "video") from exc


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return

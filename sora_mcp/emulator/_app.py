"""The emulator's HTTP surface: every /videos operation of the contract, plus the /_emulator
control plane (faults, stats, expiry) for tests that run it in another process.

The API is served under /v1 and at the root, so a base URL may end in /v1 or not. With another
dialect (``EmulatorConfig.dialect``) it answers as that server does: the handlers only read the
dialect's table (``_dialects.py``), they never ask which server it is.
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

from .._assets import ASSETS, MEDIA_SUFFIXES, VARIANTS
from .._catalog import ALL_SECONDS, SPEC_SECONDS, SPEC_SIZES, lookup, parse_size
from .._errors import InputError
from ._answers import ApiError, Canned, Refused, render_error
from ._clock import Clock, SystemClock
from ._config import EmulatorConfig
from ._dialects import FASTAPI_NOT_FOUND, ROUTES, Operation, dialect_named
from ._faults import Fault, FaultPlan, RequestStats
from ._media import Media
from ._store import Job, Store

__all__ = ["Emulator"]

log = logging.getLogger("sora_mcp.emulator")

MAX_UPLOAD = 64 * 1024 * 1024
CHUNK = 64 * 1024
SIZE_MISMATCH = "Inpaint image must match the requested width and height"


@dataclass(frozen=True)
class Upload:
    """An uploaded file, read into memory (the form is closed before handlers run)."""

    filename: str
    data: bytes


async def _materialize(value: UploadFile | str) -> Upload | str:
    if isinstance(value, str):
        return value
    return Upload(value.filename or "upload", await value.read())


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
        self.dialect = dialect_named(self.config.dialect)
        self.faults = FaultPlan()
        self.stats = RequestStats()
        self.store = Store(self.config, clock or SystemClock())
        # What a gateway puts in its ids about the deployment it routed to (LiteLLM: a sha256 of it).
        self.deployment = secrets.token_hex(32)
        handlers: dict[Operation, Handler] = {
            "create": self._create,
            "list": self._list,
            "create_character": self._create_character,
            "get_character": self._get_character,
            "edit": self._edit,
            "extend": self._extend,
            "retrieve": self._retrieve,
            "delete": self._delete,
            "content": self._content,
            "remix": self._remix,
        }
        self.routes: list[tuple[str, str, re.Pattern[str], Handler]] = []
        self.operations: dict[str, Operation] = {}  # template -> operation, for refusals
        for operation in self.dialect.operations:  # only the routes this server has, in its order
            method, template = ROUTES[operation]
            pattern = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "$")
            self.routes.append((method, template, pattern, handlers[operation]))
            self.operations[f"{method} {template}"] = operation

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
        within = self.dialect.path_within(path)
        if (within or path).startswith("/_emulator") and self.config.control:
            response = await self._control(request, within or path)
        elif within is None:  # outside the prefixes this server serves the API under
            response = (self.dialect.unrouted or FASTAPI_NOT_FOUND).response()
            self.stats.record(request.method, path, response.status_code)
        else:
            response = await self._api(request, within)
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
        response = self._unrouted(method, path)
        self.stats.record(method, path, response.status_code)
        return response

    def _unrouted(self, method: str, path: str) -> Response:
        """What the server's framework answers a path or a method it has no route for."""
        partial = next((m for m, _, pattern, _ in self.routes if pattern.match(path)), None)
        if self.dialect.routing == "fastapi":
            # Starlette: 405 with the methods of the first route whose path matches, else 404.
            if partial is None:
                return FASTAPI_NOT_FOUND.response()
            return Canned(405, {"detail": "Method Not Allowed"}, headers=(("allow", partial),)).response()
        status = 405 if partial is not None else 404
        error = ApiError(status, f"Invalid URL ({method} {self.dialect.base_path}{path})", kind="invalid_request_error")
        return error.response()

    async def _handle(self, request: Request, template: str, handler: Handler, params: dict[str, str]) -> Response:
        method = request.method
        delay = self.faults.take("delay", method, template)
        if delay is not None:
            await anyio.sleep(delay.delay)
        injected = self.faults.take("status", method, template)
        if injected is not None:
            return _injected_response(injected)
        request.state.model = None  # the model an error concerns, once known (LiteLLM names its group)
        try:
            self._authenticate(request)
            refusal = self.dialect.refusals.get(self.operations[f"{method} {template}"])
            if refusal is not None:
                raise Refused(refusal)
            request.state.template = template
            return await handler(request, params)
        except Refused as refused:
            return refused.answer.response()
        except ApiError as error:
            return render_error(error, self.dialect.errors, model=request.state.model or "sora-2")

    def _authenticate(self, request: Request) -> None:
        if not self.dialect.needs_key and self.config.api_key is None:
            return
        key = self.dialect.key_of(request.headers)
        if not key:
            if self.dialect.missing_key is not None:
                raise Refused(self.dialect.missing_key)
            raise ApiError(
                401,
                "You didn't provide an API key. You need to provide your API key in an Authorization header "
                "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                kind="invalid_request_error",
            )
        if self.config.api_key is not None and not secrets.compare_digest(key, self.config.api_key):
            if self.dialect.wrong_key is not None:
                raise Refused(self.dialect.wrong_key)
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

    def _model(self, request: Request, fields: dict[str, Any], default: str = "sora-2") -> str:
        served = self.dialect.served_model
        model = fields.get("model") or served or default
        if not isinstance(model, str):
            raise _bad("Invalid 'model': expected a string.", "model")
        request.state.model = model
        if served is not None and model != served:
            raise _bad(f"Model mismatch: request specifies '{model}' but server is running '{served}'.")
        deployments = self.dialect.deployments
        if deployments is not None and model not in deployments and self.dialect.unknown_deployment is not None:
            raise Refused(self.dialect.unknown_deployment)
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

    def _job(self, request: Request, video_id: str) -> Job:
        dialect = self.dialect
        decoded = dialect.decode(video_id) if dialect.foreign_id is not None else None
        if dialect.foreign_id is not None and decoded is None:  # a gateway cannot route an id it did not mint
            raise Refused(dialect.foreign_id)
        job = self.store.jobs.get(video_id)
        request.state.model = job.model if job is not None else decoded[0] if decoded else None
        if job is None:
            message = dialect.not_found or f"Video with id '{dialect.upstream_id(video_id)}' not found."
            raise ApiError(404, message, param="video_id", code="video_not_found")
        return job

    def _completed(self, request: Request, video_id: str, action: str) -> Job:
        job = self._job(request, video_id)
        status, _ = self.store.state(job)
        if status != "completed":
            raise _bad(f"Video '{video_id}' is {status}; only completed videos can be {action}.", "video_id")
        return job

    def _video(self, job: Job, *, fresh: bool = False) -> dict[str, Any]:
        """The job as this server answers it (a fresh job is always reported queued)."""
        return self.dialect.shape(self.store.resource(job, fresh=fresh), fresh=fresh)

    def _new_job(self, request: Request, *, model: str, **job: Any) -> Job:
        """A new job whose id has this server's shape."""

        def mint(inner: str, sequence: int) -> str:
            return self.dialect.mint(inner, model=model, sequence=sequence, deployment=self.deployment)

        return self.store.create(model=model, planned_error=self._planned_error(request), mint=mint, **job)

    def _planned_error(self, request: Request) -> tuple[str, str] | None:
        fault = self.faults.take("fail_job", request.method, request.state.template)
        return (fault.error_code, fault.error_message) if fault else None

    # -- operations --------------------------------------------------------------------------------
    async def _create(self, request: Request, _params: dict[str, str]) -> Response:
        fields = await self._fields(request)
        self._check_encoding(request, fields)
        prompt = self._prompt(fields)
        model = self._model(request, fields)
        size, seconds = self._size_seconds(model, fields.get("size") or "720x1280", fields.get("seconds") or "4")
        await self._check_reference(fields.get("input_reference"), size)
        self._check_characters(fields.get("characters"))
        job = self._new_job(request, model=model, prompt=prompt, size=size, seconds=seconds)
        return JSONResponse(self._video(job, fresh=True))

    def _check_encoding(self, request: Request, fields: dict[str, Any]) -> None:
        """Refuse a create the way a server that reads only some encodings does."""
        dialect = self.dialect
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("application/json") and dialect.json_create is not None:
            raise Refused(dialect.json_create)
        has_file = any(isinstance(value, Upload) for value in fields.values())
        if content_type.startswith("multipart/") and not has_file and dialect.bare_multipart_create is not None:
            raise Refused(dialect.bare_multipart_create)
        reference = fields.get("input_reference")
        if isinstance(reference, str | dict) and reference and dialect.text_reference is not None:
            raise Refused(dialect.text_reference)

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
        data = [self._video(job) for job in page]
        if not self.dialect.list_cursors:
            return JSONResponse({"data": data, "object": "list"})
        return JSONResponse(
            {
                "object": "list",
                "data": data,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
                "has_more": len(jobs) > len(page),
            }
        )

    async def _retrieve(self, request: Request, params: dict[str, str]) -> Response:
        job = self._job(request, params["video_id"])
        resource = self.store.resource(job)
        phase = resource["status"]
        headers = {}
        if phase in ("queued", "in_progress") and self.dialect.poll_after:
            headers["openai-poll-after-ms"] = str(self.config.poll_after_ms)
        failed_status = self.dialect.failed_status if phase == "failed" else None
        answer = self.dialect.shape(resource, fresh=False)
        return JSONResponse(answer, status_code=failed_status or 200, headers=headers)

    async def _delete(self, request: Request, params: dict[str, str]) -> Response:
        job = self._job(request, params["video_id"])
        status, _ = self.store.state(job)
        if status not in ("completed", "failed") and not self.dialect.deletes_pending:
            raise _bad(f"Video '{job.id}' is {status}; only completed or failed videos can be deleted.", "video_id")
        answer = self._video(job)
        del self.store.jobs[job.id]
        if self.dialect.delete_answer == "video":
            return JSONResponse({**answer, "status": "deleted"})
        return JSONResponse({"object": "video.deleted", "deleted": True, "id": job.id})

    async def _content(self, request: Request, params: dict[str, str]) -> Response:
        dialect = self.dialect
        variant = request.query_params.get("variant", "video") if dialect.variants else "video"
        if variant not in VARIANTS:  # the one table of asset kinds (sora_mcp._assets)
            raise _bad("Invalid 'variant': must be one of video, thumbnail, spritesheet.", "variant")
        job = self._job(request, params["video_id"])
        status, _ = self.store.state(job)
        refused = {"failed": dialect.content_failed}.get(status, dialect.content_pending)
        if status != "completed" and refused is not None:
            raise ApiError(*refused)
        if status != "completed":
            raise _bad(f"Video '{job.id}' is {status}; content is available once it is completed.", "video_id")
        if self.store.is_expired(job):
            raise ApiError(
                404, f"The assets of video '{job.id}' have expired. Generate it again.", code="video_expired"
            )
        media = await self._media(job)
        data, content_type = {
            "video": (media.video, ASSETS["video"].content_type),
            "thumbnail": (media.thumbnail, ASSETS["thumbnail"].content_type),
            "spritesheet": (media.spritesheet, media.spritesheet_type),
        }[variant]
        length = max(len(data), self.config.pad_video_bytes) if variant == "video" else len(data)
        drop = self.faults.take("drop", request.method, request.state.template)
        slow = self.faults.take("slow", request.method, request.state.template)
        headers = {
            "content-length": str(length),
            "content-disposition": dialect.disposition.format(id=job.id, ext=MEDIA_SUFFIXES[content_type][1:]),
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
        source = self._completed(request, params["video_id"], "remixed")
        job = self._new_job(
            request,
            model=source.model,
            prompt=prompt,
            size=source.size,
            seconds=source.seconds,
            remixed_from=self.dialect.upstream_id(source.id),  # a gateway names the source as its upstream does
        )
        return JSONResponse(self._video(job, fresh=True))

    async def _source(self, request: Request, fields: dict[str, Any], action: str) -> tuple[str, str, str, int]:
        """(model, size, seconds, extensions so far) of the video an edit or extension starts from."""
        video = _json_text(fields.get("video"), "video")
        if isinstance(video, dict) and isinstance(video.get("id"), str):
            source = self._completed(request, video["id"], action)
            return source.model, source.size, source.seconds, source.extensions
        if isinstance(video, Upload):
            model = fields.get("model")
            if not isinstance(model, str) or not model:
                raise _bad("'model' is required when 'video' is an uploaded file.", "model")
            size, seconds = await _probe(video.data)
            return self._model(request, fields), size, seconds, 0
        raise _bad("Missing required parameter: 'video' (an object with 'id', or a file).", "video")

    async def _edit(self, request: Request, _params: dict[str, str]) -> Response:
        fields = await self._fields(request)
        prompt = self._prompt(fields)
        model, size, seconds, _ = await self._source(request, fields, "edited")
        job = self._new_job(request, model=model, prompt=prompt, size=size, seconds=seconds)
        return JSONResponse(self._video(job, fresh=True))

    async def _extend(self, request: Request, _params: dict[str, str]) -> Response:
        fields = await self._fields(request)
        prompt = self._prompt(fields)
        model, size, seconds, extensions = await self._source(request, fields, "extended")
        added = str(fields.get("seconds") or "")
        allowed = SPEC_SECONDS if self.config.strict_spec else ALL_SECONDS
        if added not in allowed:
            raise _bad(f"Invalid 'seconds': must be one of {', '.join(allowed)}.", "seconds", "invalid_value")
        if extensions >= 6:
            raise _bad("A video can be extended at most 6 times.", "video", "extension_limit_reached")
        total = int(seconds) + int(added)
        if total > 120:
            raise _bad(f"Extending to {total}s would exceed the 120-second maximum.", "seconds", "duration_limit")
        job = self._new_job(
            request, model=model, prompt=prompt, size=size, seconds=str(total), extensions=extensions + 1
        )
        return JSONResponse(self._video(job, fresh=True))

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

"""Dialects: how the living servers that speak /v1/videos deviate from OpenAI's spec, as one table.

A ``Dialect`` is data the app reads: where the API is served and how a key is sent, which routes
exist and how the framework answers the others, which creates are refused, what ids look like,
the status words, the keys a video leaves out or adds, and how errors are wrapped. Every value has
its source in docs/dialects.md; the tests in tests/dialects run the MCP tools and the CLI against each.

``openai`` is the emulator as it always was: the default, answering byte for byte as before.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.datastructures import Headers

from ._answers import Canned, ErrorStyle, fastapi_validation, vllm_error

__all__ = ["DIALECTS", "OPERATIONS", "ROUTES", "Dialect", "Operation", "dialect_named"]

Operation = Literal[
    "create", "list", "create_character", "get_character", "edit", "extend", "retrieve", "delete", "content", "remix"
]
# Every operation the emulator implements, in the order it matches them.
ROUTES: dict[Operation, tuple[str, str]] = {
    "create": ("POST", "/videos"),
    "list": ("GET", "/videos"),
    "create_character": ("POST", "/videos/characters"),
    "get_character": ("GET", "/videos/characters/{character_id}"),
    "edit": ("POST", "/videos/edits"),
    "extend": ("POST", "/videos/extensions"),
    "retrieve": ("GET", "/videos/{video_id}"),
    "delete": ("DELETE", "/videos/{video_id}"),
    "content": ("GET", "/videos/{video_id}/content"),
    "remix": ("POST", "/videos/{video_id}/remix"),
}
OPERATIONS: tuple[Operation, ...] = tuple(ROUTES)

IdStyle = Literal["openai", "litellm", "sequence", "uuid"]
# int: as the spec; binary: 0 until done, then 100; absent: no key; float: 42.5; text: "42";
# overflow: -1 while queued, 100-199 while rendering (what a careless server could send).
ProgressStyle = Literal["int", "binary", "absent", "float", "text", "overflow"]
Routing = Literal["openai", "fastapi"]

_LITELLM_ID = re.compile(
    r"litellm:custom_llm_provider:openai;model_id:(?P<model>[^;]*);video_id:(?P<inner>[^;]*)(;.*)?"
)


@dataclass(frozen=True)
class Dialect:
    """How one server speaks /v1/videos. Defaults are OpenAI's; each dialect overrides what differs."""

    name: str
    server: str  # who answers this way, in words (docs, the README's matrix)

    # -- where it is, and how a key is sent
    base_path: str = "/v1"  # the path of the base URL clients use
    prefixes: tuple[str, ...] = ("/v1", "")  # paths the API is served under
    unrouted: Canned | None = None  # a path outside them (None: the routing style's 404)
    key_headers: tuple[str, ...] = ("authorization", "api-key")  # Authorization needs "Bearer "
    needs_key: bool = True  # False: no key checked unless the emulator is given one (as --api-key)
    missing_key: Canned | None = None  # None: OpenAI's 401
    wrong_key: Canned | None = None

    # -- what it serves
    operations: tuple[Operation, ...] = OPERATIONS  # the routes it has, in its framework's order
    routing: Routing = "openai"  # how a path or method without a route is answered
    refusals: Mapping[Operation, Canned] = field(default_factory=dict, hash=False)  # routed, authed, refused
    errors: ErrorStyle = "openai"
    not_found: str | None = None  # its words for an unknown id (None: the emulator's)

    # -- creates
    json_create: Canned | None = None  # its answer to a JSON create (None: accepted)
    bare_multipart_create: Canned | None = None  # to a multipart create without a file (None: accepted)
    text_reference: Canned | None = None  # to input_reference sent as text, a URL or file id (None: accepted)
    served_model: str | None = None  # one model per server: another is refused, none means this one
    deployments: frozenset[str] | None = None  # Azure: `model` names a deployment of the resource
    unknown_deployment: Canned | None = None

    # -- what a video looks like
    ids: IdStyle = "openai"
    status_words: Mapping[str, str] = field(default_factory=dict, hash=False)  # phase -> its word
    progress: ProgressStyle = "int"
    create_keys: frozenset[str] | None = None  # the only keys a create answers with (None: all)
    dropped_keys: frozenset[str] = frozenset()
    extra_keys: Mapping[str, Any] = field(default_factory=dict, hash=False)
    usage_on_create: bool = False  # LiteLLM: `usage` on create and remix answers, null elsewhere
    error_keys: tuple[str, ...] = ("code", "message")  # what a failed job's `error` holds
    failed_status: int | None = None  # a failed job's GET answers this status (the job in the body)
    expiry: bool = True  # False: expires_at stays null
    poll_after: bool = True  # openai-poll-after-ms on a pending job's GET

    # -- other operations
    list_cursors: bool = True  # False: a page is only {data, object}
    delete_answer: Literal["deleted", "video"] = "deleted"  # video: the job, with status "deleted"
    deletes_pending: bool = False  # True: a queued or running job is cancelled and deleted
    variants: bool = True  # False: the MP4 whatever `variant` asks
    disposition: str = 'attachment; filename="{id}.{ext}"'
    content_pending: tuple[int, str] | None = None  # (status, message) for content not ready yet
    content_failed: tuple[int, str] | None = None  # for content of a failed job
    foreign_id: Canned | None = None  # LiteLLM: an id it did not mint

    # -- reading the table ------------------------------------------------------------------------------
    def path_within(self, path: str) -> str | None:
        """``path`` below the prefix it is served under; None when it is outside all of them."""
        for prefix in sorted(self.prefixes, key=len, reverse=True):
            if not prefix:
                return path
            if path == prefix or path.startswith(prefix + "/"):
                return path[len(prefix) :]
        return None

    def key_of(self, headers: Headers) -> str:
        """The key the request carries in any header this server reads ("" when none)."""
        for name in self.key_headers:
            value = headers.get(name, "").strip()
            bearer = value[:7].lower() == "bearer "
            if name == "authorization" and not bearer:
                continue
            key = value[7:].strip() if bearer else value
            if key:
                return key
        return ""

    def mint(self, inner: str, *, model: str, sequence: int, deployment: str) -> str:
        """A new video id in this server's shape; ``inner`` is an OpenAI-style id (LiteLLM wraps it)."""
        if self.ids == "litellm":
            payload = f"litellm:custom_llm_provider:openai;model_id:{model};video_id:{inner};deployment_id:{deployment}"
            return "video_" + base64.b64encode(payload.encode()).decode()
        if self.ids == "sequence":
            return f"video-{sequence}"
        if self.ids == "uuid":
            return str(uuid.uuid4())
        return inner

    def decode(self, video_id: str) -> tuple[str, str] | None:
        """(model, upstream id) a LiteLLM id holds; None for an id it could not have minted."""
        try:
            payload = base64.b64decode(video_id.removeprefix("video_"), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        match = _LITELLM_ID.fullmatch(payload)
        return (match["model"], match["inner"]) if match else None

    def upstream_id(self, video_id: str) -> str:
        """The id the server behind a gateway knows a video by (the id itself elsewhere)."""
        decoded = self.decode(video_id) if self.ids == "litellm" else None
        return decoded[1] if decoded else video_id

    def shape(self, resource: dict[str, Any], *, fresh: bool) -> dict[str, Any]:
        """The emulator's VideoResource (all 13 keys) as this server answers it."""
        phase = resource["status"]
        video = dict(resource)
        video["status"] = self.status_words.get(phase, phase)
        progress = self._progress(resource["progress"], phase)
        if progress is _ABSENT:
            del video["progress"]
        else:
            video["progress"] = progress
        if not self.expiry:
            video["expires_at"] = None
        error = video.get("error")
        if isinstance(error, dict):
            error = {key: value for key, value in error.items() if key in self.error_keys}
            if self.failed_status is not None:
                error["code"] = self.failed_status
            video["error"] = error
        for key in self.dropped_keys:
            video.pop(key, None)
        video.update(self.extra_keys)
        if self.usage_on_create:
            video["usage"] = {"duration_seconds": float(resource["seconds"])} if fresh else None
        if fresh and self.create_keys is not None:
            video = {key: value for key, value in video.items() if key in self.create_keys}
        return video

    def _progress(self, progress: int, phase: str) -> object:
        style = self.progress
        if style == "int":
            return progress
        if style == "absent":
            return _ABSENT
        if style == "binary":
            return 100 if phase == "completed" else 0
        if style == "float":
            return progress + 0.5 if phase == "in_progress" else float(progress)
        if style == "text":
            return str(progress)
        return -1 if phase == "queued" else progress + 100 if phase == "in_progress" else progress


_ABSENT = object()

# -- the servers' own answers (sources: docs/dialects.md) -----------------------------------------------
FASTAPI_NOT_FOUND = Canned(404, {"detail": "Not Found"})
AZURE_DENIED = Canned(
    401,
    {
        "error": {
            "code": "401",
            "message": "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a "
            "valid key for an active subscription and use a correct regional API endpoint for your resource.",
        }
    },
)
VLLM_SERVED_MODEL = "Wan-AI/Wan2.2-T2V-A14B-Diffusers"
VLLM_UNAUTHORIZED = Canned(401, {"error": "Unauthorized"})


def _litellm_error(message: str, *, status: int = 400, kind: str = "invalid_request_error") -> Canned:
    return Canned(status, {"error": {"message": message, "type": kind, "param": None, "code": str(status)}})


DIALECTS: dict[str, Dialect] = {
    dialect.name: dialect
    for dialect in (
        Dialect("openai", "OpenAI's spec (the emulator as it always was)"),
        Dialect(
            "azure",
            "Azure OpenAI (Sora 2, v1 API)",
            base_path="/openai/v1",
            prefixes=("/openai/v1",),
            unrouted=Canned(404, {"error": {"code": "404", "message": "Resource not found"}}),
            key_headers=("api-key", "authorization"),
            missing_key=AZURE_DENIED,
            wrong_key=AZURE_DENIED,
            deployments=frozenset({"sora-2"}),
            unknown_deployment=Canned(
                404,
                {
                    "error": {
                        "code": "DeploymentNotFound",
                        "message": "The API deployment for this resource does not exist. If you created the deployment "
                        "within the last 5 minutes, please wait a moment and try again.",
                    }
                },
            ),
        ),
        Dialect(
            "litellm",
            "LiteLLM proxy 1.108.7 (OpenAI upstream)",
            key_headers=(
                "authorization",
                "x-litellm-api-key",
                "api-key",
                "x-api-key",
                "x-goog-api-key",
                "ocp-apim-subscription-key",
            ),
            missing_key=Canned(500, "Internal Server Error", text=True),
            wrong_key=_litellm_error("No connected db.", kind="no_db_connection"),
            operations=("create", "list", "retrieve", "content", "remix"),
            routing="fastapi",
            refusals={
                "list": _litellm_error(
                    "litellm.BadRequestError: LLM Provider NOT provided. Pass in the LLM provider you are trying to "
                    "call. You passed model=None"
                )
            },
            errors="litellm",
            ids="litellm",
            dropped_keys=frozenset({"prompt"}),
            usage_on_create=True,
            poll_after=False,
            variants=False,
            disposition="attachment; filename=video_{id}.mp4",
            foreign_id=_litellm_error(
                "litellm.InternalServerError: InternalServerError: OpenAIException - Cannot connect to host "
                "api.openai.com:443 ssl:default [Connect call failed]",
                status=500,
                kind="internal_server_error",
            ),
        ),
        Dialect(
            "vllm-omni",
            f"vLLM-Omni (one model per server, here {VLLM_SERVED_MODEL})",
            prefixes=("/v1",),
            key_headers=("authorization",),
            needs_key=False,
            missing_key=VLLM_UNAUTHORIZED,
            wrong_key=VLLM_UNAUTHORIZED,
            operations=("create", "list", "retrieve", "delete", "content"),
            routing="fastapi",
            errors="vllm",
            not_found="Video not found",
            json_create=Canned(
                400,
                vllm_error(
                    400,
                    fastapi_validation(
                        [{"type": "missing", "loc": ("body", "prompt"), "msg": "Field required", "input": None}]
                    ),
                ),
            ),
            text_reference=Canned(
                400,
                vllm_error(
                    400,
                    fastapi_validation(
                        [
                            {
                                "type": "value_error",
                                "loc": ("body", "input_reference"),
                                "msg": "Value error, Expected UploadFile, received: <class 'str'>",
                            }
                        ]
                    ),
                ),
            ),
            served_model=VLLM_SERVED_MODEL,
            ids="sequence",
            create_keys=frozenset({"id", "status", "created_at"}),
            extra_keys={"quality": "default", "media_type": "video/mp4", "stage_durations": {}, "peak_memory_mb": 0.0},
            failed_status=500,
            expiry=False,
            poll_after=False,
            deletes_pending=True,
            variants=False,
            disposition='attachment; filename="{id}.mp4"',
            content_pending=(404, "Generation is still in-progress"),
            content_failed=(422, "Video generation failed. Check job status for error details."),
        ),
        Dialect(
            "sglang",
            "SGLang Diffusion (one model per server)",
            prefixes=("/v1",),
            key_headers=("authorization",),
            needs_key=False,
            operations=("create", "list", "retrieve", "delete", "content"),
            routing="fastapi",
            errors="fastapi",
            not_found="Video not found",
            bare_multipart_create=Canned(400, {"detail": "input_reference file is required"}),
            ids="uuid",
            status_words={"in_progress": "queued"},
            progress="binary",
            dropped_keys=frozenset({"prompt"}),
            extra_keys={"quality": "standard", "url": None},
            error_keys=("message",),
            expiry=False,
            poll_after=False,
            list_cursors=False,
            delete_answer="video",
            deletes_pending=True,
            variants=False,
            disposition='attachment; filename="{id}.mp4"',
            content_pending=(404, "Generation is still in-progress"),
            content_failed=(404, "Generation is still in-progress"),
        ),
    )
}


def dialect_named(dialect: str | Dialect) -> Dialect:
    """A dialect by name (or itself); a ValueError names the known ones."""
    if isinstance(dialect, Dialect):
        return dialect
    try:
        return DIALECTS[dialect]
    except KeyError:
        raise ValueError(f"unknown dialect {dialect!r}: one of {', '.join(DIALECTS)}") from None

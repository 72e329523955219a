"""Hostile and bad input: generated arguments for every tool, escaping paths through tools and
resource URIs, broken images, and the API key in anything a client or a log could see."""

from __future__ import annotations

import base64
import io
import logging
import re
import struct
import sys
import zlib
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.types import CallToolResult, TextContent
from PIL import Image

from sora_mcp import Settings
from sora_mcp.emulator import Emulator, EmulatorConfig, Fault
from sora_mcp.server import create_server
from sora_mcp.server._transport import MAX_BODY
from tests.conftest import TEST_KEY
from tests.server.conftest import APP_TOOL_NAMES, SMALL, TOOL_NAMES, error_text, structured
from tests.server.test_transports import INITIALIZE, MCP_HEADERS, child_env, http_server

pytestmark = pytest.mark.anyio

EXAMPLES_PER_TOOL = 100
INVALID_EVERY = 7  # every 7th call is drawn to break the schema on purpose (14 of 100)
REACHED_BODY_AT_LEAST = 0.7

# --- hostile values: what an invalid call puts where a valid value belongs ---------------------------
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=40),
    st.sampled_from(
        [
            "../../etc/passwd",
            "C:\\Windows\\win.ini",
            "x\x00y",
            "video_abc",
            "720x1280",
            "4",
            "",
            "data:image/png;base64,AAAA",
            "https://example.com/a.png",
            "\u202e\u0000\ufeff",
            "x" * 40_000,
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)

# --- values a model could really send, by argument name ----------------------------------------------
# Printable: no control characters (C0, C1) and no line or paragraph separators, which no server mints.
PRINTABLE = st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp"))
ID_PIECES = [
    "video_",
    "video-",
    "/",
    "+",
    "=",
    "%",
    "%2F",
    "%2e",
    "..",
    ".",
    "?",
    "#",
    "&",
    "~",
    "\\",
    " ",
    "é",
    "QUJD",
]


def opaque_ids(known: list[str]) -> st.SearchStrategy[str]:
    """Ids as servers mint them (OpenAI's, vLLM-Omni's, LiteLLM's base64) and as a confused model passes
    them: printable text up to 2048 characters, heavy on the characters that could change a path."""
    known_ids = st.sampled_from(known)
    return st.one_of(
        known_ids,  # three times: a third of the ids name a real video
        known_ids,
        known_ids,
        st.text(alphabet="0123456789abcdef", min_size=48, max_size=48).map("video_".__add__),
        st.integers(min_value=0, max_value=10**6).map(lambda n: f"video-{n}"),
        st.binary(min_size=150, max_size=200).map(lambda raw: "video_" + base64.b64encode(raw).decode()),
        st.lists(st.sampled_from(ID_PIECES) | st.text(PRINTABLE, max_size=6), min_size=1, max_size=30).map("".join),
        st.text(PRINTABLE, min_size=1, max_size=64),
        st.text(PRINTABLE, min_size=1900, max_size=2048),
    )


Flavours = dict[str, st.SearchStrategy[Any]]


def flavours(known_ids: list[str], images: Path) -> Flavours:
    """Values by argument name that a model could well send; each is held to the tool's schema, and
    mixed with what the schema alone generates."""
    small_png = io.BytesIO()
    Image.new("RGB", (64, 64), "teal").save(small_png, "PNG")
    (images / "frame.png").write_bytes(small_png.getvalue())
    ids = opaque_ids(known_ids)
    return {
        "video_id": ids,
        "after": ids,
        "prompt": st.one_of(
            st.text(min_size=1, max_size=200),
            st.sampled_from(["a red kite over the sea", " ", "\n\t", "p" * 32000]),
        ),
        # Renders are cheap only at small sizes of models the catalog does not know ("t"); the rest are refused.
        "model": st.one_of(st.sampled_from(["sora-2", "sora-2-pro", "t", "t", ""]), st.text(max_size=256)),
        "size": st.sampled_from(["64x48", "48x64", "32x32", "720x1280", "1280x720", "1792x1024"]),
        "seconds": st.sampled_from([1, 4, 8, 12]),
        "input_reference": st.one_of(
            st.sampled_from(
                [
                    str(images / "frame.png"),
                    str(images / "missing.png"),
                    str(images / ".." / "secret.png"),
                    "/etc/passwd",
                    "../frame.png",
                    "frame.png",
                    "C:\\Windows\\win.ini",
                    "file:///etc/passwd",
                    "https://example.com/frame.png",
                    "data:image/png;base64," + base64.b64encode(small_png.getvalue()).decode(),
                    "data:image/png;base64,AAAA",
                    "data:text/plain,hello",
                ]
            ),
            st.text(max_size=300),
        ),
    }


def from_schema(name: str, schema: dict[str, Any], flavoured: Flavours) -> st.SearchStrategy[Any]:
    """Values that satisfy one argument's JSON schema as the tool advertises it in tools/list: what the
    schema alone generates, and the argument's flavour where it satisfies the schema."""
    generic = _satisfying(schema)
    if name not in flavoured:
        return generic
    return st.one_of(flavoured[name].filter(Draft202012Validator(schema).is_valid), generic)


def _satisfying(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "anyOf" in schema:
        return st.one_of([_satisfying(option) for option in schema["anyOf"]])
    kind = schema["type"]
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(min_value=schema.get("minimum"), max_value=schema.get("maximum"))
    if kind == "number":
        return st.floats(
            min_value=schema.get("exclusiveMinimum", schema.get("minimum")),
            max_value=schema.get("maximum"),
            exclude_min="exclusiveMinimum" in schema,
            allow_nan=False,
            allow_infinity=False,
        )
    assert kind == "string", schema
    if "pattern" in schema:
        return st.from_regex(schema["pattern"], fullmatch=True)
    return st.text(min_size=schema.get("minLength", 0), max_size=min(schema.get("maxLength", 300), 300))


def valid_arguments(schema: dict[str, Any], flavoured: Flavours) -> st.SearchStrategy[dict[str, Any]]:
    properties: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    return st.fixed_dictionaries(
        {name: from_schema(name, prop, flavoured) for name, prop in properties.items() if name in required},
        optional={
            name: from_schema(name, prop, flavoured) for name, prop in properties.items() if name not in required
        },
    )


def invalid_arguments(schema: dict[str, Any], flavoured: Flavours) -> st.SearchStrategy[dict[str, Any]]:
    """A valid call with one thing broken: an argument given a hostile value, or a required one left out."""
    valid = valid_arguments(schema, flavoured)
    required = list(schema.get("required", []))
    hostile = st.builds(
        lambda args, key, value: {**args, key: value}, valid, st.sampled_from(list(schema["properties"])), values
    )
    if not required:
        return hostile
    missing = st.builds(lambda args, key: {k: v for k, v in args.items() if k != key}, valid, st.sampled_from(required))
    return st.one_of(hostile, missing)


Args = dict[str, Any]


def calls(schema: dict[str, Any], flavoured: Flavours, count: int) -> list[tuple[bool, Args]]:
    """``count`` calls as (drawn valid, arguments): every INVALID_EVERY-th one broken on purpose."""
    broken = count // INVALID_EVERY
    valid = iter(generated(valid_arguments(schema, flavoured), count - broken))
    invalid = iter(generated(invalid_arguments(schema, flavoured), broken))
    return [
        (False, next(invalid)) if n % INVALID_EVERY == INVALID_EVERY - 1 else (True, next(valid)) for n in range(count)
    ]


def generated(strategy: st.SearchStrategy[Args], count: int) -> list[Args]:
    """Argument sets drawn by Hypothesis, the same ones on every run (its async support needs a custom
    executor; drawing first is simpler)."""
    drawn: list[Args] = []

    @hypothesis_settings(
        max_examples=count,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(example: Args) -> None:
        drawn.append(example)

    collect()
    return drawn


# What a next step looks like in our messages: an instruction opening a sentence or a clause.
NEXT_STEP = re.compile(
    r"(?:^|[.:;,()!?]\s+|\b(?:then|or|and)\s+)"
    r"(?:add|call|check|choose|describe|download|encode|export|fix|free|generate|keep|look|make|move|pass|pick"
    r"|point|remove|rephrase|report|resize|send|set|shorten|start|try|use|wait)\b",
    re.IGNORECASE,
)
VALIDATION = re.compile(r"\d+ validation errors? for (\w+)Arguments\n")


def outcome(tool: str, schemas: ToolSchemas, result: CallToolResult) -> str:
    """How a call ended: ``result`` (its structured content matches the tool's output schema); ``ours``
    (the body refused it, saying what to do next); ``schema`` (the SDK refused the arguments, naming
    each one it refused). Anything else fails the test."""
    texts = [block.text for block in result.content if isinstance(block, TextContent)]
    text = "\n".join(texts)
    assert "Traceback" not in text and TEST_KEY not in text, text
    if not result.is_error:
        Draft202012Validator(schemas.output[tool]).validate(result.structured_content)
        return "result"
    prefix = f"Error executing tool {tool}: "
    assert text.startswith(prefix) and len(texts) == 1, f"{tool} crashed: the SDK's generic text only: {text!r}"
    said = text.removeprefix(prefix)
    rejected = VALIDATION.match(said)
    if rejected:
        assert rejected.group(1) == tool, said
        named = {line.split(".")[0] for line in said.splitlines()[1:] if line and not line[0].isspace()}
        assert named and named <= set(schemas.input[tool].get("properties", {})), said
        return "schema"
    assert NEXT_STEP.search(said), f"{tool}: an error of ours that does not say what to do next: {said!r}"
    return "ours"


@dataclass(frozen=True)
class ToolSchemas:
    input: dict[str, dict[str, Any]]
    output: dict[str, dict[str, Any]]


@pytest.fixture
async def fuzz_client(settings: Settings) -> AsyncIterator[tuple[Client, ToolSchemas, list[str]]]:
    # Real sizes are refused by this emulator (max_render_pixels), so a generated valid create costs no render;
    # by default a call asks for a small clip of a model the catalog does not know, which the emulator makes.
    config = EmulatorConfig(render_seconds=0, queue_seconds=0, max_render_pixels=64 * 64, media="fast")
    emulator = Emulator(config)
    fuzzed = settings.model_copy(update={"wait_timeout": 0.2, "model": "t", "size": "64x48", "seconds": "1"})
    async with (
        httpx2.AsyncClient(transport=httpx2.ASGITransport(app=emulator.app)) as http,
        Client(create_server(fuzzed, http_client=http)) as client,
    ):
        tools = (await client.list_tools()).tools
        schemas = ToolSchemas(
            input={tool.name: tool.input_schema for tool in tools},
            output={tool.name: tool.output_schema or {} for tool in tools},
        )
        # Two real videos, so generated ids sometimes name one and calls go all the way (download, remix, delete).
        known = []
        for _ in range(2):
            created = await client.call_tool("generate_video", {"prompt": "a kite", **SMALL, "size": "64x48"})
            known.append(str(structured(created)["id"]))
        yield client, schemas, known


@pytest.mark.parametrize("tool", [*TOOL_NAMES, *APP_TOOL_NAMES])
async def test_generated_calls_reach_the_tool_and_end_in_a_result_or_a_next_step(
    fuzz_client: tuple[Client, ToolSchemas, list[str]],
    tool: str,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Calls drawn from the tool's own input schema (a minority broken on purpose) reach the tool's body,
    and each ends in a result or an error that says what to do next: never a crash, a traceback or the key.
    A call that satisfies the advertised schema is never refused by the schema check."""
    client, schemas, known = fuzz_client
    schema = schemas.input[tool]
    outcomes: Counter[tuple[bool, str]] = Counter()
    with caplog.at_level(logging.DEBUG):
        for valid, args in calls(schema, flavours(known, settings.input_roots[0]), EXAMPLES_PER_TOOL):
            with anyio.fail_after(10):
                result = await client.call_tool(tool, args)
            ended = outcome(tool, schemas, result)
            assert not (valid and ended == "schema"), f"{tool}: the advertised schema allows {args!r}: {result}"
            outcomes[valid, ended] += 1
    total = sum(outcomes.values())
    reached = total - outcomes[False, "schema"]
    print(f"{tool}: {reached}/{total} reached the body; {dict(outcomes)}")
    assert total == EXAMPLES_PER_TOOL
    assert reached / total >= REACHED_BODY_AT_LEAST, outcomes
    assert outcomes[False, "schema"] >= EXAMPLES_PER_TOOL // INVALID_EVERY // 3, "the broken calls test the refusal"
    crashes = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert crashes == [], [r.getMessage() for r in crashes]
    assert TEST_KEY not in caplog.text
    assert tool in {t.name for t in (await client.list_tools()).tools}, "the server still answers"


ESCAPES = [
    "../outside.png",
    "../../../../etc/passwd",
    "/etc/passwd",
    "C:\\Windows\\win.ini",
    "..\\..\\outside.png",
    "images/\x00.png",
    "~/../../etc/hosts",
]


async def test_escaping_input_paths_are_refused(mcp_client: Client, settings: Settings, emulator: Emulator) -> None:
    root = settings.input_roots[0]
    secret = root.parent / "secret.png"
    Image.new("RGB", (64, 64)).save(secret)
    (root / "link.png").symlink_to(secret)
    for path in [*ESCAPES, str(secret), str(root / "link.png"), str(root / ".." / "secret.png")]:
        text = error_text(await mcp_client.call_tool("generate_video", {"prompt": "x", "input_reference": path}))
        if "\x00" in path:
            assert text.endswith("The path contains a NUL byte. Pass a plain file path."), text
            continue
        refused = (
            f"{path} is not an absolute path."
            if not path.startswith(("/", "~"))
            else f"{path} is not inside the folders images may be read from."
        )
        assert f"generate_video: {refused} Allowed folders: {root}." in text, text
        assert text.endswith("Move the image there, or add its folder to SORA_MCP_INPUT_ROOTS."), text
    assert emulator.stats.count("POST", "/videos") == 0


async def test_resource_uris_cannot_read_outside(mcp_client: Client, settings: Settings) -> None:
    settings.output_dir.mkdir(parents=True, exist_ok=True)
    (settings.output_dir / "video_evil.mp4").symlink_to("/etc/passwd")
    for uri in [
        "sora://videos/..%2F..%2Fetc%2Fpasswd/video",
        "sora://videos/../video",
        "sora://videos/%2Fetc%2Fpasswd/metadata",
        "sora://videos/video_evil/video",
        "sora://videos/a%00b/video",
        "sora://videos/C:%5CWindows/video",
        "file:///etc/passwd",
    ]:
        with pytest.raises(MCPError):
            await mcp_client.read_resource(uri)
    listed = {str(r.uri) for r in (await mcp_client.list_resources()).resources}
    assert "sora://videos/video_evil/video" not in listed


def _png_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


async def test_broken_images_are_refused(mcp_client: Client, settings: Settings, emulator: Emulator) -> None:
    root = settings.input_roots[0]
    good = io.BytesIO()
    Image.new("RGB", (720, 1280), "white").save(good, "PNG")
    gif = io.BytesIO()
    Image.new("RGB", (720, 1280)).save(gif, "GIF")
    export = "Export the image again as PNG, JPEG or WebP."
    cases = {
        "notes.png": (b"these are not pixels", f"The file is not a PNG, JPEG or WebP image. {export}"),
        "truncated.png": (good.getvalue()[: len(good.getvalue()) // 3], f"The image is truncated or corrupt. {export}"),
        "bomb.png": (
            _png_header(60_000, 60_000),
            "The image claims 60000x60000 pixels, more than the 40 megapixels sora-mcp decodes. "
            "Use a smaller image: the first frame only needs the video's size (e.g. 720x1280).",
        ),
        "animation.gif": (gif.getvalue(), f"The image is a GIF, which the API does not accept. {export}"),
        "empty.jpg": (b"", f"The file is not a PNG, JPEG or WebP image. {export}"),
    }
    for name, (data, refused) in cases.items():
        (root / name).write_bytes(data)
        text = error_text(
            await mcp_client.call_tool("generate_video", {"prompt": "x", "input_reference": str(root / name)})
        )
        assert text == f"Error executing tool generate_video: {refused}", name
    assert emulator.stats.count("POST", "/videos") == 0


async def test_key_never_reaches_stderr_of_the_server(tmp_path: Path, emulator: Emulator, live_base_url: str) -> None:
    """A real server process with debug logging runs a whole flow against a live emulator (successes,
    a 404, an injected 500) and then against a dead address: neither its stderr nor any result, nor
    any resource it serves, holds the key."""
    secret = "sk-proj-THIS-KEY-MUST-NOT-LEAK-0123456789"
    errlog = (tmp_path / "stderr.txt").open("w+")
    seen: list[str] = []

    def params(base_url: str) -> StdioServerParameters:
        args = ["-m", "sora_mcp", "-v", "serve", "--output-dir", str(tmp_path / "out"), "--base-url", base_url]
        return StdioServerParameters(
            command=sys.executable, args=[*args, "--max-retries", "0"], env=child_env(OPENAI_API_KEY=secret)
        )

    try:
        async with Client(stdio_client(params(live_base_url), errlog=errlog)) as client:
            created = await client.call_tool("generate_video", {"prompt": "x", **SMALL})
            video_id = str((created.structured_content or {})["id"])
            with anyio.fail_after(30):
                waited = await client.call_tool("wait_for_video", {"video_id": video_id})
            downloaded = await client.call_tool("download_video", {"video_id": video_id, "variant": "thumbnail"})
            seen += [r.model_dump_json() for r in (created, waited, downloaded)]
            for resource in (await client.list_resources()).resources:
                seen.append((await client.read_resource(str(resource.uri))).model_dump_json())
            emulator.faults.add(Fault(kind="status", status=500, times=None))
            failures = [
                await client.call_tool("list_videos", {}),
                await client.call_tool("get_video_status", {"video_id": "video_" + "0" * 48}),
            ]
        async with Client(stdio_client(params("http://127.0.0.1:9/v1"), errlog=errlog)) as client:
            failures.append(await client.call_tool("list_videos", {}))
        errlog.seek(0)
        captured = errlog.read()
    finally:
        errlog.close()
    assert [result.is_error for result in (created, waited, downloaded)] == [False, False, False]
    assert all(result.is_error for result in failures)
    assert "DEBUG" in captured and video_id in captured, "debug logging was on and saw the flow"
    assert secret not in captured
    assert all(secret not in text for text in [*seen, *(r.model_dump_json() for r in failures)])


async def test_oversized_request_bodies_are_refused(tmp_path: Path) -> None:
    async with http_server(tmp_path, "--transport", "streamable-http") as url, httpx2.AsyncClient() as http:
        huge = {**INITIALIZE, "params": {**INITIALIZE["params"], "padding": "x" * (MAX_BODY + 1)}}
        response = await http.post(url, json=huge, headers=MCP_HEADERS)
    assert response.status_code == 413

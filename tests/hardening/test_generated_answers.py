"""Generated hostile server answers (status lines, headers, bodies) against every tool that talks to the
server: each call ends in a result or an actionable tool error, never a crash, and the server keeps
answering. The answers are drawn by Hypothesis first, then replayed by the hostile loopback server."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.server.conftest import TOOL_NAMES, model_tools

from .conftest import mcp_against
from .hostile import MP4_HEAD, Answer, Request, whole

pytestmark = pytest.mark.anyio

EXAMPLES = 200


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8,
)
video_like = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(st.text(max_size=30), st.integers(), st.just("video_a")),
        "status": st.one_of(
            st.sampled_from(["queued", "processing", "completed", "failed", "succeeded", "weird", ""]), json_values
        ),
        "progress": json_values,
        "model": json_values,
        "size": json_values,
        "seconds": json_values,
        "created_at": json_values,
        "error": json_values,
        "data": st.lists(json_values, max_size=2),
        "has_more": json_values,
        "deleted": json_values,
    },
)
bodies = st.one_of(
    video_like.map(lambda value: json.dumps(value).encode()),
    json_values.map(lambda value: json.dumps(value).encode()),
    st.binary(max_size=200),
    st.sampled_from([b"", b"<html>portal</html>", MP4_HEAD + b"\x00" * 64, b"RIFF\x00\x00\x00\x00WEBPVP8 "]),
)
header_values = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30),
    st.sampled_from(["²", "9" * 400, "-1", "0", "1"]),
)
headers = st.dictionaries(
    st.sampled_from(
        ["content-type", "retry-after", "retry-after-ms", "openai-poll-after-ms", "x-should-retry", "content-encoding"]
    ),
    header_values,
    max_size=4,
)
VALID = json.dumps(
    {
        "id": "video_a",
        "object": "video",
        "status": "completed",
        "progress": 100,
        "model": "m",
        "size": "64x64",
        "seconds": "4",
    }
).encode()
valid_replies = st.builds(Reply, st.just(200), st.just({"content-type": "application/json"}), st.just(VALID))
replies = valid_replies | st.builds(
    Reply, st.sampled_from([200, 200, 200, 201, 204, 301, 400, 401, 404, 405, 409, 429, 500, 503]), headers, bodies
)


def drawn() -> list[Reply]:
    found: list[Reply] = []

    @hypothesis_settings(
        max_examples=EXAMPLES,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(replies)
    def collect(reply: Reply) -> None:
        found.append(reply)

    collect()
    return found


CALLS: list[tuple[str, dict[str, Any]]] = [
    ("get_video_status", {"video_id": "video_a"}),
    ("wait_for_video", {"video_id": "video_a", "timeout_seconds": 0.3}),
    ("download_video", {"video_id": "video_a"}),
    ("download_video", {"video_id": "video_a", "variant": "thumbnail"}),
    ("list_videos", {}),
    ("generate_video", {"prompt": "x", "model": "m", "size": "64x64"}),
    ("remix_video", {"video_id": "video_a", "prompt": "y"}),
    ("delete_video", {"video_id": "video_a", "delete_local_files": True}),
]


async def test_every_tool_survives_generated_server_answers(tmp_path: Path) -> None:
    answers = drawn()
    feed: Iterator[Reply] = iter(answers * 4)

    async def hostile(_request: Request) -> Answer:
        reply = next(feed, Reply(200, {}, b"{}"))
        lines = {k: v for k, v in reply.headers.items() if k != "content-encoding" or v in ("gzip", "identity")}
        lines.setdefault("content-type", "application/json")
        return whole(reply.status, reply.body, lines.pop("content-type"), **lines)

    outcomes: dict[str, int] = {}
    async with mcp_against(hostile, tmp_path, max_retries=0, poll_interval=0.05, download_timeout=3) as (
        client,
        _hostile,
        settings,
    ):
        for index in range(len(answers)):
            name, arguments = CALLS[index % len(CALLS)]
            with anyio.fail_after(10):
                result = await client.call_tool(name, arguments)
            text = " ".join(getattr(block, "text", "") for block in result.content)
            if result.is_error:
                assert not re.fullmatch(r"Error executing tool \w+", text.strip()), f"a crash on {name}: {text}"
                assert "Traceback" not in text
                outcomes["error"] = outcomes.get("error", 0) + 1
            else:
                outcomes["result"] = outcomes.get("result", 0) + 1
        tools = await client.list_tools()
        assert model_tools(tools.tools) == set(TOOL_NAMES), "the server keeps answering"
        for path in settings.output_dir.glob("*") if settings.output_dir.exists() else []:
            head = path.read_bytes()[:12]
            assert path.suffix == ".json" or head[4:8] == b"ftyp" or head.startswith((b"RIFF", b"\xff\xd8", b"\x89PNG"))
    assert outcomes.get("error", 0) > 10 and outcomes.get("result", 0) >= 1, outcomes

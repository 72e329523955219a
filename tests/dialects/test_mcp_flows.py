"""Every MCP tool's whole flow against every dialect, in-process: what a server offers works, what it
lacks ends in a tool error that says so plainly, and nothing wrong is saved under an asset's name."""

from __future__ import annotations

from pathlib import Path

import pytest

from sora_mcp.emulator._dialects import DIALECTS, Dialect

from .support import (
    NAMES,
    PLAINLY_UNSUPPORTED,
    PROFILES,
    PROMPT,
    make_emulator,
    mcp_flow,
    mcp_session,
    outcome_of,
    settings_for,
)

pytestmark = pytest.mark.anyio


def offered(dialect: Dialect, row: str) -> bool:
    """Whether the dialect's table says the server does what this matrix row needs."""
    if row in ("download thumbnail", "download spritesheet"):
        return dialect.variants
    operation = {"list": "list", "remix": "remix", "delete": "delete"}.get(row)
    return operation is None or (operation in dialect.operations and operation not in dialect.refusals)


@pytest.mark.parametrize("name", NAMES)
async def test_every_tool_against_the_dialect(name: str, tmp_path: Path) -> None:
    emulator = make_emulator(name)
    profile = PROFILES[name]
    async with mcp_session(settings_for(name, emulator, tmp_path), emulator) as client:
        outcomes = await mcp_flow(client, profile)

    created = outcomes["generate"].data
    assert created is not None
    # Whatever the server left out of its answer, the result says what was asked for.
    assert (created["prompt"], created["model"], created["size"], created["seconds"]) == (
        PROMPT,
        profile.model,
        profile.size,
        str(profile.seconds),
    )
    assert created["status"] == "queued"
    waited = outcomes["wait"].data
    assert waited is not None and waited["status"] == "completed" and waited["done"] and not waited["timed_out"]
    status = outcomes["status"].data
    assert status is not None and status["id"] == created["id"] and status["status"] == "completed"
    video = outcomes["download video"].data
    assert video is not None and Path(video["path"]).read_bytes()[4:8] == b"ftyp"

    for row, outcome in outcomes.items():
        assert outcome.ok == offered(DIALECTS[name], row), f"{row}: {outcome.text}"
        if not outcome.ok:
            assert PLAINLY_UNSUPPORTED.search(outcome.text), f"{row}, not plain: {outcome.text}"
            assert "Traceback" not in outcome.text

    saved = sorted(path.name for path in tmp_path.rglob("*") if path.is_file())
    assert not [name for name in saved if name.endswith(".part") or name.startswith(".")], saved
    for variant in ("thumbnail", "spritesheet"):
        kept = [file for file in saved if f".{variant}." in file]
        assert bool(kept) == outcomes[f"download {variant}"].ok, f"{variant}: {saved}"
    remix = outcomes["remix"].data
    if remix is not None:
        assert remix["id"] != created["id"] and remix["prompt"] == "the same street at dusk"
    if outcomes["delete"].ok:
        assert created["id"] not in emulator.store.jobs
    else:
        assert created["id"] in emulator.store.jobs, "a refused delete leaves the video on the server"


@pytest.mark.parametrize(
    ("name", "model", "says"),
    [
        pytest.param(
            "azure",
            "sora-2-pro",
            ["does not offer model 'sora-2-pro'", "deployment for this resource does not exist", "SORA_MCP_MODEL"],
        ),
        pytest.param("vllm-omni", "sora-2", ["Model mismatch: request specifies 'sora-2' but server is running"]),
    ],
)
async def test_a_model_the_server_does_not_serve_is_named(
    name: str, model: str, says: list[str], tmp_path: Path
) -> None:
    # Azure: `model` is a deployment of the resource; vLLM-Omni: one model per server.
    emulator = make_emulator(name)
    async with mcp_session(settings_for(name, emulator, tmp_path), emulator) as client:
        result = await client.call_tool("generate_video", {"prompt": PROMPT, "model": model})

    text = outcome_of(result).text
    assert result.is_error and all(phrase in text for phrase in says), text
    assert not emulator.store.jobs


async def test_an_image_url_on_vllm_omni_is_sent_as_a_form_and_its_refusal_shown(tmp_path: Path) -> None:
    # A URL reference makes `auto` send JSON first; vLLM-Omni reads only forms, so it cannot see the prompt.
    # That refusal created nothing: the client sends the create once more, as multipart, and shows what
    # vLLM-Omni says to that (it takes references as uploads; URLs go in its own image_reference field).
    emulator = make_emulator("vllm-omni")
    async with mcp_session(settings_for("vllm-omni", emulator, tmp_path), emulator) as client:
        result = await client.call_tool(
            "generate_video", {"prompt": PROMPT, "input_reference": "https://example.com/first-frame.png"}
        )

    text = outcome_of(result).text
    assert result.is_error and "Expected UploadFile" in text and "input_reference" in text, text
    assert [(method, path, status) for method, path, status in emulator.stats.requests] == [
        ("POST", "/videos", 400),
        ("POST", "/videos", 400),
    ]
    assert not emulator.store.jobs


async def test_azure_without_its_openai_path_points_at_the_base_url(tmp_path: Path) -> None:
    """A base URL missing Azure's /openai answers 404 "Resource not found": the advice is the base URL,
    not the id; and a deployment Azure lacks is not blamed on OpenAI's shutdown."""
    emulator = make_emulator("azure")
    settings = settings_for("azure", emulator, tmp_path)
    assert settings.base_url is not None
    wrong = settings.model_copy(update={"base_url": settings.base_url.replace("/openai/v1", "/v1")})
    async with mcp_session(wrong, emulator) as client:
        text = outcome_of(await client.call_tool("get_video_status", {"video_id": "video_a"})).text
    assert "has no route" in text and "OPENAI_BASE_URL" in text and "Check the id" not in text
    async with mcp_session(settings, emulator) as client:
        missing = outcome_of(await client.call_tool("generate_video", {"prompt": PROMPT, "model": "sora-2-pro"})).text
    assert "SORA_MCP_MODEL" in missing and "shut its own Videos API down" not in missing

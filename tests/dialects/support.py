"""What the dialect tests share: how a user configures sora-mcp for each server, an emulator speaking
its dialect, the MCP flow every tool goes through, and the outcome of each operation as a matrix cell."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx2
from mcp import Client

from sora_mcp import Settings
from sora_mcp._config import AuthStyle
from sora_mcp.emulator import Clock, Emulator, EmulatorConfig
from sora_mcp.emulator._dialects import DIALECTS, VLLM_SERVED_MODEL

NAMES: tuple[str, ...] = tuple(DIALECTS)
KEY = "sk-dialect-test-0123456789"
PROMPT = "a paper boat on a rain-soaked street"
HOST = "http://emulator.test"


@dataclass(frozen=True)
class Profile:
    """How a user points sora-mcp at this server (the README's settings row)."""

    title: str  # the README matrix's column
    auth_style: AuthStyle
    model: str
    size: str = "720x1280"
    seconds: int = 4

    def env(self, base_url: str) -> dict[str, str]:
        """The same, as the environment of a `sora-mcp` command."""
        return {
            "OPENAI_BASE_URL": base_url,
            "OPENAI_API_KEY": KEY,
            "SORA_MCP_AUTH_STYLE": self.auth_style,
            "SORA_MCP_MODEL": self.model,
            "SORA_MCP_SIZE": self.size,
            "SORA_MCP_SECONDS": str(self.seconds),
        }


PROFILES: dict[str, Profile] = {
    "openai": Profile("OpenAI", "bearer", "sora-2"),
    "azure": Profile("Azure OpenAI", "azure", "sora-2"),  # the deployment's name
    "litellm": Profile("LiteLLM proxy", "bearer", "sora-2"),  # the proxy's model alias
    "vllm-omni": Profile("vLLM-Omni", "none", VLLM_SERVED_MODEL),  # the one model it serves
    "sglang": Profile("SGLang Diffusion", "none", "Wan-AI/Wan2.1-T2V-1.3B-Diffusers"),
}


def make_emulator(name: str, *, clock: Clock | None = None, **config: Any) -> Emulator:
    """An emulator speaking ``name`` whose jobs finish at once, with small media (unless overridden).
    A key is required wherever the dialect checks one, so every request also proves the auth header."""
    options: dict[str, Any] = {
        "render_seconds": 0.0,
        "queue_seconds": 0.0,
        "poll_after_ms": 10,
        "media": "fast",
        "api_key": KEY if DIALECTS[name].needs_key else None,
    }
    return Emulator(EmulatorConfig(dialect=name, **(options | config)), clock=clock)


def settings_for(
    name: str, emulator: Emulator, output_dir: Path, host: str | None = None, **overrides: Any
) -> Settings:
    # One host per dialect: each is another server, so the spend guard's reuse never mixes their jobs.
    host = host or HOST.replace("emulator.test", f"{name}.emulator.test")
    profile = PROFILES[name]
    return Settings(
        api_key=KEY,
        base_url=host + emulator.dialect.base_path,
        auth_style=profile.auth_style,
        model=profile.model,
        size=profile.size,
        seconds=str(profile.seconds),
        output_dir=output_dir,
        input_roots=[output_dir],
        poll_interval=0.01,
        **overrides,
    )


@asynccontextmanager
async def mcp_session(settings: Settings, emulator: Emulator) -> AsyncIterator[Client]:
    """The official MCP client, in-process, on our server whose HTTP client reaches ``emulator``."""
    from sora_mcp.server import create_server

    async with (
        httpx2.AsyncClient(transport=httpx2.ASGITransport(app=emulator.app)) as http,
        Client(create_server(settings, http_client=http)) as client,
    ):
        yield client


# -- outcomes --------------------------------------------------------------------------------------------------
# The rows of the README's matrix: (label, MCP tool, CLI command).
OPERATIONS: tuple[tuple[str, str, str], ...] = (
    ("generate", "generate_video", "generate"),
    ("wait", "wait_for_video", "wait"),
    ("status", "get_video_status", "status"),
    ("download video", "download_video", "download"),
    ("download thumbnail", "download_video variant=thumbnail", "download --variant thumbnail"),
    ("download spritesheet", "download_video variant=spritesheet", "download --variant spritesheet"),
    ("list", "list_videos", "list"),
    ("remix", "remix_video", "—"),
    ("delete", "delete_video", "delete"),
)
ROWS = tuple(label for label, _, _ in OPERATIONS)
# How our errors say the server lacks something: every ✗ must read like this, never like a bug of ours.
PLAINLY_UNSUPPORTED = re.compile(r"does not (support|serve)|has no route for")


# How each unsupported-operation error begins (sora_mcp/_http.py), as the matrix words it.
_KINDS = (("has no route for", "no route"), ("refused to", "refused"), ("does not support", "not supported"))


@dataclass(frozen=True)
class Outcome:
    ok: bool
    text: str  # the error's text, or a short note of what worked
    data: dict[str, Any] | None = None  # the tool's structured result, when it worked

    @property
    def cell(self) -> str:
        """The matrix cell: ✓, or ✗ and the reason in a few words taken from the error itself."""
        if self.ok:
            return "✓"
        if "it sent the MP4" in self.text:
            return "✗ sends the MP4 instead"
        answered = re.search(r"it answered (\d{3}): (.*?)\)", self.text, re.DOTALL)
        if answered is None:
            return "✗ " + self.text.splitlines()[0][:60]
        status, message = answered.groups()
        message = message.removeprefix("litellm.BadRequestError: ").split(". ")[0].strip().rstrip(".")
        kind = next((kind for phrase, kind in _KINDS if phrase in self.text), "error")
        return f"✗ {kind} ({status} {message})"


def outcome_of(result: Any) -> Outcome:
    if result.is_error:
        text = "\n".join(block.text for block in result.content if getattr(block, "type", None) == "text")
        return Outcome(False, text)
    data = result.structured_content
    assert isinstance(data, dict), result
    return Outcome(True, "ok", data)


async def mcp_flow(client: Client, profile: Profile) -> dict[str, Outcome]:
    """Every tool once, in the order a user goes: generate, wait, status, each download, list, remix, delete."""
    outcomes: dict[str, Outcome] = {}
    with anyio.fail_after(30):
        created = outcome_of(
            await client.call_tool(
                "generate_video", {"prompt": PROMPT, "model": profile.model, "size": profile.size, "seconds": 4}
            )
        )
        outcomes["generate"] = created
        assert created.data is not None, f"generate failed: {created.text}"
        video_id = created.data["id"]
        waited = await client.call_tool("wait_for_video", {"video_id": video_id, "timeout_seconds": 20})
        outcomes["wait"] = outcome_of(waited)
        outcomes["status"] = outcome_of(await client.call_tool("get_video_status", {"video_id": video_id}))
        for variant in ("video", "thumbnail", "spritesheet"):
            downloaded = await client.call_tool("download_video", {"video_id": video_id, "variant": variant})
            outcomes[f"download {variant}"] = outcome_of(downloaded)
        outcomes["list"] = outcome_of(await client.call_tool("list_videos", {"limit": 10}))
        remixed = await client.call_tool("remix_video", {"video_id": video_id, "prompt": "the same street at dusk"})
        outcomes["remix"] = outcome_of(remixed)
        outcomes["delete"] = outcome_of(await client.call_tool("delete_video", {"video_id": video_id}))
    return outcomes

"""The player in a real browser: Chromium, driven by Playwright, loads a small MCP Apps host page
(``player_host.html``, the host side of the bridge written by hand from the spec) that shows the
player resource in a sandboxed iframe on another origin, with the CSP the resource declares. The
host's tools/call and resources/read go to the real server over Streamable HTTP (in process,
``serving_http``), whose backend is the emulator rendering real H.264 media.

A screenshot of each state is saved under the test's tmp_path and copied to ``test-artifacts/player/``
(ignored by git); the test's report names the folder.

Chromium: ``$CHROMIUM``, else Playwright's own browser, else ``chromium`` on the PATH. Without one the
test fails with the command that installs one (``apt-get install -y chromium``); it never skips.
"""

from __future__ import annotations

import base64
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from playwright.async_api import BrowserContext, Frame, Page, Request, Route, async_playwright
from playwright.async_api import TimeoutError as PlaywrightTimeout

from sora_mcp import Settings
from sora_mcp.emulator import EmulatorConfig, FakeClock, Fault
from sora_mcp.server import create_server, serving_http
from sora_mcp.server._player import PLAYER_URI
from tests.server.conftest import structured

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "player"
HOST_PAGE = Path(__file__).with_name("player_host.html").read_text(encoding="utf-8")
HOST_URL = "http://host.localhost/"
VIEW_ORIGIN = "http://sandbox.localhost"  # another origin than the host's, like a real host's sandbox
INSTALL = "apt-get update && apt-get install -y chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOST_CAPABILITIES: dict[str, Any] = {
    "openLinks": {},
    "downloadFile": {},
    "serverTools": {},
    "serverResources": {},
    "logging": {},
    "message": {"text": {}},
}
WAIT_MS = 20_000  # Playwright's bound on each wait for the page
JOB: dict[str, Any] = {
    "prompt": "a paper boat on a rainy street",
    "model": "test-model",
    "size": "320x240",
    "seconds": 2,
}
# Full media (a real 320x240 H.264/AAC MP4); the FakeClock holds the job in progress until the test moves it.
RENDER = EmulatorConfig(render_seconds=10.0, queue_seconds=0.0, poll_after_ms=250, media="full")


def find_chromium(playwright_path: str) -> str:
    """A Chromium to drive: $CHROMIUM, Playwright's own, or one on the PATH; else fail saying how to get one."""
    candidates = [os.environ.get("CHROMIUM"), playwright_path]
    candidates += [
        shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail(
        "No Chromium found for the player's browser test. Install Debian's package (as root): "
        f"`{INSTALL}`, or set CHROMIUM=/path/to/chromium."
    )


async def chromium_or_fail() -> str:
    """Called first in each test, outside any task group, so a missing browser is a plain failure."""
    async with async_playwright() as playwright:
        own = playwright.chromium.executable_path
    return find_chromium(own)


def csp_header(meta: dict[str, Any] | None) -> str:
    """The CSP a host builds from the resource's ``_meta.ui.csp`` (the spec's construction)."""
    csp = ((meta or {}).get("ui") or {}).get("csp") or {}
    resources = " ".join(csp.get("resourceDomains", []))
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src 'self' 'unsafe-inline' {resources}",
            f"style-src 'self' 'unsafe-inline' {resources}",
            f"connect-src 'self' {' '.join(csp.get('connectDomains', []))}",
            f"img-src 'self' data: {resources}",
            f"font-src 'self' {resources}",
            f"media-src 'self' data: {resources}",
            f"frame-src {' '.join(csp.get('frameDomains', [])) or chr(39) + 'none' + chr(39)}",
            "object-src 'none'",
            f"base-uri {' '.join(csp.get('baseUriDomains', [])) or chr(39) + 'self' + chr(39)}",
        ]
    )


@dataclass
class Host:
    """The browser side of the test: the host page, the view's frame, what went wrong, the screenshots."""

    page: Page
    context: BrowserContext
    shots: Path
    console_errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    async def open_view(
        self,
        tool: dict[str, Any],
        tools: dict[str, Any],
        arguments: dict[str, Any],
        result: Any,
        capabilities: dict[str, Any] | None = None,
    ) -> Frame:
        """Show the player for a tool call, as a host does: the view gets the call's arguments and result."""
        await self.page.evaluate(
            "options => openView(options)",
            {
                "url": f"{VIEW_ORIGIN}/player",
                "origin": VIEW_ORIGIN,
                "tool": tool,
                "tools": tools,
                "arguments": arguments,
                "result": result,
                "capabilities": HOST_CAPABILITIES if capabilities is None else capabilities,
            },
        )
        handle = await self.page.wait_for_selector("iframe", timeout=WAIT_MS)
        assert handle is not None
        frame = await handle.content_frame()
        assert frame is not None
        return frame

    async def until(self, view: Frame, predicate: str, arg: Any = None) -> None:
        """Wait (bounded) until ``predicate`` holds in the view; else fail with what the view shows."""
        try:
            await view.wait_for_function(predicate, arg=arg, timeout=WAIT_MS)
        except PlaywrightTimeout:
            shows = await view.evaluate(
                """() => ({state: document.body.dataset.state, view: document.body.dataset.view,
                    notice: document.getElementById("notice").textContent,
                    error: document.getElementById("error").textContent,
                    gallery: document.getElementById("gallery-status").textContent,
                    loading: document.getElementById("loading").textContent})"""
            )
            sent = await self.page.evaluate("hostLog.slice(-8).map(m => [m.method || 'response', m.params])")
            raise AssertionError(
                f"{predicate} never held; the view shows {shows}; it last sent {str(sent)[:2000]}; "
                f"console: {self.console_errors}"
            ) from None

    async def screenshot(self, name: str, view: Frame) -> Path:
        """The host page as a person sees it, once the frame has grown to the view's content."""
        content = await view.evaluate("() => document.documentElement.scrollHeight")
        await self.page.wait_for_function(
            "h => document.querySelector('iframe').getBoundingClientRect().height >= h", arg=content, timeout=WAIT_MS
        )
        path = self.shots / name
        height = await self.page.evaluate("document.body.scrollHeight")
        await self.page.screenshot(path=str(path), clip={"x": 0, "y": 0, "width": 680, "height": height + 12})
        return path

    async def logged(self, method: str) -> list[dict[str, Any]]:
        """The messages of ``method`` the view sent, once there is one."""
        try:
            await self.page.wait_for_function(
                "method => hostLog.some(m => m.method === method)", arg=method, timeout=WAIT_MS
            )
        except PlaywrightTimeout:
            sent = await self.page.evaluate("hostLog.map(m => m.method || 'response')")
            raise AssertionError(
                f"the view never sent {method}; it sent {sent}; console: {self.console_errors}"
            ) from None
        messages: list[dict[str, Any]] = await self.page.evaluate(
            "method => hostLog.filter(m => m.method === method)", method
        )
        return messages

    async def check_clean(self, expected_errors: str | None = None) -> None:
        """Nothing a host refuses, no console errors (a CSP violation is one) but those holding
        ``expected_errors``, nothing fetched from outside, and a frame whose size settles (a height
        relative to the frame's own would grow it step by step)."""
        assert await self.page.evaluate("hostErrors") == []
        resizes = await self.page.evaluate("hostLog.filter(m => m.method === 'ui/notifications/size-changed').length")
        assert resizes < 40, f"{resizes} size changes: the view keeps resizing"
        errors = [text for text in self.console_errors if expected_errors is None or expected_errors not in text]
        assert errors == [], errors
        assert self.blocked == [], f"the page asked for something outside: {self.blocked}"


@asynccontextmanager
async def browser_host(
    chromium: str, tmp_path: Path, client: Client, view_html: str, view_csp: str
) -> AsyncIterator[Host]:
    shots = tmp_path / "screenshots"
    shots.mkdir()
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),  # a fresh profile every run
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_FLAGS,
            # Tall enough that the page never scrolls: a click cannot land beside a button while the frame resizes.
            viewport={"width": 680, "height": 1400},
        )
        try:
            host = Host(
                page=context.pages[0] if context.pages else await context.new_page(), context=context, shots=shots
            )

            async def anything_else(route: Route, request: Request) -> None:
                host.blocked.append(request.url)
                await route.abort()

            async def host_page(route: Route) -> None:
                await route.fulfill(body=HOST_PAGE, content_type="text/html; charset=utf-8")

            async def view_page(route: Route) -> None:
                headers = {"Content-Security-Policy": view_csp}
                await route.fulfill(body=view_html, content_type="text/html; charset=utf-8", headers=headers)

            # Nothing reaches a network: the two pages are served from here, anything else is refused.
            await context.route("**/*", anything_else)
            await context.route(HOST_URL + "**", host_page)
            await context.route(VIEW_ORIGIN + "/**", view_page)

            async def mcp_request(method: str, params: dict[str, Any]) -> dict[str, Any]:
                """The host's MCP client: what the view asks for goes to the real server."""
                if method == "tools/call":
                    result: Any = await client.call_tool(params["name"], params.get("arguments") or {})
                elif method == "resources/read":
                    result = await client.read_resource(params["uri"])
                else:
                    raise ValueError(f"{method} is not proxied")
                dumped: dict[str, Any] = result.model_dump(mode="json", by_alias=True, exclude_none=True)
                return dumped

            await host.page.expose_function("mcpRequest", mcp_request)
            host.page.on(
                "console", lambda message: host.console_errors.append(message.text) if message.type == "error" else None
            )
            host.page.on("pageerror", lambda error: host.console_errors.append(f"uncaught: {error}"))
            await host.page.goto(HOST_URL, timeout=WAIT_MS)
            yield host
        finally:
            await context.close()
            if any(shots.iterdir()):
                shutil.copytree(shots, ARTIFACTS, dirs_exist_ok=True)


@asynccontextmanager
async def real_server(settings: Settings, http_client: httpx2.AsyncClient) -> AsyncIterator[Client]:
    """The server on Streamable HTTP (a free loopback port), and a host's MCP client of it."""
    http = settings.model_copy(update={"transport": "streamable-http", "port": 0})
    async with serving_http(create_server(http, http_client=http_client), http) as url, Client(url) as client:
        yield client


async def player_of(client: Client) -> tuple[str, str, dict[str, Any]]:
    """The player's HTML and the CSP a host derives from its meta; the tools by name, as the host lists them."""
    [contents] = (await client.read_resource(PLAYER_URI)).contents
    assert contents.mime_type == "text/html;profile=mcp-app"
    html = getattr(contents, "text", "")
    tools = {
        tool.name: tool.model_dump(mode="json", by_alias=True, exclude_none=True)
        for tool in (await client.list_tools()).tools
    }
    return html, csp_header(contents.meta), tools


def report(request: pytest.FixtureRequest, shots: list[Path]) -> None:
    lines = [f"{shot.name}: {shot}" for shot in shots] + [f"copied to {ARTIFACTS}"]
    request.node.add_report_section("call", "screenshots", "\n".join(lines))
    print("\n".join(lines))


@pytest.mark.parametrize("emulator_config", [RENDER])
@pytest.mark.parametrize("emulator_clock", [FakeClock()])
async def test_player_shows_progress_then_plays_and_lists_the_video(
    tmp_path: Path,
    settings: Settings,
    http_client: httpx2.AsyncClient,
    emulator_clock: FakeClock,
    request: pytest.FixtureRequest,
) -> None:
    chromium = await chromium_or_fail()
    shots: list[Path] = []
    with anyio.fail_after(90):
        async with real_server(settings, http_client) as client:
            html, csp, tools = await player_of(client)
            assert "blob:" in csp  # the resource declares what the blob: URL of the video needs
            result = await client.call_tool("generate_video", JOB)
            video_id = structured(result)["id"]
            emulator_clock.advance(4)  # 40% rendered
            async with browser_host(chromium, tmp_path, client, html, csp) as host:
                view = await host.open_view(
                    tools["generate_video"],
                    tools,
                    JOB,
                    result.model_dump(mode="json", by_alias=True, exclude_none=True),
                )
                # While rendering: the prompt, model, size, duration, status and progress (from player_status).
                await view.wait_for_selector('body[data-state="rendering"]', timeout=WAIT_MS)
                await view.wait_for_selector('#progress[aria-valuenow="40"]', timeout=WAIT_MS)
                assert await view.inner_text("#prompt") == JOB["prompt"]
                assert await view.inner_text("#status") == "Rendering"
                assert await view.inner_text("#progress-text") == "40%"
                facts = await view.eval_on_selector_all("#facts li", "items => items.map(i => i.textContent)")
                assert facts[:3] == ["test-model", "320x240", "2 s"] and video_id in facts
                shots.append(await host.screenshot("1-rendering.png", view))

                # Completed: downloaded through download_video, read in chunks, played from a blob: URL.
                emulator_clock.advance(10)
                await view.wait_for_selector('body[data-state="ready"]', timeout=WAIT_MS)
                video = await view.eval_on_selector(
                    "#video",
                    "v => ({w: v.videoWidth, h: v.videoHeight, d: v.duration, src: v.currentSrc, poster: v.poster})",
                )
                assert (video["w"], video["h"]) == (320, 240)
                assert video["d"] == pytest.approx(2.0, abs=0.2)
                assert video["src"].startswith(f"blob:{VIEW_ORIGIN}/")
                assert video["poster"].startswith("data:image/")
                shots.append(await host.screenshot("2-ready.png", view))
                await view.eval_on_selector("#video", "v => { v.muted = true; return v.play(); }")
                await host.until(view, "() => document.getElementById('video').currentTime > 0.6")
                await view.eval_on_selector("#video", "v => v.pause()")
                shots.append(await host.screenshot("3-playing.png", view))

                # Download: handed to the host (ui/download-file) as the whole MP4.
                saved = settings.output_dir / f"{video_id}.mp4"
                await view.click("#download")
                [download] = await host.logged("ui/download-file")
                [content] = download["params"]["contents"]
                assert content["type"] == "resource" and content["resource"]["mimeType"] == "video/mp4"
                assert content["resource"]["uri"] == f"file:///{video_id}.mp4"
                assert base64.b64decode(content["resource"]["blob"]) == saved.read_bytes()

                # Remix: a message back to the chat.
                await view.click("#remix")
                await view.fill("#remix-prompt", "make it night")
                await view.click("#remix-send")
                [message] = await host.logged("ui/message")
                assert message["params"]["role"] == "user"
                [text] = message["params"]["content"]
                assert video_id in text["text"] and "make it night" in text["text"]

                # The gallery lists it, with its thumbnail, and opens it in the player again.
                await view.click("#tab-gallery")
                card = f'.card[data-video-id="{video_id}"]'
                await host.until(view, "card => document.querySelector(card + ' img')?.naturalWidth > 0", card)
                assert JOB["prompt"] in await view.inner_text(card)
                shots.append(await host.screenshot("4-gallery.png", view))
                await view.click(card)
                await view.wait_for_selector('body[data-view="player"][data-state="ready"]', timeout=WAIT_MS)
                assert await view.eval_on_selector("#video", "v => v.videoWidth") == 320

                # The view asked only for app-callable tools, and the page loaded nothing from elsewhere.
                calls = {m["params"]["name"] for m in await host.logged("tools/call")}
                assert calls == {"player_status", "download_video", "read_asset_chunk", "player_gallery"}
                await host.check_clean()
    report(request, shots)


@pytest.mark.parametrize(
    "emulator_config", [EmulatorConfig(render_seconds=1.0, queue_seconds=0.0, poll_after_ms=250, media="fast")]
)
@pytest.mark.parametrize("emulator_clock", [FakeClock()])
async def test_player_says_why_a_video_failed(
    tmp_path: Path,
    settings: Settings,
    http_client: httpx2.AsyncClient,
    emulator: Any,
    emulator_clock: FakeClock,
    request: pytest.FixtureRequest,
) -> None:
    chromium = await chromium_or_fail()
    emulator.faults.add(Fault(kind="fail_job", error_code="moderation_blocked"))
    with anyio.fail_after(60):
        async with real_server(settings, http_client) as client:
            html, csp, tools = await player_of(client)
            video_id = structured(await client.call_tool("generate_video", {**JOB, "size": "160x96"}))["id"]
            emulator_clock.advance(2)
            result = await client.call_tool("get_video_status", {"video_id": video_id})
            async with browser_host(chromium, tmp_path, client, html, csp) as host:
                view = await host.open_view(
                    tools["get_video_status"],
                    tools,
                    {"video_id": video_id},
                    result.model_dump(mode="json", by_alias=True, exclude_none=True),
                )
                await view.wait_for_selector('body[data-state="failed"]', timeout=WAIT_MS)
                error = await view.inner_text("#error")
                assert "blocked by our moderation system" in error and "moderation_blocked" in error
                assert await view.inner_text("#status") == "Failed"
                assert await view.is_hidden("#stage") and await view.is_hidden("#actions")
                shot = await host.screenshot("5-failed.png", view)
                await host.check_clean()
    report(request, [shot])


@pytest.mark.parametrize(
    "emulator_config", [EmulatorConfig(render_seconds=0.0, queue_seconds=0.0, poll_after_ms=250, media="full")]
)
async def test_a_download_result_plays_and_opens_the_local_file_without_download_file(
    tmp_path: Path, settings: Settings, http_client: httpx2.AsyncClient, request: pytest.FixtureRequest
) -> None:
    """A stricter host, without ui/download-file and with blob: left out of the CSP (hosts may restrict
    further): the player shows download_video's result, plays it from a data: URL and opens the saved file."""
    chromium = await chromium_or_fail()
    with anyio.fail_after(60):
        async with real_server(settings, http_client) as client:
            html, csp, tools = await player_of(client)
            video_id = structured(await client.call_tool("generate_video", {**JOB, "size": "240x320"}))["id"]
            result = await client.call_tool("download_video", {"video_id": video_id})
            path = Path(structured(result)["path"])
            capabilities = {key: value for key, value in HOST_CAPABILITIES.items() if key != "downloadFile"}
            strict_csp = csp.replace(" blob:", "")
            async with browser_host(chromium, tmp_path, client, html, strict_csp) as host:
                view = await host.open_view(
                    tools["download_video"],
                    tools,
                    {"video_id": video_id},
                    result.model_dump(mode="json", by_alias=True, exclude_none=True),
                    capabilities,
                )
                await view.wait_for_selector('body[data-state="ready"]', timeout=WAIT_MS)
                played = await view.eval_on_selector("#video", "v => [v.videoWidth, v.videoHeight, v.currentSrc]")
                assert played[:2] == [240, 320] and played[2].startswith("data:video/mp4;base64,")
                await view.click("#download")
                [link] = await host.logged("ui/open-link")
                assert link["params"]["url"] == path.as_uri()
                assert str(path) in await view.inner_text("#notice")
                shot = await host.screenshot("6-download-result-portrait.png", view)
                await host.check_clean(expected_errors="directive: \"media-src 'self' data:\"")
    report(request, [shot])

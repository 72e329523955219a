"""The wheel runs on its own: `uv build` makes an sdist and, from it, a wheel; `uvx --from <wheel>
sora-mcp demo` runs the whole demo (server, emulator, rendering with Pillow's own font, MCP client) in an
isolated environment that has nothing but the wheel and its dependencies."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

import sora_mcp

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


def uv_binary(name: str) -> str:
    uv = os.environ.get("UV") or shutil.which("uv")  # `uv run` names itself in $UV
    found = str(Path(uv).with_name(name)) if uv else None
    if found is None or not Path(found).exists():
        pytest.fail(f"{name} is not installed (it comes with uv: pip install uv)")
    return found


def user_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SORA_MCP_", "OPENAI_", "VIRTUAL_ENV"))}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [uv_binary("uv"), "build", "--out-dir", str(out)],
        cwd=ROOT,
        env=user_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    return out


def test_the_wheel_and_sdist_hold_the_package(dist: Path) -> None:
    version = sora_mcp.__version__
    # Everything the package tracks: code and the data it reads at run time (the player's page and library).
    tracked = subprocess.run(["git", "ls-files", "sora_mcp"], cwd=ROOT, capture_output=True, text=True, check=True)
    package = set(tracked.stdout.split())
    assert "sora_mcp/server/player/player.html" in package
    with zipfile.ZipFile(dist / f"sora_mcp-{version}-py3-none-any.whl") as wheel:
        names = set(wheel.namelist())
        entry_points = wheel.read(f"sora_mcp-{version}.dist-info/entry_points.txt").decode()
    assert package <= names
    assert {name for name in names if not name.startswith(f"sora_mcp-{version}.dist-info/")} == package
    assert "sora-mcp = sora_mcp.cli:main" in entry_points
    with tarfile.open(dist / f"sora_mcp-{version}.tar.gz") as sdist:
        members = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    assert package | {"pyproject.toml", "README.md", "uv.lock"} <= members


def test_uvx_runs_the_demo_from_the_wheel(dist: Path, tmp_path: Path) -> None:
    wheel = dist / f"sora_mcp-{sora_mcp.__version__}-py3-none-any.whl"
    out = tmp_path / "videos"
    command = [uv_binary("uvx"), "--isolated", "--from", str(wheel), "sora-mcp", "demo", "--output-dir", str(out)]
    demo = subprocess.run(
        [*command, "--render-seconds", "0.5"],
        cwd=tmp_path,
        env=user_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert demo.returncode == 0, demo.stderr
    print("\n".join(demo.stdout.splitlines()[:12]))  # the report quotes the first lines
    lines = demo.stdout.splitlines()
    assert lines[0].startswith("sora-mcp demo: starting `sora-mcp serve --backend emulator`")
    assert any(line.startswith("wait_for_video: completed (100%)") for line in lines)
    assert any(line.startswith("read_resource: sora://videos/") and "video/mp4" in line for line in lines)
    [video] = out.glob("video_*.mp4")
    assert video.read_bytes()[4:8] == b"ftyp" and video.stat().st_size > 10_000
    assert list(out.glob("video_*.thumbnail.webp"))

    # The closing hint names the interpreter of that uvx environment; pasted (outside uv), it works.
    [hint] = [line.split(":", 1)[1].strip() for line in lines if line.startswith("  Claude Code:")]
    words = shlex.split(hint)
    assert words[0] != os.environ.get("VIRTUAL_ENV") and Path(words[0]).is_absolute()
    home = tmp_path / "home"
    home.mkdir()
    printed = subprocess.run(
        [*words, "--print"],
        env={"HOME": str(home), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert printed.returncode == 0, printed.stderr
    assert f'"command": "{words[0]}"' in printed.stdout
    assert any(line.startswith("  Note: this sora-mcp runs from uv's cache") for line in lines), (
        "uvx envs are temporary"
    )

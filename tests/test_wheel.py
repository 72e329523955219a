"""The wheel and sdist hold everything that runs: `uv build` makes an sdist and, from it, a wheel. That the
wheel runs on its own (`uvx --from <wheel> sora-mcp demo`: server, emulator, rendering with Pillow's own
font, MCP client, in an environment holding nothing but the wheel and its dependencies) is proved by the
README's runnable block, which tests/test_readme.py runs as a reader would paste it."""

from __future__ import annotations

import os
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

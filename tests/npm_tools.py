"""Pinned npm packages for the tests that drive real outside tools (Claude Code, the mcpb CLI).

Each is installed once per version from the npm registry into ``~/.cache/sora-mcp-tests/<name>-<version>``
(``$XDG_CACHE_HOME`` is honoured) and reused afterwards. A missing npm or a failed install fails the
test with the command to run by hand: these tests are never skipped.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

CLAUDE_CODE = ("@anthropic-ai/claude-code", "2.1.332")  # `npm view @anthropic-ai/claude-code version`, 2026-11-26
MCPB = ("@anthropic-ai/mcpb", "2.1.2")  # the version .ci/run validates with


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sora-mcp-tests"


def npm_package(package: tuple[str, str], binary: str) -> Path:
    """The path of ``binary`` from ``package`` (name, version), installed into the cache if needed."""
    name, version = package
    folder = cache_root() / f"{name.replace('@', '').replace('/', '-')}-{version}"
    executable = folder / "node_modules" / ".bin" / binary
    if executable.exists():
        return executable
    command = ["npm", "install", "--prefix", str(folder), "--no-audit", "--no-fund", f"{name}@{version}"]
    by_hand = shlex.join(command)
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail(f"npm is not on PATH, so {name} cannot be installed. Install Node.js, then run: {by_hand}")
    folder.parent.mkdir(parents=True, exist_ok=True)
    # Install beside the cache, then move into place: a half-finished install is never taken for a done one.
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        result = subprocess.run(
            [npm, *command[1:3], str(staging), *command[4:]],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if result.returncode != 0 or not (staging / "node_modules" / ".bin" / binary).exists():
            pytest.fail(f"installing {name}@{version} failed ({result.stderr.strip()[-2000:]}). Run by hand: {by_hand}")
        try:
            staging.rename(folder)
        except OSError:
            if not executable.exists():  # another run finished first: theirs is as good as ours
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return executable

"""The repository stands on its own: a fresh clone, with nothing beside it, collects every test.

- Statically: no tracked file reaches outside the repository for the spec or the contract (the old
  ``../shared`` folder, ``SORA_MCP_SPEC_DIR``), and every ``docs/...`` path (and CONTRACT.md section)
  cited in code exists.
- For real: the tracked files are copied into an empty folder and pytest collects there, in the
  environment of this checkout, exactly the tests it collects here.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
THIS_FILE = Path(__file__).resolve().relative_to(ROOT).as_posix()
SCANNED = ("sora_mcp", "tests", "bench", ".ci", "README.md")

# This file names the patterns, so it is left out of the scan.
FORBIDDEN = {
    "the ../shared folder beside the clone": re.compile(r"\.\./shared\b"),
    "the SORA_MCP_SPEC_DIR variable": re.compile(r"SORA_MCP_SPEC_DIR"),
    "a path joined with 'shared' (e.g. parents[3] / 'shared')": re.compile(r"""/\s*["']shared["'/]"""),
    "the reference folders shared/spec, shared/providers": re.compile(r"\bshared/(?:spec|providers)\b"),
}
DOC_PATH = re.compile(r"(?<![\w./-])docs/[\w./-]*\w")  # not the docs/ of a URL
CONTRACT_CITATION = re.compile(r"docs/contract/CONTRACT\.md([^\n]*)")
SECTION = re.compile(r"§(\d+)")

COLLECT = ("pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "--no-cov")
TIMEOUT = 90  # seconds: the bound of each step; on an idle machine a collection takes about five


def outside_references(text: str) -> list[str]:
    """What in ``text`` points outside the repository (empty when nothing does)."""
    return [what for what, pattern in FORBIDDEN.items() if pattern.search(text)]


def missing_citations(text: str, root: Path) -> list[str]:
    """The ``docs/...`` paths, and ``CONTRACT.md §N`` sections, cited in ``text`` that ``root`` lacks."""
    missing = [path for path in DOC_PATH.findall(text) if not (root / path).exists()]
    contract = root / "docs" / "contract" / "CONTRACT.md"
    headings = (
        set(re.findall(r"^## §(\d+) ", contract.read_text(encoding="utf-8"), re.M)) if contract.exists() else set()
    )
    for rest in CONTRACT_CITATION.findall(text):
        missing += [f"docs/contract/CONTRACT.md §{n}" for n in SECTION.findall(rest) if n not in headings]
    return missing


def tracked_files(*paths: str) -> list[str]:
    """Tracked files (``git ls-files``) under ``paths``, as they are on disk now."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the tracked files are unknown")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--", *paths], cwd=ROOT, capture_output=True, check=True, timeout=30
    ).stdout.decode()
    return [name for name in listed.split("\0") if name and (ROOT / name).is_file()]


def test_no_tracked_file_reaches_outside_the_repository() -> None:
    # The checks can fail: each forbidden form is caught, and a citation of a missing file or section is.
    samples = [
        'Path(__file__).resolve().parents[3] / "shared" / "spec" / "videos-openapi.yml"',
        "spec = ../shared/spec/videos-openapi.yml",
        'Path(os.environ["SORA_MCP_SPEC_DIR"])',
        "see /work/shared/providers/DIALECTS.md",
    ]
    assert all(outside_references(sample) for sample in samples)
    assert outside_references("from mcp.shared.exceptions import MCPError  # shared runtime") == []
    assert missing_citations("# see docs/contract/NOPE.md", ROOT) == ["docs/contract/NOPE.md"]
    assert missing_citations("# https://docs.example.com/docs/nope", ROOT) == []
    assert missing_citations("# docs/contract/CONTRACT.md §7 and §99", ROOT) == ["docs/contract/CONTRACT.md §99"]

    problems = []
    files = [name for name in tracked_files(*SCANNED) if name != THIS_FILE]
    assert "sora_mcp/_catalog.py" in files and "tests/emulator/test_schema_conformance.py" in files
    for name in files:
        text = (ROOT / name).read_text(encoding="utf-8", errors="replace")
        problems += [f"{name}: refers to {what}" for what in outside_references(text)]
        problems += [f"{name}: cites {path}, which is not in the repository" for path in missing_citations(text, ROOT)]
    assert problems == []


def _collect(cwd: Path, env: dict[str, str], uv: str) -> subprocess.Popen[str]:
    """Start a collection in ``cwd``, in its own process group (uv runs pytest as a child)."""
    command = [uv, "run", "--frozen", "--no-sync", *COLLECT]
    return subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )


def _finish(processes: list[subprocess.Popen[str]]) -> list[tuple[int, str]]:
    """(exit code, output) of each; past the deadline every one still running is killed, children too."""
    deadline = time.monotonic() + TIMEOUT
    try:
        results = []
        for process in processes:
            try:
                output, _ = process.communicate(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pytest.fail(f"collection took more than {TIMEOUT}s")
            results.append((process.returncode, output))
        return results
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.communicate()


def _node_ids(output: str) -> set[str]:
    return {line.strip() for line in output.splitlines() if "::" in line}


def _collected_here(request: pytest.FixtureRequest) -> set[str] | None:
    """What this run collected, when it is a run of every test (the configured testpaths, nothing
    deselected); None when it ran a part (then the checkout collects again beside the copy)."""
    config = request.config
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    overridden = {option.split("=", 1)[0].strip() for option in config.option.override_ini or []}
    if config.args_source is not pytest.Config.ArgsSource.TESTPATHS or "testpaths" in overridden or reporter is None:
        return None
    if reporter.stats.get("deselected") or not request.session.items:
        return None
    return {item.nodeid for item in request.session.items}


@pytest.mark.slow
def test_a_fresh_copy_collects_every_test(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """A copy of the tracked files alone, in a folder with no ``shared/`` beside it, collects the same tests.

    It runs in this checkout's environment (``UV_PROJECT_ENVIRONMENT``), so nothing is built or
    downloaded. ``uv run --frozen`` alone would sync that environment first, and syncing it for
    another project folder re-points its editable install of sora-mcp at the copy (which is then
    deleted). So the environment is only *checked* against the copy's lockfile (``uv sync --check``,
    which changes nothing) and pytest runs with ``--no-sync``; pytest imports ``sora_mcp`` from the
    copy's root, ahead of the editable install. ``--no-cov``: a coverage run in this checkout would
    erase the data files of the run this test is part of. In a run of every test, the copy is compared
    with what this run collected; otherwise this checkout collects again, beside the copy.
    """
    uv = os.environ.get("UV") or shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH")
    if sys.prefix == sys.base_prefix:
        pytest.skip("not running in a virtual environment that a copy could share")
    clone = tmp_path / "clone" / "sora-mcp"
    for name in tracked_files("."):
        target = clone / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    assert sorted(path.name for path in clone.parent.iterdir()) == ["sora-mcp"]  # no shared/ beside it
    assert not (clone / ".venv").exists()

    leaked = ("SORA_MCP_", "OPENAI_", "AZURE_OPENAI_", "COVERAGE_", "COV_CORE_", "PYTEST_", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if not k.startswith(leaked)}
    env |= {"UV_PROJECT_ENVIRONMENT": sys.prefix, "UV_OFFLINE": "1"}

    check = subprocess.run(
        [uv, "sync", "--frozen", "--check", "--inexact", "--no-install-project"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert check.returncode == 0, f"the copy's uv.lock does not match the environment:\n{check.stderr}"
    here = _collected_here(request)
    if here is None:  # side by side, to halve the wait
        (copy_code, copy_output), (here_code, here_output) = _finish(
            [_collect(clone, env, uv), _collect(ROOT, env, uv)]
        )
        assert here_code == 0, here_output[-3000:]
        here = _node_ids(here_output)
    else:
        [(copy_code, copy_output)] = _finish([_collect(clone, env, uv)])
    assert copy_code == 0, f"a fresh copy does not collect:\n{copy_output[-3000:]}"
    copy = _node_ids(copy_output)
    assert len(here) > 100
    assert copy == here, f"only here (untracked files?): {sorted(here - copy)}; only in the copy: {sorted(copy - here)}"
    assert f"{len(here)} tests collected" in copy_output, copy_output[-500:]

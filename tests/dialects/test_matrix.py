"""The README's operation × server matrix is rebuilt here from running every tool against every dialect,
so it cannot drift from what the code does. `UPDATE_README=1 uv run pytest tests/dialects/test_matrix.py`
writes the rebuilt table into the README (review the diff)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from .support import NAMES, OPERATIONS, PROFILES, Outcome, make_emulator, mcp_flow, mcp_session, settings_for

pytestmark = pytest.mark.anyio

README = Path(__file__).resolve().parents[2] / "README.md"
START, END = "<!-- dialect-matrix:start -->", "<!-- dialect-matrix:end -->"
SECTION = "## Servers that speak this API"


def render(columns: dict[str, dict[str, Outcome]]) -> str:
    header = ["Operation (MCP tool · CLI command)", *(PROFILES[name].title for name in columns)]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for label, tool, command in OPERATIONS:
        cells = [columns[name][label].cell.replace("|", "\\|") for name in columns]
        command_text = "—" if command == "—" else f"`{command}`"
        lines.append(f"| {label} (`{tool}` · {command_text}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def readme_matrix(text: str) -> str:
    """What stands between the markers in the README's servers section (each line ends in a newline)."""
    section = text[text.index(SECTION) :]
    match = re.search(re.escape(START) + r"\n(.*?)" + re.escape(END), section, re.DOTALL)
    assert match, f"the README's {SECTION!r} section has no {START} … {END} block"
    return match.group(1)


async def test_the_readme_matrix_is_what_the_flows_prove(tmp_path: Path) -> None:
    columns: dict[str, dict[str, Outcome]] = {}
    for name in NAMES:
        emulator = make_emulator(name)
        async with mcp_session(settings_for(name, emulator, tmp_path / name), emulator) as client:
            columns[name] = await mcp_flow(client, PROFILES[name])
    rebuilt = render(columns) + "\n"

    text = README.read_text(encoding="utf-8")
    if os.environ.get("UPDATE_README") == "1":
        old = f"{START}\n{readme_matrix(text)}{END}"
        README.write_text(text.replace(old, f"{START}\n{rebuilt}{END}"), encoding="utf-8")
        text = README.read_text(encoding="utf-8")
    assert readme_matrix(text) == rebuilt, (
        "The README's servers matrix differs from what the dialect tests prove; run "
        "`UPDATE_README=1 uv run pytest tests/dialects/test_matrix.py` and review the diff."
    )

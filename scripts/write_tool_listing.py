"""Write ``sora_mcp/server/tools.json``, the tool listing the server answers ``tools/list`` with before
it builds its tools (see ``sora_mcp/server/_listing.py``). Run it after changing a tool's signature,
docstring, title, annotations or result model, or after upgrading mcp or pydantic:

    uv run python scripts/write_tool_listing.py            # write it
    uv run python scripts/write_tool_listing.py --check    # exit 1 if it is out of date

``tests/server/test_listing.py`` fails while it is out of date.
"""

from __future__ import annotations

import sys

import anyio

from sora_mcp.server._listing import LISTING_FILE, written_listing


def main(argv: list[str]) -> int:
    text = anyio.run(written_listing).dumps()
    if argv == ["--check"]:
        if not LISTING_FILE.exists() or LISTING_FILE.read_text(encoding="utf-8") != text:
            print(f"{LISTING_FILE} is out of date: run `uv run python scripts/write_tool_listing.py`", file=sys.stderr)
            return 1
        print(f"{LISTING_FILE} is current")
        return 0
    LISTING_FILE.write_text(text, encoding="utf-8")
    print(f"wrote {LISTING_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

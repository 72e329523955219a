#!/usr/bin/env python3
"""Refresh the vendored MCP Apps client library (npm ``@modelcontextprotocol/ext-apps``) of the player.

The player (``sora_mcp/server/player/player.html``) is served as one self-contained HTML file, so
the library's self-contained browser build (``dist/src/app-with-deps.js``) is kept in the package,
pinned, beside its licence. Node is needed only to run this script, never to install or run sora-mcp.

    python scripts/refresh-ext-apps.py            # the pinned version again (checks nothing drifted)
    python scripts/refresh-ext-apps.py 2.0.5      # move the pin to another version

It fetches the package with ``npm pack`` from the npm registry, checks the tarball against the
registry's published integrity (sha512), checks the build is usable inline (an ES module with no
imports, ending in one ``export{...}``, no ``</script``), and writes::

    sora_mcp/server/player/vendor/ext-apps/app-with-deps.js   the file, byte for byte
    sora_mcp/server/player/vendor/ext-apps/LICENSE            the package's licence
    sora_mcp/server/player/vendor/ext-apps/VENDORED.json      package, version, integrity, sha256

``tests/server/test_player.py`` checks the vendored file still matches VENDORED.json.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "@modelcontextprotocol/ext-apps"
PINNED = "2.0.4"
BUILD = "package/dist/src/app-with-deps.js"
LICENCE = "package/LICENSE"
ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "sora_mcp" / "server" / "player" / "vendor" / "ext-apps"
EXPORTS = re.compile(r"export\s*\{([^{}]*)\}\s*;?\s*$")


def npm(*args: str, cwd: Path) -> str:
    npm_path = shutil.which("npm")
    if npm_path is None:
        sys.exit("npm not found: install Node.js (20 or newer) to refresh the vendored library.")
    done = subprocess.run([npm_path, *args], cwd=cwd, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        sys.exit(f"npm {' '.join(args)} failed:\n{done.stderr.strip()}")
    return done.stdout


def check_build(source: str) -> list[str]:
    """Problems that would stop the build from being inlined into the player's HTML."""
    problems = []
    if EXPORTS.search(source) is None:
        problems.append("it does not end in one export{...} statement")
    if re.search(r"(^|[;}\n])\s*import[\s{*\"']", source[:4000]) or re.search(r"\bimport\s*\(\s*[\"']", source):
        problems.append("it imports other modules (not self-contained)")
    if "</script" in source.lower():
        problems.append("it holds '</script', which would end an inline <script>")
    return problems


def main(version: str) -> None:
    with tempfile.TemporaryDirectory() as temp:
        work = Path(temp)
        spec = f"{PACKAGE}@{version}"
        published = json.loads(npm("view", spec, "dist.integrity", "version", "license", "--json", cwd=work))
        [packed] = json.loads(npm("pack", spec, "--json", "--pack-destination", str(work), cwd=work))
        tarball = work / packed["filename"]
        digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
        if digest != published["dist.integrity"] or packed["integrity"] != digest:
            sys.exit(f"{tarball.name}: integrity {digest} is not the registry's {published['dist.integrity']}")
        with tarfile.open(tarball) as archive:
            build = archive.extractfile(BUILD)
            licence = archive.extractfile(LICENCE)
            if build is None or licence is None:
                sys.exit(f"{tarball.name} has no {BUILD} or {LICENCE}")
            source, licence_text = build.read(), licence.read()
    problems = check_build(source.decode("utf-8"))
    if problems:
        sys.exit(f"{spec} {BUILD} cannot be inlined: " + "; ".join(problems))
    TARGET.mkdir(parents=True, exist_ok=True)
    (TARGET / "app-with-deps.js").write_bytes(source)
    (TARGET / "LICENSE").write_bytes(licence_text)
    record = {
        "package": PACKAGE,
        "version": published["version"],
        "license": published.get("license"),
        "integrity": digest,
        "file": BUILD.removeprefix("package/"),
        "sha256": hashlib.sha256(source).hexdigest(),
        "refresh": "python scripts/refresh-ext-apps.py [VERSION]",
    }
    (TARGET / "VENDORED.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(f"vendored {spec} ({len(source):,} bytes) into {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else PINNED)

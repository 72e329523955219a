"""Build ``dist/sora-mcp-<version>.mcpb``, the MCP Bundle Claude Desktop installs with a double-click.

    uv run python scripts/build_bundle.py [--out-dir DIR]

The bundle holds only what runs, listed explicitly: ``manifest.json`` (from manifests/mcpb/), the
``sora_mcp`` package (its code and the data it reads at run time: the player's page and vendored library,
the tool listing ``tools.json``), ``pyproject.toml`` and ``uv.lock`` (the
manifest's command, ``uv run --frozen --no-dev``, installs the locked runtime dependencies and not the
dev group), ``README.md`` (the package metadata's readme) and ``LICENSE`` when there is one. No tests,
benchmarks, CI or docs. The zip is reproducible: fixed timestamps and modes, sorted names.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = Path("manifests") / "mcpb" / "manifest.json"
TOP_LEVEL = ("pyproject.toml", "uv.lock", "README.md", "LICENSE")
PACKAGE = "sora_mcp"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def bundle_files(root: Path = ROOT) -> list[tuple[str, Path]]:
    """(name in the bundle, file on disk), in bundle order."""
    files = [("manifest.json", root / MANIFEST)]
    files += [(name, root / name) for name in TOP_LEVEL if (root / name).is_file()]
    package = sorted(
        path
        for path in (root / PACKAGE).rglob("*")
        # Code and the data it reads at run time (the player's page and its vendored library), no bytecode.
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo")
    )
    files += [(path.relative_to(root).as_posix(), path) for path in package]
    return files


def build(out_dir: Path, root: Path = ROOT) -> Path:
    """Write the bundle into ``out_dir``; returns its path. Exits with a message when the versions differ."""
    version = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    if manifest.get("version") != version:
        raise SystemExit(f"{MANIFEST} says version {manifest.get('version')!r}, pyproject.toml {version!r}: align them")
    entry_point = manifest["server"]["entry_point"]
    files = bundle_files(root)
    if entry_point not in {name for name, _ in files}:
        raise SystemExit(f"the manifest's entry_point {entry_point!r} is not in the bundle")
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"sora-mcp-{version}.mcpb"
    partial = target.with_name(target.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as bundle:
        for name, path in files:
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o100644 << 16
            bundle.writestr(info, path.read_bytes())
    os.replace(partial, target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out-dir", type=Path, default=ROOT / "dist", help="where the .mcpb goes (default dist/)")
    args = parser.parse_args(argv)
    target = build(args.out_dir)
    with zipfile.ZipFile(target) as bundle:
        names = bundle.namelist()
    print(f"{target} ({target.stat().st_size:,} bytes, {len(names)} files)")
    for name in names:
        print(f"  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Cold start over stdio: from spawning the server until `tools/list` answers, the way a host starts it.

Contenders, interleaved round by round (A B C A B C …, the order rotating each round so none is
always first), so load from other work on the machine hits all of them alike:

* a bare ``MCPServer`` with one tool, on this interpreter (the baseline);
* ``sora-mcp serve`` (stdio, api backend, no key), through this environment's console script;
* ``sora-mcp serve --backend emulator`` (``--no-emulator`` leaves it out);
* with ``--peer "COMMAND ..."``, another MCP server, e.g. ``uvx --from sanzaru==0.12.2 sanzaru``. A
  ``uvx`` command is installed first, then timed through the console script of its environment, as
  ours is (``uvx`` itself would add its index check, seconds when online, to the peer only).

Before timing, every environment is byte-compiled (``compileall`` over site-packages and the
package): with ``PYTHONDONTWRITEBYTECODE`` set no ``.pyc`` is ever written, and each start would
measure compilation. The children run without ``PYTHONDONTWRITEBYTECODE`` / ``PYTHONPYCACHEPREFIX`` /
``PYTHONOPTIMIZE``, so they read the ``.pyc`` files written there; a check run with
``PYTHONVERBOSE`` counts the modules each one still compiles from source (should be 0).

    uv run python bench/cold_start.py [--runs 10]
    uv run python bench/cold_start.py --runs 20 --peer "uvx --from sanzaru[video,image]==0.12.2 sanzaru" \
        --peer-env "SANZARU_MEDIA_PATH={tmp}"
    uv run python bench/cold_start.py --runs 0 --imports 25 --costs   # where the start-up time goes
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import resource
import shlex
import site
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

sys.path.insert(0, str(Path(__file__).parent))
from _common import BARE_SERVER, clean_env, describe_machine

BARE = "bare MCPServer (1 tool)"
OURS = "sora-mcp serve"
OURS_EMULATOR = "sora-mcp serve --backend emulator"
PEER = "peer"
# Variables that change how (or whether) a child reads .pyc files.
BYTECODE_VARIABLES = ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX", "PYTHONOPTIMIZE")
# uvx options that take a value (so the value is not mistaken for the command).
UVX_VALUE_OPTIONS = frozenset(
    {"--from", "--with", "--with-editable", "--with-requirements", "--python", "-p", "--index", "--default-index"}
)
PEER_DEFAULT_ENV = {"OPENAI_API_KEY": "sk-bench-not-a-real-key"}


@dataclass
class Target:
    name: str
    command: list[str]
    env: dict[str, str]
    log: Path
    times: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # the child's CPU seconds, start to exit

    def params(self) -> StdioServerParameters:
        return StdioServerParameters(command=self.command[0], args=self.command[1:], env=self.env)

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def child_env(**extra: str) -> dict[str, str]:
    return {k: v for k, v in clean_env(**extra).items() if k not in BYTECODE_VARIABLES}


def console_script(name: str) -> str:
    """The console script ``name`` of this interpreter's environment (as a host would run it)."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        raise SystemExit(f"{path} is missing: run `uv sync` first")
    return str(path)


def package_folder(name: str) -> str:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise SystemExit(f"{name} is not installed: run `uv sync` first")
    return str(Path(spec.origin).parent)


def compile_tree(python: str, *folders: str) -> None:
    started = time.perf_counter()
    done = subprocess.run([python, "-m", "compileall", "-qq", "-j", "0", *folders], check=False)
    note = "" if done.returncode == 0 else " (some files do not compile, e.g. templates: ignored)"
    print(f"  byte-compiled {', '.join(folders)} in {time.perf_counter() - started:.1f}s{note}")


def resolve_uvx(command: list[str], env: dict[str, str]) -> tuple[list[str], str | None, list[str]]:
    """For ``uvx [options] NAME ARGS``: install it (untimed), then return the console script NAME of
    its environment with ARGS, that environment's python and its site-packages. Otherwise: as given."""
    if Path(command[0]).name != "uvx":
        return command, None, []
    index = 1
    while index < len(command) and command[index].startswith("-"):
        index += 2 if command[index] in UVX_VALUE_OPTIONS else 1
    if index >= len(command):
        raise SystemExit(f"no command in {shlex.join(command)}")
    options, name, rest = command[1:index], command[index], command[index + 1 :]
    if "--from" not in options:
        options = ["--from", name, *options]
    probe = "import site, sys; print(sys.executable); print(*site.getsitepackages(), sep='\\n')"
    started = time.perf_counter()
    lines = subprocess.run(
        [command[0], *options, "python", "-c", probe], env=env, check=True, capture_output=True, text=True
    ).stdout.split()
    print(f"  installed/located the peer with uvx in {time.perf_counter() - started:.1f}s (untimed)")
    python, site_packages = lines[0], lines[1:]
    script = Path(python).parent / name
    if not script.exists():
        print(f"  {script} not found: timing the peer through uvx itself")
        return command, python, site_packages
    return [str(script), *rest], python, site_packages


def sources_compiled(target: Target) -> list[str]:
    """Modules the target still compiles from source when it starts (PYTHONVERBOSE names them)."""
    done = subprocess.run(
        target.command,
        env=target.env | {"PYTHONVERBOSE": "1"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    return re.findall(r"^# code object from '?(.+?\.py)'?$", done.stderr, flags=re.MULTILINE)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def time_start(target: Target) -> tuple[float, float]:
    """Spawn → ``tools/list`` answered (wall seconds), and the CPU seconds the child used from spawn to
    exit (less disturbed by a busy or throttled machine than wall time). The server's stderr goes to
    ``target.log`` (shown if it fails)."""
    with open(target.log, "a", encoding="utf-8") as errlog:  # noqa: ASYNC230 - a local log, before timing
        cpu = children_cpu()
        started = time.perf_counter()
        try:
            async with Client(stdio_client(target.params(), errlog=errlog)) as client:
                await client.list_tools()
                wall = time.perf_counter() - started
        except Exception:
            print(f"{target.name} failed; its stderr ends with:\n{target.log.read_text(encoding='utf-8')[-2000:]}")
            raise
        return wall, children_cpu() - cpu


def print_table(targets: list[Target], runs: int) -> None:
    bare = next(t for t in targets if t.name == BARE)
    ours = next(t for t in targets if t.name == OURS)
    print(f"\ncold start until tools/list answers, stdio, {runs} interleaved rounds — {describe_machine()}")
    print(
        f"  {'server':34s} {'median':>8s} {'min':>8s} {'max':>8s}   to bare: medians  per round   mins"
        "   CPU median  to bare"
    )
    for target in targets:
        per_round = statistics.median(t / b for t, b in zip(target.times, bare.times, strict=True))
        cpu = statistics.median(target.cpu)
        print(
            f"  {target.name:34s} {target.median * 1000:6.0f}ms {min(target.times) * 1000:6.0f}ms"
            f" {max(target.times) * 1000:6.0f}ms {target.median / bare.median:16.2f}x {per_round:9.2f}x"
            f" {min(target.times) / min(bare.times):6.2f}x {cpu * 1000:10.0f}ms"
            f" {cpu / statistics.median(bare.cpu):7.2f}x"
        )
    for target in targets:
        if target.name == PEER:
            per_round = statistics.median(t / o for t, o in zip(target.times, ours.times, strict=True))
            print(
                f"  peer to {OURS}: medians {target.median / ours.median:.2f}x, per round {per_round:.2f}x,"
                f" mins {min(target.times) / min(ours.times):.2f}x"
            )
    print("  (medians: ratio of the medians; per round: median of the round-by-round ratios; mins: of the minimums;")
    print("   CPU: the server process's user + system time, start to exit, median)")


# -- where the start-up time goes ----------------------------------------------------------------------

IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)")


def import_profile(target: Target) -> tuple[dict[str, int], dict[str, str]]:
    """Self time (µs) of each module a start imports, and who imported it (PYTHONPROFILEIMPORTTIME)."""
    done = subprocess.run(
        target.command,
        env=target.env | {"PYTHONPROFILEIMPORTTIME": "1"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    self_us: dict[str, int] = {}
    parent: dict[str, str] = {}
    pending: dict[int, list[str]] = defaultdict(list)  # importtime prints children before their parent
    for match in IMPORT_LINE.finditer(done.stderr):
        level, name = len(match.group(3)) // 2, match.group(4)
        self_us[name] = int(match.group(1))
        for child in pending.pop(level + 1, []):
            parent[child] = name
        pending[level].append(name)
    for name in pending.get(0, []):  # imported by a function call, not by another module's import
        parent.setdefault(name, "(a call at run time)")
    return self_us, parent


def group_of(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "sora_mcp" and len(parts) > 1 else parts[0]


def print_imports(bare: Target, ours: Target, top: int, repeats: int) -> None:
    bare_runs = [import_profile(bare)[0] for _ in range(repeats)]
    ours_profiles = [import_profile(ours) for _ in range(repeats)]
    parent = ours_profiles[0][1]
    bare_modules = set().union(*bare_runs)
    modules = set().union(*(profile for profile, _ in ours_profiles))
    median_us = {m: statistics.median(p.get(m, 0) for p, _ in ours_profiles) for m in modules}
    extra: dict[str, float] = {m: us for m, us in median_us.items() if m not in bare_modules}
    bare_total = statistics.median(sum(run.values()) for run in bare_runs) / 1000
    ours_total = statistics.median(sum(p.values()) for p, _ in ours_profiles) / 1000
    print(f"\nimports (-X importtime, median of {repeats} starts each, stdin closed; importtime inflates times)")
    print(f"  {BARE}: {len(bare_modules)} modules, {bare_total:.0f} ms")
    print(f"  {OURS}: {len(modules)} modules, {ours_total:.0f} ms")
    print(f"  imported by {OURS} and not by the bare server: {len(extra)} modules, {sum(extra.values()) / 1000:.0f} ms")
    groups: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for module, us in extra.items():
        groups[group_of(module)] += us
        counts[group_of(module)] += 1
    print("\n  by package (self time summed; imported first by):")
    for group, us in sorted(groups.items(), key=lambda item: -item[1])[:top]:
        roots = sorted(
            {parent.get(m, "?") for m in extra if group_of(m) == group and group_of(parent.get(m, "?")) != group}
        )
        print(f"    {us / 1000:7.1f} ms  {group:28s} {counts[group]:4d} modules  <- {', '.join(roots[:3])}")
    print(f"\n  top {top} modules by self time:")
    for module, us in sorted(extra.items(), key=lambda item: -item[1])[:top]:
        print(f"    {us / 1000:7.1f} ms  {module}  <- {parent.get(module, '?')}")


# Each cost is timed in a fresh interpreter after PRELUDE (what the bare server imports anyway).
PRELUDE = "import mcp.server.mcpserver"
COSTS = {
    "import av": ("", "import av"),
    "import PIL.Image": ("", "import PIL.Image"),
    "import sora_mcp.emulator": ("", "import sora_mcp.emulator"),
    "import uvicorn": ("", "import uvicorn"),
    "import pydantic_settings": ("", "import pydantic_settings"),
    "import httpx2": ("", "import httpx2"),
    "import sora_mcp (the client library)": ("", "import sora_mcp"),
    "import sora_mcp.cli (everything serve imports)": ("", "import sora_mcp.cli"),
    "httpx2.AsyncClient() (TLS context)": ("import httpx2", "httpx2.AsyncClient()"),
    "ssl.create_default_context()": ("import ssl", "ssl.create_default_context()"),
    "Settings()": ("from sora_mcp import Settings", "Settings()"),
    "create_server(Settings()) (tools listed from tools.json)": (
        "from sora_mcp import Settings; from sora_mcp.server import create_server; s = Settings()",
        "create_server(s)",
    ),
    "server.build_tools() (at the first call: models, schemas)": (
        "from sora_mcp import Settings; from sora_mcp.server import create_server; m = create_server(Settings())",
        "m.build_tools()",
    ),
    "bare: MCPServer('bare') + 1 tool": (
        "from mcp.server.mcpserver import MCPServer\ndef echo(text: str) -> str: return text",
        "m = MCPServer('bare'); m.tool()(echo)",
    ),
}
COST_CHILD = """
import sys, time
{prelude}
{setup}
started = time.perf_counter()
{statement}
print(time.perf_counter() - started)
"""


def print_costs(env: dict[str, str], repeats: int) -> None:
    print(f"\ncosts in a fresh interpreter after `{PRELUDE}` (median of {repeats}, ms):")
    costs = [(label, setup, statement, env) for label, (setup, statement) in COSTS.items()]
    ssl_variables = [name for name in ("SSL_CERT_FILE", "SSL_CERT_DIR") if name in env]
    if ssl_variables:  # httpcore2 then loads that bundle; a host's environment usually has neither
        plain = {k: v for k, v in env.items() if k not in ssl_variables}
        label = f"httpx2.AsyncClient() without {'/'.join(ssl_variables)}"
        costs.append((label, "import httpx2", "httpx2.AsyncClient()", plain))
    for label, setup, statement, cost_env in costs:
        code = COST_CHILD.format(prelude=PRELUDE, setup=setup, statement=statement)
        command = [sys.executable, "-c", code]
        samples = [
            float(subprocess.run(command, env=cost_env, check=True, capture_output=True).stdout) for _ in range(repeats)
        ]
        print(f"  {statistics.median(samples) * 1000:8.1f}  {label}")


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = child_env(SORA_MCP_OUTPUT_DIR=tmp)
        bare_file = Path(tmp) / "bare_server.py"
        bare_file.write_text(BARE_SERVER, encoding="utf-8")
        sora_mcp = console_script("sora-mcp")
        logs = Path(tmp)
        targets = [
            Target(BARE, [sys.executable, str(bare_file)], env, logs / "bare.log"),
            Target(OURS, [sora_mcp, "serve"], env, logs / "ours.log"),
        ]
        if not args.no_emulator:
            targets.append(Target(OURS_EMULATOR, [sora_mcp, "serve", "--backend", "emulator"], env, logs / "emu.log"))

        print("preparing (untimed):")
        compile_tree(sys.executable, *site.getsitepackages(), package_folder("sora_mcp"))
        if args.peer:
            given = dict(item.replace("{tmp}", tmp).split("=", 1) for item in args.peer_env)
            peer_env = env | PEER_DEFAULT_ENV | given
            command, python, site_packages = resolve_uvx(shlex.split(args.peer), peer_env)
            if python is not None and site_packages:
                compile_tree(python, *site_packages)
            targets.append(Target(PEER, command, peer_env, logs / "peer.log"))
            print(f"  peer: {shlex.join(command)}")
        for target in targets:
            compiled = sources_compiled(target)
            shown = ", ".join(Path(path).name for path in compiled[:5])
            print(f"  {target.name}: {len(compiled)} modules compiled from source at start-up {shown}")
        for target in targets:  # warm-up round: caches, and any .pyc the compile step missed
            await time_start(target)

        for turn in range(args.runs):
            for target in targets[turn % len(targets) :] + targets[: turn % len(targets)]:
                wall, cpu = await time_start(target)
                target.times.append(wall)
                target.cpu.append(cpu)
        if args.runs:
            print_table(targets, args.runs)
        if args.imports:
            print_imports(targets[0], targets[1], args.imports, args.import_repeats)
        if args.costs:
            print_costs(env, args.import_repeats)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10, help="interleaved rounds (0: only the analyses)")
    parser.add_argument("--peer", help='another server\'s command line, e.g. "uvx --from sanzaru==0.12.2 sanzaru"')
    parser.add_argument(
        "--peer-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra env of the peer ({tmp}: a temporary folder); OPENAI_API_KEY is set to a fake key",
    )
    parser.add_argument("--no-emulator", action="store_true", help="leave out `serve --backend emulator`")
    parser.add_argument("--imports", type=int, default=0, metavar="N", help="list the N costliest extra imports")
    parser.add_argument("--costs", action="store_true", help="time single imports and constructors")
    parser.add_argument("--import-repeats", type=int, default=5, help="starts per import profile / cost")
    anyio.run(main, parser.parse_args())

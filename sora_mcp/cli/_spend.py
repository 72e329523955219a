"""``sora-mcp spend``: what the spend ledger holds (today, this month, per model, the latest creates),
and the spending flags the server and this command share."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from .._config import Settings
from .._errors import SoraError
from .._spend import Entry, Ledger, LedgerReport, Limits, Totals, ledger_path, local_now, usd

__all__ = ["SPEND_SETTING_FLAGS", "add_spend_command", "add_spend_flags"]

SPEND_SETTING_FLAGS = (
    "state_dir",
    "prices",
    "max_cost_per_video",
    "daily_budget",
    "monthly_budget",
    "confirm_above",
    "dedupe_window",
)

SPEND_ENVIRONMENT_HELP = """\
  SORA_MCP_STATE_DIR        folder of the spend ledger (default $XDG_STATE_HOME/sora-mcp or ~/.local/state/sora-mcp;
                            ~/Library/Application Support/sora-mcp on macOS, %LOCALAPPDATA%\\sora-mcp on Windows)
  SORA_MCP_PRICES           USD per second of models the catalog does not price: "m1=0.1,m2=0.2"
  SORA_MCP_MAX_COST_PER_VIDEO, SORA_MCP_DAILY_BUDGET, SORA_MCP_MONTHLY_BUDGET   spending limits in USD
  SORA_MCP_CONFIRM_ABOVE    ask the user before a create estimated above this (USD)
  SORA_MCP_DEDUPE_WINDOW    seconds an identical create returns the same job (default 900; 0: off)
"""


def add_spend_flags(parser: argparse.ArgumentParser) -> None:
    """Flags of the spend guard. Unset flags leave the environment and the defaults alone."""
    group = parser.add_argument_group("spending (prices, limits, confirmation, duplicates)")
    add = group.add_argument
    add("--state-dir", type=Path, help="folder of the spend ledger, shared by every sora-mcp process")
    add(
        "--price",
        dest="prices",
        action="append",
        metavar="MODEL=USD_PER_SECOND",
        help="price of a model the catalog does not know (repeatable; wins over the catalog)",
    )
    add("--max-cost-per-video", type=float, metavar="USD", help="refuse a create estimated above this")
    add("--daily-budget", type=float, metavar="USD", help="refuse creates past this per local calendar day")
    add("--monthly-budget", type=float, metavar="USD", help="refuse creates past this per calendar month")
    add("--confirm-above", type=float, metavar="USD", help="ask the user before a create estimated above this")
    add("--dedupe-window", type=float, metavar="SECONDS", help="an identical create returns the same job (900)")


def add_spend_command(commands: Any, to_settings: Callable[[argparse.Namespace], Settings]) -> None:
    """Register ``sora-mcp spend`` on the CLI's subparsers."""
    spend = commands.add_parser(
        "spend",
        help="show what the spend ledger holds: today, this month, per model",
        description="Show the spend ledger the MCP server keeps: spending today (local time) and this month, per "
        "model, the configured limits and the latest creates. Creates whose answer was lost count as spent.",
        epilog="environment variables:\n" + SPEND_ENVIRONMENT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    spend.add_argument("--json", action="store_true", help="print one JSON document (for scripts)")
    spend.add_argument("--recent", type=int, default=10, metavar="N", help="how many latest creates to list (10)")
    spend.add_argument(
        "--backend", choices=["api", "emulator"], help="emulator: the embedded emulator's ledger (play money)"
    )
    add_spend_flags(spend)
    spend.set_defaults(handler=lambda args: _spend(args, to_settings(args)))


def _spend(args: argparse.Namespace, settings: Settings) -> int:
    path = ledger_path(settings)
    try:
        report = _report(path, max(0, args.recent))
    except SoraError as exc:
        if args.json:
            print(json.dumps({"error": type(exc).__name__, "message": str(exc)}, indent=2))
        print(f"sora-mcp: {exc}", file=sys.stderr)
        return 1
    document = _document(report, Limits.from_settings(settings))
    if args.json:
        print(json.dumps(document, indent=2))
    else:
        print("\n".join(_lines(document)))
    return 0


def _report(path: Path, recent: int) -> LedgerReport:
    """The ledger's report; an empty one (without creating the file) when nothing was ever recorded."""
    if not path.exists():
        now = local_now()
        return LedgerReport(path, Totals(now.date().isoformat(), now.strftime("%Y-%m")), 0, 0, [], [])
    return Ledger(path).report_now(recent)


def _money(micros: int | None) -> float | None:
    return round(usd(micros), 6) if micros is not None else None


def _document(report: LedgerReport, limits: Limits) -> dict[str, Any]:
    totals = report.totals
    daily, monthly = totals.remaining(limits)
    return {
        "ledger": str(report.path),
        "today": {
            "date": totals.day,
            "spent_usd": _money(totals.today),
            "jobs": totals.creates_today,
            "unpriced_jobs": totals.unpriced_today,
            "possibly_spent_jobs": report.possibly_spent_today,
            "budget_usd": _money(limits.daily_budget),
            "remaining_usd": _money(daily),
        },
        "this_month": {
            "month": totals.month,
            "spent_usd": _money(totals.month_total),
            "jobs": totals.creates_this_month,
            "unpriced_jobs": totals.unpriced_this_month,
            "possibly_spent_jobs": report.possibly_spent_this_month,
            "budget_usd": _money(limits.monthly_budget),
            "remaining_usd": _money(monthly),
        },
        "per_model": [
            {
                "model": spend.model,
                "today_usd": _money(spend.today),
                "this_month_usd": _money(spend.this_month),
                "jobs_this_month": spend.creates_this_month,
                "unpriced_jobs_this_month": spend.unpriced_this_month,
            }
            for spend in report.per_model
        ],
        "limits": {
            "max_cost_per_video_usd": _money(limits.max_cost_per_video),
            "daily_budget_usd": _money(limits.daily_budget),
            "monthly_budget_usd": _money(limits.monthly_budget),
            "confirm_above_usd": _money(limits.confirm_above),
        },
        "recent": [_recent(entry) for entry in report.recent],
    }


def _recent(entry: Entry) -> dict[str, Any]:
    return {
        "at": datetime.fromtimestamp(entry.created_at).astimezone().isoformat(timespec="seconds"),
        "operation": entry.operation,
        "model": entry.model,
        "size": entry.size,
        "seconds": entry.seconds,
        "cost_usd": _money(entry.micros),
        "state": entry.state,
        "video_id": entry.video_id,
        "source_video_id": entry.source_video_id,
    }


def _usd(value: float | None) -> str:
    return f"${value:.2f}" if value is not None else "unknown"


def _period(label: str, period: dict[str, Any], budget_flag: str) -> list[str]:
    extras = []
    if period["unpriced_jobs"]:
        extras.append(f"{period['unpriced_jobs']} with an unknown price, not in the amount")
    if period["possibly_spent_jobs"]:
        extras.append(f"{period['possibly_spent_jobs']} possibly spent (the answer was lost)")
    extra = f" ({'; '.join(extras)})" if extras else ""
    jobs = "job" if period["jobs"] == 1 else "jobs"
    budget = (
        f"budget {_usd(period['budget_usd'])}, {_usd(max(period['remaining_usd'], 0))} left"
        if period["budget_usd"] is not None
        else f"no budget ({budget_flag})"
    )
    return [f"{label}: {_usd(period['spent_usd'])} in {period['jobs']} {jobs}{extra}; {budget}"]


def _lines(document: dict[str, Any]) -> list[str]:
    today, month = document["today"], document["this_month"]
    lines = [f"spend ledger: {document['ledger']}"]
    lines += _period(f"today ({today['date']}, local time)", today, "--daily-budget")
    lines += _period(f"this month ({month['month']})", month, "--monthly-budget")
    if document["per_model"]:
        lines.append("per model, this month:")
        for row in document["per_model"]:
            unpriced = row["unpriced_jobs_this_month"]
            note = f", {unpriced} unpriced (set --price {row['model']}=USD_PER_SECOND)" if unpriced else ""
            lines.append(
                f"  {row['model']:<24} {_usd(row['this_month_usd']):>10}  today {_usd(row['today_usd']):>8}  "
                f"{row['jobs_this_month']} jobs{note}"
            )
    if document["recent"]:
        lines.append("latest creates:")
        for row in document["recent"]:
            shape = " ".join(part for part in (row["model"], row["size"], f"{row['seconds']}s") if part)
            cost, video = _usd(row["cost_usd"]), row["video_id"] or "-"
            lines.append(f"  {row['at']}  {row['operation']:<8} {shape:<28} {cost:>8}  {row['state']:<8} {video}")
    return lines

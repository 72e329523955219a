"""What a create costs, the limits on spending, and the spend ledger every sora-mcp process shares.

- **Prices**: the user's price table (``Settings.prices``, USD per second; it wins, so a negotiated or
  Azure price can replace the list price), else the catalog (``_catalog.estimate_cost``), else
  *unknown*. An unknown price is never taken for zero: with a limit set, such a create is refused.
- **Limits** (all optional): per video, per local calendar day, per calendar month.
- **The ledger**: an SQLite file in the state folder, one row per create. A row is ``reserved`` (in
  the same transaction that checked the limits) before the create is sent, then ``sent`` with the
  job id, ``unknown`` when the answer was lost (the job may exist: possibly spent), or ``not_sent``
  when the server refused it (nothing was made). Reserved, sent and unknown rows count as spent.
  Unknown prices are stored as NULL and counted apart, never as zero.

Two processes may use one ledger at once: WAL mode (readers never wait for the writer), a busy
timeout, and ``BEGIN IMMEDIATE`` around check-and-record, so two processes cannot both pass a budget
that has room for one. Every call runs in a worker thread on its own connection; the clock ("now"
and the local date) is injectable.

The records are NamedTuples, not frozen dataclasses: the server imports this module at start, and on
Python 3.11 each frozen dataclass costs about 1 ms to create (six generated methods, each compiled),
a named tuple a fifth of that.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, NamedTuple, TypeVar

import anyio

from ._catalog import estimate_cost, lookup
from ._config import Settings
from ._errors import StorageError

__all__ = [
    "Clock",
    "Entry",
    "EntryState",
    "Estimate",
    "Existing",
    "Ledger",
    "LedgerReport",
    "Limits",
    "NewEntry",
    "Refused",
    "Reserved",
    "Totals",
    "describe_create",
    "estimate",
    "fingerprint",
    "ledger_path",
    "limit_refusal",
    "local_now",
    "money",
    "to_micros",
    "usd",
]

Clock = Callable[[], datetime]
PriceSource = Literal["catalog", "price_table", "unknown"]
EntryState = Literal["reserved", "sent", "unknown", "not_sent"]
MICROS = 1_000_000
SCHEMA_VERSION = 1
CACHE_KIB = 64  # each connection's page cache (SQLite's default is 2000 KiB); see Ledger._connect
T = TypeVar("T")

# Where each limit is set, for messages that say how to change it.
LIMIT_SETTINGS = {
    "max_cost_per_video": ("--max-cost-per-video", "SORA_MCP_MAX_COST_PER_VIDEO"),
    "daily_budget": ("--daily-budget", "SORA_MCP_DAILY_BUDGET"),
    "monthly_budget": ("--monthly-budget", "SORA_MCP_MONTHLY_BUDGET"),
    "confirm_above": ("--confirm-above", "SORA_MCP_CONFIRM_ABOVE"),
}


def local_now() -> datetime:
    """Now, in the local time zone (its date is the "day" of a daily budget)."""
    return datetime.now().astimezone()


def to_micros(amount: float) -> int:
    """USD as whole micro-dollars: sums and comparisons are exact (0.1 + 0.2 is 0.3)."""
    return round(amount * MICROS)


def usd(micros: int) -> float:
    return micros / MICROS


def ledger_path(settings: Settings) -> Path:
    """The ledger of this backend: the embedded emulator's play money is kept apart from real spending."""
    name = "emulator-ledger.sqlite3" if settings.backend == "emulator" else "ledger.sqlite3"
    return settings.state_dir / name


# -- prices and limits ---------------------------------------------------------------------------------


class Estimate(NamedTuple):
    """What a create should cost: ``micros`` is None when the price is unknown."""

    model: str
    size: str | None
    seconds: str | None
    micros: int | None
    per_second: float | None
    source: PriceSource

    @property
    def usd(self) -> float | None:
        return usd(self.micros) if self.micros is not None else None

    def describe(self) -> str:
        """``sora-2-pro 1280x720, 8 s at $0.30/s`` (what it is and, when known, its price per second)."""
        shape = ", ".join(part for part in (self.size, f"{self.seconds} s" if self.seconds else None) if part)
        head = f"{self.model} {shape}".strip()
        return head if self.per_second is None else f"{head} at {money(self.per_second)}/s"


def money(amount: float) -> str:
    """$0.10, $2.40; more digits only when cents would hide them ($0.125)."""
    return f"${amount:.2f}" if round(amount, 2) == amount else f"${amount:g}"


def describe_create(operation: str, cost: Estimate, source_video_id: str | None, *, article: str = "this") -> str:
    """``this video (sora-2 720x1280, 4 s at $0.10/s)``, ``a remix of video_1 (...)``."""
    what = f"remix of {source_video_id}" if operation == "remix" and source_video_id else operation
    what = "video" if what == "generate" else what
    return f"{article} {what} ({cost.describe()})"


def estimate(model: str, size: str | None, seconds: str | None, prices: dict[str, float]) -> Estimate:
    """The price of ``seconds`` of ``model`` at ``size``: the price table first, then the catalog."""
    whole = seconds is not None and seconds.isdigit()
    if model in prices and whole:
        table_price = prices[model]
        return Estimate(model, size, seconds, to_micros(table_price * int(str(seconds))), table_price, "price_table")
    cost = estimate_cost(model, size, seconds)
    spec = lookup(model)
    per_second = spec.price(size) if spec is not None and size else None
    if cost is None or per_second is None:
        return Estimate(model, size, seconds, None, None, "unknown")
    return Estimate(model, size, seconds, to_micros(cost), per_second, "catalog")


class Limits(NamedTuple):
    """The configured limits, in micro-dollars (None: no such limit)."""

    max_cost_per_video: int | None = None
    daily_budget: int | None = None
    monthly_budget: int | None = None
    confirm_above: int | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        def micros(value: float | None) -> int | None:
            return to_micros(value) if value is not None else None

        return cls(
            max_cost_per_video=micros(settings.max_cost_per_video),
            daily_budget=micros(settings.daily_budget),
            monthly_budget=micros(settings.monthly_budget),
            confirm_above=micros(settings.confirm_above),
        )

    def spending_limits(self) -> list[tuple[str, int]]:
        """The limits that refuse creates (not the confirmation threshold), as (setting, micros)."""
        named = [
            ("max_cost_per_video", self.max_cost_per_video),
            ("daily_budget", self.daily_budget),
            ("monthly_budget", self.monthly_budget),
        ]
        return [(name, value) for name, value in named if value is not None]

    def needs_confirmation(self, cost: Estimate) -> bool:
        """Above the threshold (an unknown price is never known to be below it)."""
        if self.confirm_above is None:
            return False
        return cost.micros is None or cost.micros > self.confirm_above


class Totals(NamedTuple):
    """What the ledger holds for one local day and its month (reserved, sent and possibly spent)."""

    day: str
    month: str
    today: int = 0
    month_total: int = 0
    creates_today: int = 0
    creates_this_month: int = 0
    unpriced_today: int = 0
    unpriced_this_month: int = 0

    def remaining(self, limits: Limits) -> tuple[int | None, int | None]:
        """What is left of the daily and the monthly budget (None: no such budget)."""
        daily = limits.daily_budget - self.today if limits.daily_budget is not None else None
        monthly = limits.monthly_budget - self.month_total if limits.monthly_budget is not None else None
        return daily, monthly


def _where(setting: str) -> str:
    flag, env = LIMIT_SETTINGS[setting]
    return f"{flag} (or {env})"


def limit_refusal(cost: Estimate, totals: Totals, limits: Limits, what: str) -> str | None:
    """Why a limit refuses this create (estimate, limit, spent, how to raise it), or None when none does."""
    configured = limits.spending_limits()
    if not configured:
        return None
    if cost.micros is None:
        setting, value = configured[0]
        flag = LIMIT_SETTINGS[setting][0]
        return (
            f"Not sent: {what} has no known price, so the spending limit ({flag} ${usd(value):.2f}) cannot be "
            f"checked; nothing was spent. Tell sora-mcp the price where it is started: --price "
            f'{cost.model}=USD_PER_SECOND (or SORA_MCP_PRICES="{cost.model}=USD_PER_SECOND").'
        )
    price = f"{what} would cost about ${usd(cost.micros):.2f}"
    if limits.max_cost_per_video is not None and cost.micros > limits.max_cost_per_video:
        return (
            f"Not sent: {price}, above the per-video limit of ${usd(limits.max_cost_per_video):.2f}; nothing was "
            f"spent. To allow it, start sora-mcp with a higher {_where('max_cost_per_video')}, or ask for a "
            "shorter or smaller video."
        )
    daily, monthly = totals.remaining(limits)
    if limits.daily_budget is not None and daily is not None and cost.micros > daily:
        return (
            f"Not sent: {price}, and ${usd(totals.today):.2f} of the daily budget of ${usd(limits.daily_budget):.2f} "
            f"is already spent today ({totals.day}, local time), leaving ${usd(max(daily, 0)):.2f}; nothing was "
            f"spent. To allow it, raise {_where('daily_budget')} where sora-mcp is started, or wait until tomorrow."
        )
    if limits.monthly_budget is not None and monthly is not None and cost.micros > monthly:
        return (
            f"Not sent: {price}, and ${usd(totals.month_total):.2f} of the monthly budget of "
            f"${usd(limits.monthly_budget):.2f} is already spent in {totals.month}, leaving "
            f"${usd(max(monthly, 0)):.2f}; nothing was spent. To allow it, raise {_where('monthly_budget')} where "
            "sora-mcp is started, or wait until next month."
        )
    return None


def fingerprint(**parts: object) -> str:
    """The identity of a create: what was asked of which server (image content, not its path)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


# -- the ledger ----------------------------------------------------------------------------------------


class NewEntry(NamedTuple):
    """A create about to be sent."""

    operation: str
    fingerprint: str
    server: str
    estimate: Estimate
    source_video_id: str | None = None


class Entry(NamedTuple):
    """One recorded create."""

    id: int
    created_at: float
    day: str
    operation: str
    model: str | None
    size: str | None
    seconds: str | None
    micros: int | None
    state: EntryState
    video_id: str | None
    source_video_id: str | None
    in_flight: bool  # reserved by another process whose answer may still arrive

    @property
    def cost_usd(self) -> float | None:
        return usd(self.micros) if self.micros is not None else None


class Reserved(NamedTuple):
    """The create was recorded as reserved: send it, then settle ``entry_id``."""

    entry_id: int
    totals: Totals  # this create included


class Existing(NamedTuple):
    """An identical create made within the dedupe window: nothing was recorded."""

    entry: Entry
    totals: Totals


class Refused(NamedTuple):
    """A limit refuses the create: nothing was recorded."""

    reason: str
    totals: Totals


class ModelSpend(NamedTuple):
    model: str
    today: int
    this_month: int
    creates_this_month: int
    unpriced_this_month: int


class LedgerReport(NamedTuple):
    path: Path
    totals: Totals
    possibly_spent_today: int
    possibly_spent_this_month: int
    per_model: list[ModelSpend]
    recent: list[Entry]


_TABLE = """
CREATE TABLE IF NOT EXISTS creates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    day TEXT NOT NULL,
    month TEXT NOT NULL,
    operation TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    server TEXT NOT NULL,
    model TEXT,
    size TEXT,
    seconds TEXT,
    cost_microusd INTEGER,
    state TEXT NOT NULL CHECK (state IN ('reserved', 'sent', 'unknown', 'not_sent')),
    reusable INTEGER NOT NULL DEFAULT 1,
    video_id TEXT,
    source_video_id TEXT,
    owner TEXT NOT NULL
)"""
_INDEXES = (
    "CREATE INDEX IF NOT EXISTS creates_by_fingerprint ON creates (fingerprint, created_at)",
    "CREATE INDEX IF NOT EXISTS creates_by_day ON creates (day)",
    "CREATE INDEX IF NOT EXISTS creates_by_month ON creates (month)",
)
# Queries are literal text (no formatting): reserved, sent and unknown rows are the spent ones.
_SELECT_ENTRY = (
    "SELECT id, created_at, day, operation, model, size, seconds, cost_microusd, state, video_id, source_video_id,"
    " owner FROM creates"
)


class Ledger:
    """The spend ledger at ``path``. Cheap to build: the file is opened on first use.

    ``in_flight_seconds``: how long another process's reservation may still be waiting for its answer
    (longer than a create's HTTP timeouts); after that, a reservation without an answer is a lost one.
    """

    def __init__(
        self,
        path: Path,
        *,
        clock: Clock = local_now,
        busy_timeout: float = 30.0,
        in_flight_seconds: float = 300.0,
    ) -> None:
        self.path = path
        self.clock = clock
        self.busy_timeout = busy_timeout
        self.in_flight_seconds = in_flight_seconds
        self.owner = f"{os.getpid()}-{secrets.token_hex(4)}"  # this process (and this ledger object)
        self._ready = False

    # -- async API (each call in a worker thread, on its own connection) ---------------------------------
    async def totals(self) -> Totals:
        return await self._run(self.totals_now)

    async def find(self, key: str, window: float) -> Entry | None:
        return await self._run(self.find_now, key, window)

    async def reserve(
        self, new: NewEntry, limits: Limits, *, window: float, new_job: bool
    ) -> Reserved | Existing | Refused:
        return await self._run(self.reserve_now, new, limits, window, new_job)

    async def settle(self, entry_id: int, state: EntryState, video_id: str | None = None) -> None:
        await self._run(self.settle_now, entry_id, state, video_id)

    async def release(self, entry_id: int) -> None:
        await self._run(self.release_now, entry_id)

    async def forget(self, entry_id: int) -> None:
        await self._run(self.forget_now, entry_id)

    async def report(self, recent: int = 10) -> LedgerReport:
        return await self._run(self.report_now, recent)

    @staticmethod
    async def _run(function: Callable[..., T], *args: Any) -> T:
        return await anyio.to_thread.run_sync(function, *args)

    # -- the same, synchronously -------------------------------------------------------------------------
    def totals_now(self) -> Totals:
        with self._transaction("DEFERRED") as db:
            return self._totals(db, self.clock())

    def find_now(self, key: str, window: float) -> Entry | None:
        """The latest create with this fingerprint within ``window`` seconds that may be reused."""
        with self._transaction("DEFERRED") as db:
            return self._find(db, key, window, self.clock().timestamp())

    def reserve_now(self, new: NewEntry, limits: Limits, window: float, new_job: bool) -> Reserved | Existing | Refused:
        """Atomically: the identical create within ``window`` (unless ``new_job``), else a limit's
        refusal, else a new ``reserved`` row."""
        with self._transaction("IMMEDIATE") as db:
            now = self.clock()
            totals = self._totals(db, now)
            if not new_job:
                existing = self._find(db, new.fingerprint, window, now.timestamp())
                if existing is not None:
                    return Existing(existing, totals)
            what = describe_create(new.operation, new.estimate, new.source_video_id)
            reason = limit_refusal(new.estimate, totals, limits, what)
            if reason is not None:
                return Refused(reason, totals)
            cost = new.estimate
            cursor = db.execute(
                "INSERT INTO creates (created_at, updated_at, day, month, operation, fingerprint, server, model, size,"
                " seconds, cost_microusd, state, source_video_id, owner)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'reserved', ?, ?)",
                (
                    now.timestamp(),
                    now.timestamp(),
                    totals.day,
                    totals.month,
                    new.operation,
                    new.fingerprint,
                    new.server,
                    cost.model,
                    cost.size,
                    cost.seconds,
                    cost.micros,
                    new.source_video_id,
                    self.owner,
                ),
            )
            assert cursor.lastrowid is not None
            return Reserved(cursor.lastrowid, self._totals(db, now))

    def settle_now(self, entry_id: int, state: EntryState, video_id: str | None = None) -> None:
        with self._transaction("IMMEDIATE") as db:
            db.execute(
                "UPDATE creates SET state = ?, video_id = coalesce(?, video_id), updated_at = ? WHERE id = ?",
                (state, video_id, self.clock().timestamp(), entry_id),
            )

    def release_now(self, entry_id: int) -> None:
        """Remove a reservation whose create was never sent (refused here, before the wire)."""
        with self._transaction("IMMEDIATE") as db:
            db.execute("DELETE FROM creates WHERE id = ? AND state = 'reserved'", (entry_id,))

    def forget_now(self, entry_id: int) -> None:
        """Never return this create again as a duplicate (its job failed or is gone); its cost stays."""
        with self._transaction("IMMEDIATE") as db:
            db.execute("UPDATE creates SET reusable = 0 WHERE id = ?", (entry_id,))

    def report_now(self, recent: int = 10) -> LedgerReport:
        with self._transaction("DEFERRED") as db:
            now = self.clock()
            totals = self._totals(db, now)
            day, month = totals.day, totals.month
            possibly_today, possibly_month = db.execute(
                "SELECT coalesce(sum(day = ?), 0), count(*) FROM creates WHERE month = ? AND state = 'unknown'",
                (day, month),
            ).fetchone()
            rows = db.execute(
                "SELECT coalesce(model, '?'), coalesce(sum(CASE WHEN day = ? THEN cost_microusd END), 0),"
                " coalesce(sum(cost_microusd), 0), count(*), coalesce(sum(cost_microusd IS NULL), 0)"
                " FROM creates WHERE month = ? AND state IN ('reserved', 'sent', 'unknown')"
                " GROUP BY 1 ORDER BY 3 DESC, 1",
                (day, month),
            ).fetchall()
            latest = db.execute(_SELECT_ENTRY + " ORDER BY created_at DESC, id DESC LIMIT ?", (recent,)).fetchall()
            return LedgerReport(
                path=self.path,
                totals=totals,
                possibly_spent_today=int(possibly_today),
                possibly_spent_this_month=int(possibly_month),
                per_model=[ModelSpend(str(m), int(t), int(s), int(n), int(u)) for m, t, s, n, u in rows],
                recent=[self._entry(row, now.timestamp()) for row in latest],
            )

    # -- internals -----------------------------------------------------------------------------------------
    def _totals(self, db: sqlite3.Connection, now: datetime) -> Totals:
        day, month = now.date().isoformat(), now.strftime("%Y-%m")
        row = db.execute(
            "SELECT coalesce(sum(CASE WHEN day = ? THEN cost_microusd END), 0), coalesce(sum(cost_microusd), 0),"
            " coalesce(sum(day = ?), 0), count(*),"
            " coalesce(sum(day = ? AND cost_microusd IS NULL), 0), coalesce(sum(cost_microusd IS NULL), 0)"
            " FROM creates WHERE month = ? AND state IN ('reserved', 'sent', 'unknown')",
            (day, day, day, month),
        ).fetchone()
        return Totals(day, month, *(int(value) for value in row))

    def _find(self, db: sqlite3.Connection, key: str, window: float, now: float) -> Entry | None:
        if window <= 0:
            return None
        row = db.execute(
            _SELECT_ENTRY + " WHERE fingerprint = ? AND created_at >= ? AND reusable = 1"
            " AND state IN ('reserved', 'sent', 'unknown') ORDER BY created_at DESC, id DESC LIMIT 1",
            (key, now - window),
        ).fetchone()
        return self._entry(row, now) if row is not None else None

    def _entry(self, row: tuple[Any, ...], now: float) -> Entry:
        entry_id, created_at, day, operation, model, size, seconds, micros, state, video_id, source, owner = row
        in_flight = state == "reserved" and owner != self.owner and now - created_at < self.in_flight_seconds
        return Entry(
            int(entry_id),
            float(created_at),
            str(day),
            str(operation),
            model,
            size,
            seconds,
            micros,
            state,
            video_id,
            source,
            in_flight,
        )

    @contextmanager
    def _transaction(self, mode: Literal["DEFERRED", "IMMEDIATE"]) -> Iterator[sqlite3.Connection]:
        """One transaction on a fresh connection; every failure of the file is a StorageError."""
        try:
            with closing(self._connect()) as db:
                db.execute(f"BEGIN {mode}")
                try:
                    yield db
                except BaseException:
                    db.rollback()
                    raise
                db.commit()
        except (sqlite3.Error, OSError) as exc:
            raise StorageError(
                f"The spend ledger {self.path} could not be used ({exc}); nothing was sent.",
                hint="Check that its folder is writable (and on a local disk), or point --state-dir "
                "(SORA_MCP_STATE_DIR) at another folder.",
            ) from exc

    def _connect(self) -> sqlite3.Connection:
        if not self._ready:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
        try:
            # A connection lasts one transaction, so its page cache never serves another: with the default
            # (2 MB) it held every page the month's totals read, and a call's memory grew with the ledger
            # (the worker threads' malloc arenas keep that high-water mark). The OS keeps the pages warm.
            db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
            if not self._ready:
                self._prepare(db)
                self._ready = True
        except BaseException:
            db.close()
            raise
        return db

    def _prepare(self, db: sqlite3.Connection) -> None:
        """WAL mode (kept by the file), then the table, created once under the write lock."""
        # Two processes opening a new ledger at once: switching it to WAL answers "database is locked"
        # at once to the second, without waiting for the busy timeout. The switch takes milliseconds.
        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                db.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)  # a worker thread, never the event loop
        db.execute("BEGIN IMMEDIATE")
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise sqlite3.DatabaseError(
                    f"it was written by a newer sora-mcp (schema {version}); upgrade sora-mcp to use it"
                )
            db.execute(_TABLE)
            for index in _INDEXES:
                db.execute(index)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except BaseException:
            db.rollback()
            raise
        db.commit()
        with suppress(OSError):
            self.path.chmod(0o600)  # what someone spends is theirs to see

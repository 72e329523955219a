"""The spend ledger and prices on their own: an injectable clock (days, months, the dedupe window), exact
sums, unknown prices kept apart, and two connections racing for the last slot of a budget."""

from __future__ import annotations

import ctypes
import sqlite3
import threading
from contextlib import closing
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from sora_mcp import Settings, StorageError
from sora_mcp._spend import (
    Existing,
    Ledger,
    Limits,
    NewEntry,
    Refused,
    Reserved,
    estimate,
    fingerprint,
    ledger_path,
    to_micros,
)

pytestmark = pytest.mark.anyio

TOKYO = timezone(timedelta(hours=9))


class FakeClock:
    """Local time that only moves when told to."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 30, 23, 50, tzinfo=TOKYO))


def entry(
    key: str = "k", model: str = "sora-2", seconds: str = "4", prices: dict[str, float] | None = None
) -> NewEntry:
    return NewEntry("generate", key, "http://server.test/v1", estimate(model, "720x1280", seconds, prices or {}))


def reserve(
    ledger: Ledger, new: NewEntry, limits: Limits | None = None, *, window: float = 900, new_job: bool = False
) -> object:
    return ledger.reserve_now(new, limits or Limits(), window, new_job)


def test_prices_come_from_the_table_then_the_catalog_and_are_never_zero_when_unknown() -> None:
    assert estimate("sora-2", "720x1280", "4", {}).micros == to_micros(0.40)
    pro = estimate("sora-2-pro", "1792x1024", "8", {})
    assert (pro.micros, pro.per_second, pro.source) == (to_micros(4.0), 0.5, "catalog")
    mine = estimate("my-model", "640x480", "3", {"my-model": 0.125})
    assert (mine.micros, mine.source) == (375_000, "price_table")
    assert estimate("sora-2", "720x1280", "4", {"sora-2": 0.05}).micros == to_micros(0.20), "the table wins"
    unknown = estimate("my-model", "640x480", "3", {})
    assert (unknown.micros, unknown.usd, unknown.source) == (None, None, "unknown")
    assert estimate("sora-2", "1920x1080", "4", {}).micros is None, "a size the catalog does not price"


def test_the_price_table_comes_from_flags_and_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SORA_MCP_PRICES", "m1=0.1, m2 = 0.25")
    assert Settings().prices == {"m1": 0.1, "m2": 0.25}
    assert Settings(prices=["m3=1", "org/model:v2=0.5"]).prices == {"m3": 1.0, "org/model:v2": 0.5}
    for bad in ("m1", "m1=", "=0.1", "m1=abc", "m1=-1", "m1=nan"):
        with pytest.raises(ValueError, match=r"price|number|float"):
            Settings(prices=bad)


def test_the_state_folder_follows_the_platform_and_the_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert Settings().state_dir == tmp_path / "xdg" / "sora-mcp"
    monkeypatch.setenv("SORA_MCP_STATE_DIR", str(tmp_path / "mine"))
    assert Settings().state_dir == tmp_path / "mine"
    assert ledger_path(Settings()).name == "ledger.sqlite3"
    assert ledger_path(Settings(backend="emulator")).name == "emulator-ledger.sqlite3", "play money kept apart"


def test_sums_are_exact_and_days_and_months_roll_over_in_local_time(tmp_path: Path, clock: FakeClock) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3", clock=clock)
    limits = Limits(daily_budget=to_micros(0.3), monthly_budget=to_micros(0.5))
    cheap = {"cheap": 0.1}
    for key in ("a", "b", "c"):  # 0.1 + 0.1 + 0.1 is exactly the daily budget
        assert isinstance(reserve(ledger, entry(key, "cheap", "1", cheap), limits), Reserved)
    refused = reserve(ledger, entry("d", "cheap", "1", cheap), limits)
    assert isinstance(refused, Refused) and "daily budget of $0.30" in refused.reason
    assert "2026-11-30, local time" in refused.reason

    clock.advance(minutes=15)  # 23:50 -> 00:05 the next day, in Tokyo: a new day, and a new month
    totals = ledger.totals_now()
    assert (totals.day, totals.month, totals.today, totals.month_total) == ("2026-12-01", "2026-12", 0, 0)
    clock.now = datetime(2026, 11, 30, 23, 59, tzinfo=TOKYO)
    assert ledger.totals_now().month_total == to_micros(0.3)
    clock.now = datetime(2026, 11, 29, 12, 0, tzinfo=TOKYO)  # same month, another day: only the month counts
    tight = Limits(monthly_budget=to_micros(0.35))
    refused = reserve(ledger, entry("e", "cheap", "1", cheap), tight)
    assert isinstance(refused, Refused) and "monthly budget of $0.35" in refused.reason and "2026-11" in refused.reason


def test_unknown_prices_are_null_and_counted_apart(tmp_path: Path, clock: FakeClock) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3", clock=clock)
    assert isinstance(reserve(ledger, entry("x", "mystery")), Reserved)
    totals = ledger.totals_now()
    assert (totals.today, totals.creates_today, totals.unpriced_today) == (0, 1, 1)
    with sqlite3.connect(ledger.path) as db:
        assert db.execute("SELECT cost_microusd, model FROM creates").fetchall() == [(None, "mystery")]
    refused = reserve(ledger, entry("y", "mystery"), Limits(daily_budget=to_micros(100)))
    assert isinstance(refused, Refused) and "--price mystery=USD_PER_SECOND" in refused.reason


def test_states_what_counts_and_what_is_reused(tmp_path: Path, clock: FakeClock) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3", clock=clock)
    sent = reserve(ledger, entry("sent"))
    assert isinstance(sent, Reserved)
    ledger.settle_now(sent.entry_id, "sent", "video_1")
    refused_by_server = reserve(ledger, entry("400"))
    assert isinstance(refused_by_server, Reserved)
    ledger.settle_now(refused_by_server.entry_id, "not_sent")
    lost = reserve(ledger, entry("lost"))
    assert isinstance(lost, Reserved)
    ledger.settle_now(lost.entry_id, "unknown")
    released = reserve(ledger, entry("released"))
    assert isinstance(released, Reserved)
    ledger.release_now(released.entry_id)

    totals = ledger.totals_now()
    assert (totals.today, totals.creates_today) == (to_micros(0.8), 2), "sent and possibly spent count; refused not"
    found = reserve(ledger, entry("sent"))
    assert isinstance(found, Existing) and found.entry.video_id == "video_1" and found.entry.state == "sent"
    assert isinstance(reserve(ledger, entry("lost")), Existing), "a lost answer blocks a blind second create"
    assert isinstance(reserve(ledger, entry("400")), Reserved), "what the server refused may be sent again"
    assert isinstance(reserve(ledger, entry("sent"), new_job=True), Reserved)
    ledger.forget_now(found.entry.id)
    assert ledger.find_now("sent", 900) is not None, "the new_job create is found now"


def test_the_dedupe_window_and_reservations_in_flight(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "ledger.sqlite3"
    mine = Ledger(path, clock=clock, in_flight_seconds=120)
    other_process = Ledger(path, clock=clock, in_flight_seconds=120)
    first = reserve(mine, entry("k"))
    assert isinstance(first, Reserved)
    seen = reserve(other_process, entry("k"))
    assert isinstance(seen, Existing) and seen.entry.in_flight is True
    clock.advance(seconds=121)
    seen = reserve(other_process, entry("k"))
    assert isinstance(seen, Existing) and seen.entry.in_flight is False and seen.entry.state == "reserved"
    mine.settle_now(first.entry_id, "sent", "video_1")
    clock.advance(seconds=900 - 121 - 1)
    assert reserve(other_process, entry("k"), window=900).__class__ is Existing
    clock.advance(seconds=2)
    assert isinstance(reserve(other_process, entry("k"), window=900), Reserved), "outside the window: a new job"
    assert mine.find_now("k", 0) is None, "a window of 0 turns it off"


def test_the_ledger_survives_a_restart_and_is_in_wal_mode(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "state" / "ledger.sqlite3"
    first = Ledger(path, clock=clock)
    made = reserve(first, entry("k"))
    assert isinstance(made, Reserved)
    first.settle_now(made.entry_id, "sent", "video_1")
    again = Ledger(path, clock=clock)
    found = reserve(again, entry("k"))
    assert isinstance(found, Existing) and found.entry.video_id == "video_1"
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700


def test_two_connections_race_for_the_last_slot_and_exactly_one_wins(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "ledger.sqlite3"
    limits = Limits(daily_budget=to_micros(1.0))
    ledgers = [Ledger(path, clock=clock) for _ in range(8)]
    ledgers[0].totals_now()  # the file exists before the race (creating it is not what is raced)
    start = threading.Barrier(len(ledgers))
    outcomes: list[object] = [None] * len(ledgers)

    def contend(index: int) -> None:
        start.wait(timeout=10)
        # 8 different creates of $0.40 each against $1.00: exactly two fit.
        outcomes[index] = reserve(ledgers[index], entry(f"k{index}"), limits)

    threads = [threading.Thread(target=contend, args=(index,)) for index in range(len(ledgers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sum(isinstance(outcome, Reserved) for outcome in outcomes) == 2
    assert sum(isinstance(outcome, Refused) for outcome in outcomes) == 6
    assert ledgers[0].totals_now().today == to_micros(0.8)


def test_an_unusable_ledger_is_a_storage_error_that_says_where(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the state folder should be")
    ledger = Ledger(blocker / "ledger.sqlite3")
    with pytest.raises(StorageError, match="could not be used") as caught:
        ledger.totals_now()
    assert "--state-dir" in str(caught.value) and "nothing was sent" in str(caught.value)


async def test_the_async_api_runs_in_a_worker_thread(tmp_path: Path, clock: FakeClock) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3", clock=clock)
    made = await ledger.reserve(entry("k"), Limits(), window=900, new_job=False)
    assert isinstance(made, Reserved)
    await ledger.settle(made.entry_id, "sent", "video_1")
    report = await ledger.report()
    assert report.totals.today == to_micros(0.4) and [e.video_id for e in report.recent] == ["video_1"]
    assert [(m.model, m.this_month) for m in report.per_model] == [("sora-2", to_micros(0.4))]


class SQLiteMemory:
    """SQLite's own count of the memory it holds, process-wide (``sqlite3_status64``, through the
    library the ``sqlite3`` module uses); None where that library does not export it."""

    MEMORY_USED = 0  # SQLITE_STATUS_MEMORY_USED

    def __init__(self) -> None:
        import _sqlite3

        self._status = ctypes.CDLL(_sqlite3.__file__).sqlite3_status64
        self._status.argtypes = [ctypes.c_int, *[ctypes.POINTER(ctypes.c_int64)] * 2, ctypes.c_int]

    def read(self, *, reset: bool = False) -> tuple[int, int]:
        """(held now, the most held since the last reset)."""
        current, highest = ctypes.c_int64(), ctypes.c_int64()
        assert self._status(self.MEMORY_USED, ctypes.byref(current), ctypes.byref(highest), int(reset)) == 0
        return current.value, highest.value

    @classmethod
    def or_skip(cls) -> SQLiteMemory:
        try:
            return cls()
        except (OSError, AttributeError):
            pytest.skip("this sqlite3 module's library does not export sqlite3_status64")


def test_a_call_holds_little_memory_however_many_creates_the_month_has(tmp_path: Path, clock: FakeClock) -> None:
    """Each call has a connection of its own, dropped when it ends: with SQLite's default page cache
    (2 MB), every page the month's totals read stayed in it until then, so a call's memory grew with the
    ledger; the worker threads' malloc arenas kept that high-water mark (the soak's server RSS crept)."""
    memory = SQLiteMemory.or_skip()
    ledger = Ledger(tmp_path / "ledger.sqlite3", clock=clock)
    assert isinstance(reserve(ledger, entry("seed")), Reserved)
    columns = "created_at, updated_at, day, month, operation, fingerprint, server, model, size, seconds, state, owner"
    with closing(sqlite3.connect(ledger.path)) as db:  # 8,192 creates this month: 13 doublings of the first
        for _ in range(13):
            db.execute(f"INSERT INTO creates ({columns}) SELECT {columns} FROM creates")
        db.commit()
    held, _ = memory.read(reset=True)
    totals = ledger.totals_now()
    made = reserve(ledger, entry("another"))
    _, highest = memory.read()
    assert totals.creates_this_month == 8192 and isinstance(made, Reserved), "every row of the month was read"
    if highest == 0:
        pytest.skip("this SQLite keeps no memory statistics (SQLITE_DEFAULT_MEMSTATUS=0)")
    assert highest - held < 512 * 1024, f"a call held {(highest - held) // 1024} KiB more at its peak"


def test_fingerprints_depend_on_every_part() -> None:
    base = {"prompt": "p", "model": "m", "image": "sha256:1"}
    assert fingerprint(**base) == fingerprint(**dict(reversed(base.items())))
    assert fingerprint(**base) != fingerprint(**{**base, "image": "sha256:2"})


def test_many_processes_opening_a_new_ledger_at_once_all_succeed(tmp_path: Path, clock: FakeClock) -> None:
    """Switching a new file to WAL answers "database is locked" at once to all but one opener, whatever
    the busy timeout: the ledger retries it (two hosts starting together must not refuse a create)."""
    failures: list[BaseException] = []
    for trial in range(60):
        path = tmp_path / f"ledger-{trial}.sqlite3"
        barrier = threading.Barrier(8)

        def open_and_read(path: Path = path, barrier: threading.Barrier = barrier) -> None:
            ledger = Ledger(path, clock=clock)
            barrier.wait()
            try:
                ledger.totals_now()
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=open_and_read) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert failures == []

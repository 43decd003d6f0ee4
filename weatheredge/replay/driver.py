"""Replay a tape through the unchanged Engine, jobs, paper trader and store on a virtual clock.

The tape is read in file order (the live event loop's order). Each record first moves the
:class:`~weatheredge.clock.VirtualClock` to its receive times, then:

- ``frame``: ``Engine.on_frame(raw, mono_ns)``, as the feed handed it live;
- ``feed``: shard membership (subscribe/unsubscribe/connected) and socket changes:
  ``connected`` -> ``Engine.on_connected(tokens)`` (deltas wait for that socket's snapshot),
  ``disconnected`` -> ``Engine.on_disconnected(reason, shard tokens)`` (books unsynced); a
  ``cancelled`` disconnect is the daemon stopping: ``Engine.stop()`` first, as live;
- ``stale`` -> ``Engine.mark_stale`` with the watchdog's reasons; ``rest_books`` -> the polled
  books (the ``clob`` answers just before it) through ``Engine.on_rest_books``;
- ``http``: the answer is handed to the job waiting for it (:mod:`weatheredge.replay.http`); a
  job whose answer arrives while it is not running is started then (discovery for Gamma,
  forecasts for the ensemble, observations for METAR/NWS/HKO/CWA), so jobs run at the virtual
  times they ran live and read the bodies they read;
- ``applied``: a job held where it applies a result goes on (:mod:`weatheredge.replay.holds`),
  so the result is in force from the same input as live;
- decisions on the tape (``edge``, ``intent``…) are kept for the parity check, not replayed;
- the timer jobs (market snapshots, settlement, calibration refit) fire at their virtual times
  from each ``session`` start (:mod:`weatheredge.replay.schedule`), and every
  ``snapshot_interval`` our probabilities and the mids are sampled for the scoreboard.

The paper trader (its own task live) steps where the tape shows the live trader acting (the
first of its ``intent``/``fill``… records after an input), so it sees the books it saw live;
its paper orders meet the books at the tape's ``paper_match`` (:mod:`weatheredge.replay.pacer`);
else once per virtual second (its timer), and a signal the live run never had (another config)
is read within a virtual second. The venue's resolutions on the tape are collected for scoring
(:mod:`weatheredge.replay.resolutions`), never handed to a decision.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from weatheredge.clock import SYSTEM, VirtualClock
from weatheredge.config import Mode, Settings
from weatheredge.context import JobContext
from weatheredge.engine import EdgeSignal, Engine
from weatheredge.health import Health
from weatheredge.replay.holds import ApplyHolds
from weatheredge.replay.http import StubSession, TapeHttp
from weatheredge.replay.inputs import TapeInputs
from weatheredge.replay.pacer import TraderPacer
from weatheredge.replay.resolutions import LOOKAHEAD_NS, Resolutions
from weatheredge.replay.sampler import Sampler, Samples
from weatheredge.replay.schedule import Schedule, TimerJobs
from weatheredge.replay.venue_tape import KINDS as VENUE
from weatheredge.replay.venue_tape import TapeVenue, attach
from weatheredge.sinks import edge_record
from weatheredge.store import Store
from weatheredge.tape.reader import FrameRecord, read_tape
from weatheredge.tape.records import encode
from weatheredge.trading.ledger import use_clock

logger = logging.getLogger(__name__)

INPUTS = frozenset({"frame", "feed", "http", "rest_books", "stale", "user"})
DECISIONS = frozenset({"edge", "intent", "intent_update", "fill", "rejection"})
TRADER = DECISIONS - {"edge"}  # the live trader acted here


@dataclass
class Decision:
    """One decision as the tape holds it, with the input it answered (its receive times)."""

    kind: str
    record: dict[str, Any]
    trigger: tuple[int, int]  # (wall_ns, mono_ns) of the input being processed


@dataclass
class ReplayResult:
    decisions: list[Decision] = field(default_factory=list)
    taped: list[Decision] = field(default_factory=list)  # the live decisions on the tape
    counts: Counter[str] = field(default_factory=Counter)
    span_ns: int = 0
    cpu_s: float = 0.0
    trading: dict[str, Any] | None = None
    positions: list[dict[str, Any]] = field(default_factory=list)  # the ledger's, at the end
    samples: Samples = field(default_factory=Samples)  # our P(YES) and the mid, for scoring
    resolutions: Resolutions = field(default_factory=Resolutions)  # the venue's, on the tape
    end_wall_ns: int = 0
    missing: Counter[str] = field(default_factory=Counter)  # requests the tape never answered
    venue_mismatches: list[str] = field(default_factory=list)  # --venue tape: orders unmatched


class Replay(TapeInputs, TimerJobs):
    def __init__(
        self,
        settings: Settings,
        *,
        speed: float | None = None,
        start_ns: int | None = None,
        end_ns: int | None = None,
        sample_s: float | None = None,
        venue: str = "paper",
    ) -> None:
        self.settings = settings
        self.speed = speed  # None: as fast as possible; N: N times real time
        self.start_ns, self.end_ns = start_ns, end_ns
        self.sample_s = sample_s  # scoreboard sampling period (default: snapshot_interval)
        self.clock = VirtualClock()
        self._paced_by_tape = True  # the tape's trader records pace ours (see _new_session)
        # paper: orders meet the tape's books; tape: the venue's recorded answers (venue_tape.py)
        self.tape_venue = TapeVenue(self.clock.monotonic_ns) if venue == "tape" else None
        self.http = TapeHttp()
        self.result = ReplayResult()
        self._trigger = (0, 0)
        self._previous = (0, 0)
        self._shards: dict[int, set[str]] = {}
        self._clob: list[bytes] = []
        self._jobs: dict[str, asyncio.Task[None]] = {}
        self._blocked: Counter[str] = Counter()
        self.pacer: TraderPacer | None = None
        self._mono_offset: int | None = None
        self._stopped = False
        self._warming = False
        self._tick_ns = 0  # next virtual second: timer jobs, samples, unanswered requests

    # -- decisions --------------------------------------------------------------------------

    def _keep(self, kind: str, fields: Any) -> None:
        if self._warming:
            return
        line = json.loads(encode(self.clock.wall_ns, self.clock.mono_ns, kind, fields))
        self.result.decisions.append(Decision(kind, line, self._trigger))

    def _sink(self, signal: EdgeSignal) -> None:
        record = edge_record(signal)
        self.store.submit(record)
        self._keep("edge", record)
        if self.trading is not None and self.pacer is not None:
            self.trading.on_signal(signal)
            if self.pacer.signal_since is None:
                self.pacer.signal_since = self.clock.mono_ns

    # -- set-up -----------------------------------------------------------------------------

    async def _open(self) -> None:
        s = self.settings
        self.store = Store.open(s.database, close_open_edges="replay restarted")
        self.engine = Engine(
            min_edge=s.min_edge,
            hysteresis=s.edge_hysteresis,
            max_forecast_age=s.weather.max_forecast_age,
            emit=self._sink,
            clock=self.clock,
            ladder_min_edge=s.model.ladder_min_edge,
        )
        self.ctx = JobContext(
            settings=s,
            session=StubSession(self.http),  # type: ignore[arg-type]
            store=self.store,
            engine=self.engine,
            stream=None,
            health=Health(),
            request_run=lambda name: None,  # jobs run when the tape shows their answers
        )
        self.holds = ApplyHolds(self.http, self.clock.monotonic_ns)
        self.ctx.applying = self.holds.hold  # results applied at the tape's `applied` records
        self.schedule = Schedule(s)
        self.http.now_ns = self.clock.monotonic_ns
        every = self.sample_s or s.model.snapshot_interval
        self.sampler = Sampler(self.engine, self._zone_of, int(every * 1e9))
        self.result.samples = self.sampler.samples
        self.trading: Any = None
        # As live, trading starts in every mode: a dry run's trader records its intents too,
        # and parity compares them.
        from weatheredge.notify import Notifier
        from weatheredge.trading.setup import start_trading

        # No targets: a replay decides and records, it never pushes a notification.
        quiet = Notifier([], levels=s.trading.notify)
        self.trading = await start_trading(
            s, engine=self.engine, stream=lambda: None, notifier=quiet, live=self.ctx.live,
            gateway=self.tape_venue,
        )  # fmt: skip
        # The trader steps paced by the tape (replay/pacer.py), not on its own timer.
        await self.trading.trader.stop()
        self.trading.ledger.tape = self._trader_record
        await self.trading.trader.recover()
        self.pacer = TraderPacer(self.trading.trader)
        if self.tape_venue is not None:
            attach(self.tape_venue, self.trading.trader, self.pacer)
        elif self.trading.gateway is not None:
            self.pacer.wrap(self.trading.gateway, self.clock)
        self.pacer.hold_writes(self.trading.ledger, self.clock)  # its records at the tape's
        self.pacer.start()

    def _trader_record(self, kind: str, fields: Any) -> None:
        if self.pacer is not None:
            self.pacer.wrote(kind, fields)
        if kind != "paper_match":
            self._keep(kind, fields)

    async def _close(self) -> None:
        if not self._stopped:
            self.engine.stop()
        self.http.expire(self.schedule.jobs, 2**63)  # the tape ended before their answers
        self.holds.release_all()
        for task in self._jobs.values():
            task.cancel()
        for task in self._jobs.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.result.end_wall_ns = self.clock.wall_ns
        self.sampler.remember_catalogue()
        self.result.missing = self.http.missing
        if self.trading is not None:
            if self.tape_venue is not None:  # its unanswered requests fail before the last step
                self.tape_venue.finish()
                self.result.venue_mismatches = self.tape_venue.mismatches
            if self.pacer is not None:
                await self.pacer.close(self.clock.mono_ns)
            self.result.trading = self.trading.status()
            self.result.positions = await self.trading.ledger.positions()
            await self.trading.close()
            use_clock(SYSTEM)
        await self.store.close(grace_s=30.0)

    # -- the loop ---------------------------------------------------------------------------

    async def run(self, records: Iterable[dict[str, Any] | FrameRecord]) -> ReplayResult:
        cpu = time.process_time()
        records = iter(records)
        await self._open()
        first_wall: int | None = None
        real0 = time.monotonic()
        start_ns, end_ns = self.start_ns, self.end_ns
        try:
            for rec in records:
                if type(rec) is FrameRecord:
                    # The hot loop (most records): no dict, straight to the one frame path.
                    wall = rec.wall_ns
                    self._warming = start_ns is not None and wall < start_ns
                    if end_ns is not None and wall > end_ns:
                        self._warming = True
                        break
                    if first_wall is None:
                        first_wall = wall
                        self.clock.set(wall, rec.mono_ns)
                    if self.speed is not None:
                        await self._pace(wall - first_wall, real0)
                    await self._frame(wall, rec.mono_ns, rec.raw)
                    self.result.span_ns = wall - first_wall
                    continue
                wall = rec.get("wall_ns", 0)
                # Before --from: replayed to warm up (catalogue, prices, snapshots of the books),
                # its decisions neither kept nor compared.
                self._warming = self.start_ns is not None and wall < self.start_ns
                if self.end_ns is not None and wall > self.end_ns:
                    self._warming = True  # closing at --to is the replay's, not the tape's
                    break
                if first_wall is None:
                    first_wall = wall
                    self.clock.set(wall, rec.get("mono_ns", 0))
                if self.speed is not None:
                    await self._pace(wall - first_wall, real0)
                await self._record(rec)
                self.result.span_ns = wall - first_wall
        finally:
            await self._close()
        if self.end_ns is not None:
            self.result.resolutions.scan(records, self.end_ns + LOOKAHEAD_NS)
        self.result.cpu_s = time.process_time() - cpu
        return self.result

    async def _pace(self, virtual_ns: int, real0: float) -> None:
        """``--speed N``: wait until real time catches up with the tape."""
        ahead = virtual_ns / 1e9 / (self.speed or 1.0) - (time.monotonic() - real0)
        if ahead > 0:
            await asyncio.sleep(ahead)

    async def _frame(self, wall: int, mono_ns: int, raw: str | bytes) -> None:
        """One market frame, as the feed handed it live: the clock, the venue's resolutions
        (scoring), timer jobs and samples due, the trigger, the engine, the trader's pace."""
        self.result.counts["frame"] += 1
        mono = mono_ns + (self._mono_offset or 0)
        self.clock.set(wall, mono)
        self.result.resolutions.frame(raw, wall)
        if wall >= self._tick_ns:
            await self._timers(wall)
        self._previous = self._trigger
        self._trigger = (wall, mono_ns)
        self.engine.on_frame(raw, mono)
        if self.pacer is not None:
            await self.pacer.tick(self.clock.mono_ns)

    async def _record(self, rec: dict[str, Any]) -> None:
        kind = rec["kind"]
        if kind == "frame":
            raw = rec.get("raw")
            if raw is None and "raw_b64" in rec:
                raw = base64.b64decode(rec["raw_b64"])
            await self._frame(rec.get("wall_ns", 0), rec.get("mono_ns", 0), raw)
            return
        self.result.counts[kind] += 1
        if kind == "paper_match":  # the live paper venue read the books here
            if self.pacer is not None:
                await self.pacer.at_match()
            return
        if kind == "applied":  # the live job's result was in force from here
            if self.holds.applied(str(rec.get("job")), str(rec.get("key"))):
                await self._settle()
            return
        if kind in DECISIONS:
            if kind in TRADER and self.pacer is not None and self._paced_by_tape:
                await self.pacer.at_taped(self.clock.mono_ns, rec)
            if not self._warming:
                self.result.taped.append(Decision(kind, rec, self._trigger))
            return
        if kind == "session":
            self._new_session(rec)
            return
        if kind == "http" and rec.get("error") == "CancelledError":
            return  # cancelled by the stopping daemon (after its edges closed): not an input
        mono = rec.get("mono_ns", 0) + (self._mono_offset or 0)
        self.clock.set(rec.get("wall_ns", 0), mono)
        if kind == "http":
            self.result.resolutions.feed(rec)
        if kind in INPUTS:
            if self.clock.wall_ns >= self._tick_ns:
                await self._timers(self.clock.wall_ns)
            self._previous = self._trigger
            self._trigger = (rec.get("wall_ns", 0), rec.get("mono_ns", 0))
        if kind == "feed":
            self._feed(rec)
        elif kind == "http":
            await self._http(rec)
        elif kind == "stale":
            self.engine.mark_stale(
                rec.get("differ", []), "differs from REST /books while the feed was quiet"
            )
            self.engine.mark_stale(rec.get("missing", []), "no snapshot on this connection")
            self._clob.clear()
        elif kind == "rest_books":
            self._rest_books(rec, mono)
        elif kind in VENUE and self.tape_venue is not None:  # --venue tape: the venue's answers
            if self.tape_venue.reached(rec) and self.pacer is not None:
                await self.pacer.settle()
        if self.pacer is not None:
            await self.pacer.tick(self.clock.mono_ns)

    def _new_session(self, rec: dict[str, Any]) -> None:
        """A daemon (re)start: a new monotonic clock; the last process's books are gone."""
        if self._mono_offset is None:
            self._mono_offset = 0
        else:  # continue the virtual monotonic clock across the restart by wall time
            gap = max(0, rec.get("wall_ns", 0) - self.clock.wall_ns)
            self._mono_offset = self.clock.mono_ns + gap - rec.get("mono_ns", 0)
            if not self._stopped:
                self.engine.stop("daemon restarted")
            self.engine.on_disconnected("daemon restarted")
        self._stopped = False
        self._warming = False
        self._shards.clear()
        self.schedule.restart(rec.get("wall_ns", 0))  # run_at_start, as the daemon's scheduler
        self._tick_ns = 0
        # A dry run's trader placed nothing: its records cannot pace a trader that places orders
        # (a dry-run tape backtested with mode=paper), which then meets the books when it acts.
        self._paced_by_tape = not (
            rec.get("mode") == "dry_run" and self.settings.mode is not Mode.DRY_RUN
        )
        if self.pacer is not None:
            self.pacer.exact = rec.get("tape_format", 1) >= 2 and self._paced_by_tape
        self.holds.tape_format = rec.get("tape_format", 1)


def tape_records(
    path: str | Path, warn: Callable[[str], None] | None = None
) -> Iterator[dict[str, Any] | FrameRecord]:
    """The tape's records for :meth:`Replay.run`: frames as :class:`FrameRecord` (no dict)."""
    return read_tape(path, warn, frames=True) if warn else read_tape(path, frames=True)


def parse_time(text: str | None) -> int | None:
    """``--from``/``--to``: ISO 8601 (UTC when no offset) -> wall ns."""
    if not text:
        return None
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return int(value.timestamp() * 1e9)

"""The daemon's timer-driven jobs in a replay, fired at their virtual times.

Live, APScheduler runs ``snapshot_market``, ``settle_events`` and ``refit_calibration`` at the
daemon's start and then every ``model.snapshot_interval`` / ``settle_interval`` /
``refit_interval`` seconds (``coalesce``: a late run fires once; ``max_instances=1``: a run still
going skips its turn). They make no request the tape would show first (or none at all), so the
replay cannot start them from an answer as it does the polling jobs: it fires them on the virtual
wall clock instead, from each ``session`` start, with the same intervals. Their HTTP requests
(the settlement job's METAR and Gamma checks) are answered from the tape; one the tape never
answers fails as a timeout would after ``REQUEST_TIMEOUT_NS`` of virtual time (an old tape, or a
run that diverged from live).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from weatheredge.config import Settings
from weatheredge.weather.stations import resolve_station

REQUEST_TIMEOUT_NS = 30 * 1_000_000_000  # aiohttp's total timeout in the adapters


@dataclass(slots=True)
class Timer:
    job: str  # dotted module, as JOB_OF_SOURCE names them
    interval_ns: int
    next_ns: int = 0


def timers(settings: Settings) -> list[Timer]:
    """The timer-driven jobs and their intervals, as ``runtime.job_specs`` schedules them."""
    model = settings.model
    return [
        Timer("jobs.snapshot_market", int(model.snapshot_interval * 1e9)),
        Timer("jobs.settle_events", int(model.settle_interval * 1e9)),
        Timer("jobs.refit_calibration", int(model.refit_interval * 1e9)),
    ]


class Schedule:
    """Which timer jobs are due at a virtual wall time (one run per due timer: coalesced)."""

    def __init__(self, settings: Settings) -> None:
        self.timers = timers(settings)
        self.jobs = frozenset(t.job for t in self.timers)

    def restart(self, wall_ns: int) -> None:
        """A daemon start: every timer job runs now, then every interval from here."""
        for timer in self.timers:
            timer.next_ns = wall_ns

    def next_ns(self) -> int:
        """The earliest virtual time a timer job is due (0: not started yet)."""
        return min(t.next_ns for t in self.timers)

    def due(self, wall_ns: int, running: Callable[[str], bool]) -> list[str]:
        out = []
        for timer in self.timers:
            if timer.next_ns == 0:  # a tape cut without its session record: start here
                timer.next_ns = wall_ns
            if wall_ns < timer.next_ns:
                continue
            missed = (wall_ns - timer.next_ns) // timer.interval_ns
            timer.next_ns += (missed + 1) * timer.interval_ns
            if not running(timer.job):  # max_instances=1: the run still going skips this turn
                out.append(timer.job)
        return out


class TimerJobs:
    """The replay's side of the timer jobs (mixed into ``Replay``, which owns these fields)."""

    schedule: Schedule
    sampler: Any  # weatheredge.replay.sampler.Sampler
    store: Any
    http: Any  # weatheredge.replay.http.TapeHttp
    holds: Any  # weatheredge.replay.holds.ApplyHolds
    clock: Any
    ctx: Any
    _jobs: dict[str, asyncio.Task[None]]
    _warming: bool
    _tick_ns: int

    def _start(self, name: str) -> asyncio.Task[None]: ...  # pragma: no cover - Replay's

    async def _settle(self) -> None: ...  # pragma: no cover - Replay's

    async def _timers(self, wall: int) -> None:
        """At the first input at or after a due time: the timer-driven jobs that are due
        (replay/schedule.py), a probability/mid sample for the scoreboard; and once a virtual
        second the timer jobs' requests the tape never answered fail as timeouts."""
        if self.sampler.due(wall):
            self.sampler.sample(wall, counted=not self._warming)
        started = False
        for job in self.schedule.due(wall, self._running):
            if not started:  # live, the writer had long flushed what the last run submitted
                await self.store.flush()
            self._jobs[job] = self._start(job)
            started = True
        # Next check: the next timer job or sample, at most a virtual second away (expiry).
        self._tick_ns = min(wall + 1_000_000_000, self.schedule.next_ns(), self.sampler.next_ns)
        expired = self.http.expire(self.schedule.jobs, self.clock.mono_ns - REQUEST_TIMEOUT_NS)
        expired += self.holds.expire(self.clock.mono_ns)
        if started or expired:
            await self._settle()

    def _running(self, job: str) -> bool:
        task = self._jobs.get(job)
        return task is not None and not task.done()

    def _zone_of(self, icao: str) -> str | None:
        """The station's time zone: the config's override, else the station tables."""
        for code, override in self.ctx.settings.weather.stations.items():
            if code.upper() == icao.upper():
                return override.timezone
        station = resolve_station(icao)
        return None if station is None else station.timezone

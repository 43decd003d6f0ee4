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

from collections.abc import Callable
from dataclasses import dataclass

from weatheredge.config import Settings

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

"""One clock seam: wall and monotonic time from one injected object.

Live code reads :class:`SystemClock`; a replay drives a :class:`VirtualClock` from the receive
times on the tape, so the unchanged Engine, jobs and trader see the instants the live daemon saw
(forecast freshness, episode open/close times, latencies).
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """Wall time, an aware UTC datetime."""
        ...

    def monotonic(self) -> float:
        """Monotonic seconds (``time.monotonic``)."""
        ...

    def monotonic_ns(self) -> int: ...

    def time(self) -> float:
        """Wall time as epoch seconds: the hot path's cheap form of ``now()``."""
        ...

    def perf_ns(self) -> int:
        """The receive-time clock of frames (``time.perf_counter_ns``)."""
        ...


class SystemClock:
    """The machine's clocks: behaviour of the code before the seam existed."""

    __slots__ = ()

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def monotonic_ns(self) -> int:
        return time.monotonic_ns()

    def time(self) -> float:
        return time.time()

    def perf_ns(self) -> int:
        return time.perf_counter_ns()


SYSTEM = SystemClock()


class VirtualClock:
    """A clock that only moves when told to (the replay driver sets it from each record).

    The monotonic readings are the tape's ``mono_ns`` (perf_counter and monotonic are both
    CLOCK_MONOTONIC on Linux, so one value serves both, as it did live)."""

    __slots__ = ("mono_ns", "wall_ns")

    def __init__(self, wall_ns: int = 0, mono_ns: int = 0) -> None:
        self.wall_ns = wall_ns
        self.mono_ns = mono_ns

    def set(self, wall_ns: int, mono_ns: int) -> None:
        """Move to a record's receive times; never backwards (a clock a job read must not
        run back under it)."""
        self.wall_ns = max(self.wall_ns, wall_ns)
        self.mono_ns = max(self.mono_ns, mono_ns)

    def advance(self, seconds: float) -> None:
        step = int(seconds * 1e9)
        self.wall_ns += step
        self.mono_ns += step

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.wall_ns / 1e9, dt.UTC)

    def monotonic(self) -> float:
        return self.mono_ns / 1e9

    def monotonic_ns(self) -> int:
        return self.mono_ns

    def time(self) -> float:
        return self.wall_ns / 1e9

    def perf_ns(self) -> int:
        return self.mono_ns

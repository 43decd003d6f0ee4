"""A job's result applied where the live daemon applied it: at the tape's ``applied`` record.

Live, a job's work between two answers (a forecast snapshot written in the store's thread) can
outlast the next input: a station report of the same second is then handled before the job's
result is in force, and the decision lands one report later. Tapes of format 3 hold the instant
each result was applied (``applied``: job, key); format 4 adds discovery's catalogue swap
(``discover_markets``, key ``catalogue``: a new event's tokens are known, a delisted market's
edges close, from there). In a replay the job waits at the same point (:meth:`ApplyHolds.hold`)
until the replay reaches that record, so its result lands between the same inputs as live. A job
the tape's format does not record applies at once; a result the tape never shows applied
(another config) waits at most ``HOLD_NS`` of virtual time.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict, deque
from collections.abc import Callable

from weatheredge.replay.http import TapeHttp, current_job

HOLD_NS = 5_000_000_000  # a result the tape never shows applied waits this long (virtual)
Key = tuple[str, str]
# The first tape format that records each job's ``applied`` instant.
TAPED_FROM = {"refresh_forecasts": 3, "poll_observations": 3, "discover_markets": 4}


class ApplyHolds:
    def __init__(self, http: TapeHttp, now_ns: Callable[[], int]) -> None:
        self._http = http  # its ``blocked`` count tells the replay a held job is waiting
        self._now_ns = now_ns
        self.tape_format = 1  # the session's (``session`` record's ``tape_format``)
        self._held: dict[Key, deque[tuple[asyncio.Future[None], int]]] = defaultdict(deque)
        self._ahead: Counter[Key] = Counter()  # applied on the tape before ours got there
        self.released = 0  # holds released by their record
        self.expired = 0  # holds released by HOLD_NS (the tape never applied them)

    async def hold(self, job: str, key: str) -> None:
        """The replayed ``job`` is about to apply its result for ``key``: wait for the tape."""
        if self.tape_format < TAPED_FROM.get(job, 2**31):
            return  # this tape never recorded it: applied at once
        k = (job, key)
        if self._ahead[k] > 0:
            self._ahead[k] -= 1
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._held[k].append((fut, self._now_ns() + HOLD_NS))
        name = current_job.get()
        self._http.blocked[name] += 1
        try:
            await fut
        finally:
            self._http.blocked[name] -= 1

    def applied(self, job: str, key: str) -> bool:
        """The tape's ``applied`` record: release the held job (True), or let it pass when it
        gets there (False)."""
        waiters = self._held.get((job, key))
        while waiters:
            fut, _ = waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                self.released += 1
                return True
        self._ahead[(job, key)] += 1
        return False

    def expire(self, now_ns: int) -> int:
        """Release holds older than ``HOLD_NS``: the tape will not show them applied."""
        n = 0
        for waiters in self._held.values():
            while waiters and (waiters[0][0].done() or waiters[0][1] <= now_ns):
                fut, _ = waiters.popleft()
                if not fut.done():
                    fut.set_result(None)
                    n += 1
        self.expired += n
        return n

    def release_all(self) -> None:
        self.expire(2**63)

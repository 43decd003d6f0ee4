"""The paper trader in a replay: its own task, as live, paced by the tape.

Live, the trader is a task: a signal wakes it, and its step (decide, write the ledger, submit,
match on paper) spans several awaits while frames keep arriving — a socket may drop between an
order's ``open`` and its paper match. The replay loop only yields to the trader where the tape
shows the live trader acting: at each of its records the replay waits until its own trader has
written as many trader records, so the trader reads the books after exactly the inputs the live
one had seen. Without such a record (a signal the live run never had, another config) a step
starts within a virtual second, and with none waiting a virtual tick reprices held positions.

A paper order meets the books at one instant between its ``sending`` and ``open`` records; a
socket drop can land on either side of it. Tapes of format 2 hold that instant
(``paper_match``): the replay's order waits for it, whatever the virtual time, while the replay's
trader is in step with the tape (its intents so far are the tape's), so an order in flight
across a drop meets the books on the same side of the drop as live. Older tapes (and orders the
live run never sent) fall back to the next trader record or 50 virtual ms.

The trader must not run ahead of the tape between its records either. Its ledger writes go
through a thread, and the replay loop yields at many points (waiting for a job, for another
record of the trader): whether a write had finished by one of them was a matter of real time, so
the trader's next record (the ``sending`` after an ``intent``) landed after one input or another
from run to run (the once-in-25 flake of ``test_replay_frames``). While its records are the
tape's so far (their kinds, and their intents' token, side, price and size), each next one now
waits (:meth:`TraderPacer.hold_writes`) until the replay reaches the tape's next trader record,
as live wrote it there. One the tape never shows goes on after ``IN_STEP_NS`` of virtual time
for a record of an action under way (an order's updates, a fill), after ``GATE_NS`` for a new
decision (an intent, a rejection): one the live run never made (another config) is held no longer
than a paper order the tape never shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

TICK_NS = 1_000_000_000  # the live trader's timer, in virtual time
GATE_NS = 50_000_000  # an order the tape never shows matches after this much virtual time
IN_STEP_NS = 5_000_000_000  # an order the tape shows waits this long for its paper_match
_CATCH_UP_S = 5.0  # bound on waiting for the trader to reach a taped record (real seconds)


class TraderPacer:
    def __init__(self, trader: Any) -> None:
        self._trader = trader
        self._wake = asyncio.Event()
        self._busy = False
        self._task: asyncio.Task[None] | None = None
        self.written = 0  # trader records this replay's trader has written
        self.taped = 0  # trader records on the tape reached so far
        self.signal_since: int | None = None  # virtual time of the oldest unread signal
        self.last_step_ns = 0
        self._gate = _Wait()  # a paper order waiting for its match instant
        self.exact = False  # the tape records paper matches (tape format 2)
        self.match_taped = 0  # the tape's paper_match records reached
        self.matched = 0  # this replay's orders that have met the books
        self._tape_intents: list[tuple[str, ...]] = []
        self._my_intents: list[tuple[str, ...]] = []
        self._tape_kinds: list[str] = []
        self._my_kinds: list[str] = []
        self._turn = _Wait()  # a ledger write waiting for its taped record
        self._now_ns: Callable[[], int] = lambda: 0
        self.venue: Any = None  # the tape venue (replay/venue_tape.py), when it answers orders
        self._closing = False

    def wrote(self, kind: str, fields: Any) -> None:
        """This replay's trader wrote a record (``paper_match`` is the gate's, not counted)."""
        if kind == "paper_match":
            return
        self.written += 1
        self._my_kinds.append(kind)
        if kind == "intent":
            self._my_intents.append(_signature(fields))

    def _records_in_step(self) -> bool:
        n, i = len(self._my_kinds), len(self._my_intents)
        kinds = n <= len(self._tape_kinds) and self._my_kinds == self._tape_kinds[:n]
        return kinds and i <= len(self._tape_intents) and self._my_intents == self._tape_intents[:i]

    def hold_writes(self, ledger: Any, clock: Any) -> None:
        """Each ledger write that tapes a record of an action under way waits for the tape's
        (module doc)."""
        self._now_ns = clock.monotonic_ns
        for name in ("update_intent", "save_fill", "save_settlement"):
            setattr(ledger, name, self._held(getattr(ledger, name), IN_STEP_NS))
        for name in ("insert_intent", "rejection"):
            setattr(ledger, name, self._held(getattr(ledger, name), GATE_NS))

    def _held(self, write: Callable[..., Any], at_most_ns: int) -> Callable[..., Any]:
        async def held(*args: Any, **kwargs: Any) -> Any:
            if self.written >= self.taped and self._records_in_step():
                await self._turn.wait(self._now_ns() + at_most_ns)
            return await write(*args, **kwargs)

        return held

    def _release_turn(self, now_ns: int) -> bool:
        return self._turn.release(now_ns, self.written < self.taped)

    def _in_step(self) -> bool:
        n = len(self._my_intents)
        return 0 < n <= len(self._tape_intents) and self._my_intents == self._tape_intents[:n]

    def wrap(self, gateway: Any, clock: Any) -> None:
        """Paper matches read the books: each waits until the replay reaches the tape's answer
        to it (the live order met the books as they were there)."""
        place = gateway.place

        async def gated(request: Any) -> Any:
            if self.exact:
                wait = self.matched >= self.match_taped  # its paper_match is still ahead
                until = IN_STEP_NS if self._in_step() else GATE_NS
            else:
                wait = self.written >= self.taped  # the tape's answer to this order is ahead
                until = GATE_NS
            if wait:
                await self._gate.wait(clock.monotonic_ns() + until)
            self.matched += 1
            return await place(request)  # reads the books before its first await

        gateway.place = gated

    def _open_gate(self, now_ns: int) -> bool:
        return self._gate.release(now_ns, not self.exact and self.written < self.taped)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="replay trader")

    async def _run(self) -> None:
        while not self._closing:
            await self._wake.wait()
            self._wake.clear()
            self._busy = True
            try:
                await self._trader.step()
            except Exception:  # as live: one failed step, trading goes on
                pass
            finally:
                self._busy = False

    def _idle(self) -> bool:
        asking = self.venue is not None and self.venue.waiting > 0  # for a recorded answer
        waiting = self._gate.pending() or self._turn.pending() or asking
        return waiting or (not self._busy and not self._wake.is_set())

    async def at_match(self) -> None:
        """The tape shows the live paper venue reading the books: ours reads them now."""
        self.match_taped += 1
        self._gate.release(0, True)
        await self._until(lambda: self.matched >= self.match_taped)
        self.matched = max(self.matched, self.match_taped)  # unused by ours: it diverged

    async def at_taped(self, now_ns: int, record: Any = None) -> None:
        """The tape shows the live trader's next record: let ours get that far."""
        self.taped += 1
        if record is not None:
            self._tape_kinds.append(str(record.get("kind")))
            if record.get("kind") == "intent":
                self._tape_intents.append(_signature(record))
        self._open_gate(now_ns)
        self._release_turn(now_ns)
        if self.written >= self.taped:
            return
        if self._idle():
            self._step_at(now_ns)
        await self._until(lambda: self.written >= self.taped)

    async def _until(self, reached: Callable[[], bool]) -> None:
        """Until ``reached``, or this trader has nothing more to do (it diverged), or
        ``_CATCH_UP_S`` of real time."""
        deadline = time.monotonic() + _CATCH_UP_S
        while not reached() and time.monotonic() < deadline:
            for _ in range(4):
                await asyncio.sleep(0)
            if reached() or self._idle():
                break
            await asyncio.sleep(0.0002)  # a ledger write in its thread

    async def tick(self, now_ns: int) -> None:
        expired = self.venue is not None and self.venue.expire(now_ns) > 0
        if self._open_gate(now_ns) | self._release_turn(now_ns) | expired:
            await self.settle()
        due = (self.signal_since is not None and now_ns - self.signal_since >= TICK_NS) or (
            self.signal_since is None and now_ns - self.last_step_ns >= TICK_NS
        )
        if due:
            self._step_at(now_ns)
            await self.settle()

    def step_soon(self, now_ns: int) -> None:
        """Something woke the live trader here (a user-channel fill): ours steps now too."""
        self._step_at(now_ns)

    def _step_at(self, now_ns: int) -> None:
        self.signal_since = None
        self.last_step_ns = now_ns
        self._wake.set()

    async def settle(self) -> None:
        """Until the trader's step in flight is done."""
        deadline = time.monotonic() + _CATCH_UP_S
        while not self._idle() and time.monotonic() < deadline:
            await asyncio.sleep(0)
            if not self._idle():
                await asyncio.sleep(0.0002)

    async def close(self, now_ns: int) -> None:
        self._open_gate(now_ns + GATE_NS)
        self._release_turn(now_ns + IN_STEP_NS)
        self._step_at(now_ns)
        await self.settle()
        self._closing = True  # a cancel that lands as a step's wait_for completes is lost (3.11)
        if self._task is not None:
            while not self._task.done():
                self._task.cancel()
                self._wake.set()
                await asyncio.wait({self._task}, timeout=0.1)
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class _Wait:
    """One of the trader's waits for the tape: released by the replay, or by virtual time."""

    def __init__(self) -> None:
        self._fut: asyncio.Future[None] | None = None
        self._until = 0

    def pending(self) -> bool:
        return self._fut is not None and not self._fut.done()

    async def wait(self, until_ns: int) -> None:
        self._fut, self._until = asyncio.get_running_loop().create_future(), until_ns
        try:
            await self._fut
        finally:
            self._fut = None

    def release(self, now_ns: int, ready: bool) -> bool:
        """Go on when ``ready`` or past its deadline; True when it was waiting and goes on."""
        if self._fut is None or self._fut.done() or not (ready or now_ns >= self._until):
            return False
        self._fut.set_result(None)
        return True


def _signature(fields: Any) -> tuple[str, ...]:
    data = fields.get("data", {}) if isinstance(fields, dict) else {}
    return tuple(str(data.get(k)) for k in ("token_id", "side", "price", "size"))

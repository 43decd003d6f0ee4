"""How the tape's inputs reach the replay's engine and jobs (a mixin of ``driver.Replay``):
feed records (shard membership, sockets), the REST books the polling fallback read, and the
HTTP answers: each handed to the job waiting for it, or starting the job that reads that source
(the first answer of a source whose job is not running starts it at that virtual time); after
each, the running jobs are let reach their next recorded answer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from weatheredge.engine import Engine
from weatheredge.polymarket import wire
from weatheredge.replay.http import TapeHttp, current_job

logger = logging.getLogger("weatheredge.replay.driver")  # the replay's log, as before the split

# Which job reads which source's answers (the first answer of a source whose job is not
# running starts that job at that virtual time).
JOB_OF_SOURCE = {
    "gamma": "jobs.discover_markets",
    "open-meteo-ensemble": "jobs.refresh_forecasts",
    "open-meteo-forecast": "jobs.poll_observations",
    "aviationweather": "jobs.poll_observations",
    "nws": "jobs.poll_observations",
    "hko": "jobs.poll_observations",
    "cwa": "jobs.poll_observations",
}
_SETTLE_LIMIT_S = 10.0  # a job busy off the loop (a store read) longer than this is left running


class TapeInputs:
    """The Replay's state these handlers use is set up by its ``__init__`` and ``_open``."""

    engine: Engine
    http: TapeHttp
    ctx: Any
    result: Any  # driver.ReplayResult
    _shards: dict[int, set[str]]
    _clob: list[bytes]
    _jobs: dict[str, asyncio.Task[None]]
    _stopped: bool
    _trigger: tuple[int, int]
    _previous: tuple[int, int]

    def _feed(self, rec: dict[str, Any]) -> None:
        shard = self._shards.setdefault(rec.get("shard", 0), set())
        event = rec.get("event")
        if event == "subscribe":
            shard.update(rec.get("tokens", []))
        elif event == "unsubscribe":
            shard.difference_update(rec.get("tokens", []))
        elif event == "connected":
            shard.clear()
            shard.update(rec.get("tokens", []))
            self.engine.on_connected(set(shard))
        elif event == "disconnected":
            reason = str(rec.get("reason", ""))
            if reason == "cancelled" and not self._stopped:  # the daemon stopping, as live
                current, self._trigger = self._trigger, self._previous
                self.engine.stop()
                self._stopped = True
                self._trigger = current
            self.engine.on_disconnected(reason, set(shard))

    def _rest_books(self, rec: dict[str, Any], mono: int) -> None:
        wanted = set(rec.get("tokens", []))
        books: list[wire.RestBook] = []
        for body in self._clob:
            with contextlib.suppress(Exception):
                books.extend(b for b in wire.decode_books(body) if b.asset_id in wanted)
        self._clob.clear()
        self.engine.on_rest_books(books, mono)

    async def _http(self, rec: dict[str, Any]) -> None:
        source = str(rec.get("source", ""))
        if source == "clob":
            body = rec.get("body")
            if body is not None:
                self._clob.append(body.encode())
            return
        if self.http.deliver(rec):
            await self._settle()
            return
        job = JOB_OF_SOURCE.get(source)
        if job is None or "/events/slug/" in str(rec.get("url", "")):
            return  # the settlement job's venue check: kept for its request (timer job)
        task = self._jobs.get(job)
        if task is None or task.done():
            self._jobs[job] = self._start(job)
        await self._settle()

    def _start(self, name: str) -> asyncio.Task[None]:
        import pkgutil

        run = pkgutil.resolve_name(f"{name}:run")
        self.result.counts[f"job {name.rsplit('.', 1)[-1]}"] += 1

        async def job() -> None:
            current_job.set(name)
            try:
                await run(self.ctx)
            except Exception as err:  # as the scheduler: one failed run, the replay goes on
                logger.info("replayed job %s raised: %s", name, err)

        return asyncio.get_running_loop().create_task(job(), name=f"replay {name}")

    async def _settle(self) -> None:
        """Let every running job reach its next recorded answer (or its end) before the next
        record: live, a job's work between two answers happened before the next frame."""
        deadline = time.monotonic() + _SETTLE_LIMIT_S
        while True:
            for _ in range(4):
                await asyncio.sleep(0)
            busy = [t for t in self._jobs.values() if not t.done() and not self._is_blocked(t)]
            if not busy or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.0005)  # a job off the loop (a store read in a thread)

    def _is_blocked(self, task: asyncio.Task[None]) -> bool:
        name = task.get_name().removeprefix("replay ")
        return self.http.blocked.get(name, 0) > 0

"""A job's result held until the tape's ``applied`` record, at once on older tapes, and after
``HOLD_NS`` of virtual time when the tape never shows it applied (another config)."""

from __future__ import annotations

import asyncio

from weatheredge.replay.holds import HOLD_NS, ApplyHolds
from weatheredge.replay.http import TapeHttp, current_job


async def _job(holds: ApplyHolds, done: list[str], key: str) -> None:
    current_job.set("jobs.refresh_forecasts")
    await holds.hold("refresh_forecasts", key)
    done.append(key)


async def test_a_held_result_waits_for_its_record_or_its_deadline() -> None:
    http, now = TapeHttp(), [0]
    holds = ApplyHolds(http, lambda: now[0])
    done: list[str] = []
    await asyncio.create_task(_job(holds, done, "old"))  # older tape: applied at once
    holds.tape_format = 3
    a = asyncio.create_task(_job(holds, done, "a"))
    b = asyncio.create_task(_job(holds, done, "b"))
    await asyncio.sleep(0)
    assert (
        done == ["old"] and http.blocked["jobs.refresh_forecasts"] == 2
    )  # the replay sees both wait
    assert holds.applied("refresh_forecasts", "a")
    await a
    assert done == ["old", "a"]
    assert holds.expire(HOLD_NS - 1) == 0  # b's record may still come
    assert holds.expire(HOLD_NS) == 1  # never on the tape: applied after HOLD_NS
    await b
    assert done == ["old", "a", "b"] and http.blocked["jobs.refresh_forecasts"] == 0
    # The tape applied it before the replay's job got there: it passes at once.
    assert not holds.applied("refresh_forecasts", "c")
    await asyncio.wait_for(_job(holds, done, "c"), 1)
    assert done[-1] == "c"


async def test_discovery_is_held_on_tapes_that_record_it() -> None:
    http, now = TapeHttp(), [0]
    holds = ApplyHolds(http, lambda: now[0])
    holds.tape_format = 3  # forecasts and reports taped, the catalogue swap not yet
    await asyncio.wait_for(holds.hold("discover_markets", "catalogue"), 1)
    holds.tape_format = 4
    held = asyncio.create_task(holds.hold("discover_markets", "catalogue"))
    await asyncio.sleep(0)
    assert not held.done()
    assert holds.applied("discover_markets", "catalogue")
    await asyncio.wait_for(held, 1)

"""Stopping the trader's decision task while it is being woken: the stop must win.

On Python 3.11 ``asyncio.wait_for`` returns the inner result and drops a cancel that lands in
the same loop iteration as that result (the waited event set, then the task cancelled), so a
decision loop built on it carries on and ``Trader.stop()`` waits for ever.
"""

from __future__ import annotations

import asyncio

from tests.trading.conftest import Harness


async def test_a_stop_that_lands_with_a_wake_ends_the_decision_task(harness: Harness) -> None:
    trader = await harness.start()
    task = trader.start()
    await trader.ready()
    for _ in range(20):  # the loop is back waiting for the next wake
        await asyncio.sleep(0)
    trader.poke()  # the wake and the cancel in one iteration
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=2.0)
    assert done == {task} and task.cancelled()

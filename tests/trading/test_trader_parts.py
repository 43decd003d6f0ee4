"""The trader's state is owned by its parts: what it shows outside is read, never written."""

from __future__ import annotations

import pytest

from tests.trading.conftest import M2, Harness, edge


async def test_the_trader_state_it_shows_is_read_only(harness: Harness) -> None:
    h = harness
    h.gateway.faults = ["timeout_lost"]  # the order stays working (unknown)
    trader = await h.start()
    edge(h)
    await h.step()
    await trader.halt("operator")
    assert len(trader.intents) == 1 and trader.halts == {"manual": "operator"}
    key = next(iter(trader.intents))
    with pytest.raises(TypeError):
        trader.intents[key] = trader.intents[key]  # type: ignore[index]
    with pytest.raises(TypeError):
        trader.halts["manual"] = "someone else"  # type: ignore[index]
    with pytest.raises(TypeError):
        trader.counters["timeouts"] = 0  # type: ignore[index]
    with pytest.raises(TypeError):
        del trader.positions[M2.yes_token]  # type: ignore[attr-defined]
    await trader.resume()
    assert trader.halts == {}  # the view follows the owner's state
    assert trader.status()["working_orders"] == 1

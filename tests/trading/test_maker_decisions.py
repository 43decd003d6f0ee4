"""Maker mode decides again only the tokens whose inputs changed: a book change or a replace on
one token does not re-decide the other buckets of its event, while a token a shared limit held
back still follows every order change (against the sandbox exchange, real SDK)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.trading.livekit import box, loopback_only  # noqa: F401  (fixtures)
from tests.trading.makerkit import MakerRig
from weatheredge.sandbox import Sandbox

D = Decimal


@pytest.fixture
async def rigs(box: Sandbox, tmp_path: Path) -> AsyncIterator[Callable[..., MakerRig]]:  # noqa: F811
    """Maker rigs on the sandbox with the given settings, closed after the test."""
    made: list[MakerRig] = []

    def make(**overrides: Any) -> MakerRig:
        made.append(MakerRig(box, tmp_path / f"maker{len(made)}.db", **overrides))
        return made[-1]

    yield make
    for r in made:
        await r.close()


async def test_a_book_change_on_one_token_re_decides_only_that_token(
    rigs: Callable[..., MakerRig],
) -> None:
    rig = rigs(buckets=2, max_open_orders=10)
    trader = await rig.start()
    tokens = [rig.token(m, yes) for m in range(2) for yes in (True, False)]
    for m in range(2):
        rig.price(0.50, m)
    for token in tokens:
        rig.book(token, [("0.45", "100")], [("0.60", "100")])
    await rig.step()
    await rig.step(0.3)  # every token placed, then kept: four decisions each
    assert len(trader.maker.resting()) == 4
    before = trader.maker.tokens_decided
    await rig.step()  # nothing changed: nothing decided
    assert trader.maker.tokens_decided == before

    rig.book(tokens[0], [("0.44", "100")], [("0.60", "100")])  # our 0.46 now overbids
    await rig.step()
    assert rig.actions()[-2:] == [("replace", "overbid"), ("place", "overbid")]
    assert trader.maker.tokens_decided == before + 1
    await rig.step()  # the replace changed bucket 0's orders (its limit holds both outcomes)
    assert trader.maker.tokens_decided == before + 3  # ... and not bucket 1's
    assert sorted(p for p, _ in await rig.open_orders()) == [D("0.45"), *[D("0.46")] * 3]


async def test_a_token_held_back_by_a_shared_limit_quotes_as_soon_as_room_frees(
    rigs: Callable[..., MakerRig],
) -> None:
    rig = rigs(buckets=2, max_open_orders=1)
    trader = await rig.start()
    for m in range(2):  # the YES tokens only have books: two quotes wanted, room for one
        rig.price(0.50, m)
        rig.book(rig.token(m), [("0.45", "100")], [("0.60", "100")])
    await rig.step()
    await rig.step(0.3)
    assert len(trader.maker.resting()) == 1
    assert trader.counters["quote_blocked_max_open_orders"] == 1
    del rig.view.p_yes[rig.event.markets[0].market_id]  # bucket 0's forecast goes stale
    await rig.step()
    assert trader.maker.resting() == {}
    await rig.step()  # no clock moved: the open-orders limit, not the refresh, re-asks it
    assert list(trader.maker.resting()) == [rig.token(1)]


async def test_every_token_is_decided_again_about_once_a_second_a_few_at_a_time(
    rigs: Callable[..., MakerRig],
) -> None:
    rig = rigs(buckets=3, max_open_orders=10)
    trader = await rig.start()
    for m in range(3):
        rig.price(0.30, m)
        for yes in (True, False):
            rig.book(rig.token(m, yes), [("0.25", "100")], [("0.75", "100")])
    await rig.step()
    await rig.step(0.3)
    assert len(trader.maker.resting()) == 6
    before = trader.maker.tokens_decided
    await rig.step(0.5)
    assert trader.maker.tokens_decided == before  # nothing changed, not yet due
    await rig.step(0.6)  # due: the oldest four of six, then the other two
    assert trader.maker.tokens_decided == before + 4
    await rig.step()
    assert trader.maker.tokens_decided == before + 6
    await rig.step()
    assert trader.maker.tokens_decided == before + 6

"""``trading.strategy``: taker (default) takes edges and never quotes; maker only quotes;
both does both. Quotes are post-only and count against the same limits as orders."""

from __future__ import annotations

from pathlib import Path

from tests.trading.conftest import M2, Harness, edge, settings
from weatheredge.trading.maker_view import EngineMakerView


async def run(tmp_path: Path, strategy: str, **overrides: object) -> Harness:
    h = Harness(tmp_path / "t.db", strategy=strategy, **overrides)
    h.maker_inputs = EngineMakerView(h.engine)
    h.gateway.rest = True
    await h.start()
    edge(h)
    await h.step()
    return h


def kinds(h: Harness) -> list[str]:
    return sorted({r["kind"] for r in h.rows("SELECT kind FROM trade_intents")})


async def test_taker_never_quotes(tmp_path: Path) -> None:
    h = await run(tmp_path, "taker")
    try:
        assert kinds(h) == ["entry"]
        assert [r.post_only for r in h.gateway.placed] == [False]
    finally:
        await h.close()


async def test_maker_takes_no_edge_and_rests_post_only_bids(tmp_path: Path) -> None:
    h = await run(tmp_path, "maker")
    try:
        assert kinds(h) == ["quote"]
        assert h.gateway.placed and all(r.post_only for r in h.gateway.placed)
        m2 = [r for r in h.gateway.placed if r.token_id == M2.yes_token]
        # p 0.40: one tick over the 0.18 bid, under the 0.20 ask: never the ask itself
        assert [str(r.price) for r in m2] == ["0.19"]
        assert len(h.gateway.placed) <= h.settings.max_open_orders
    finally:
        await h.close()


async def test_both_takes_and_quotes(tmp_path: Path) -> None:
    h = await run(tmp_path, "both")
    try:
        assert kinds(h) == ["entry", "quote"]
    finally:
        await h.close()


async def test_open_order_limit_caps_quotes(tmp_path: Path) -> None:
    h = await run(tmp_path, "maker", max_open_orders=2)
    try:
        assert len(h.gateway.placed) == 2
    finally:
        await h.close()


async def test_taker_mode_hooks_nothing_on_the_hot_path_and_a_switch_to_maker_quotes(
    tmp_path: Path,
) -> None:
    h = await run(tmp_path, "taker")
    try:
        evaluated = h.engine.edges.on_evaluate
        assert evaluated is None  # the default strategy costs the frame path nothing
        h.trader.set_settings(settings(strategy="maker"))
        assert h.engine.edges.on_evaluate is not None
        await h.step()  # every event counts as changed: quotes at once, no frame needed
        assert "quote" in kinds(h)
        h.trader.set_settings(settings(strategy="taker"))
        assert h.engine.edges.on_evaluate is None
    finally:
        await h.close()

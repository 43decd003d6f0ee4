"""The daemon in live maker mode against the sandbox exchange: quotes rest post-only, show on
``/api/v1/state`` for the ladder chart, and are all cancelled when the daemon stops."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from tests.conftest import eventually, running_daemon
from tests.trading.livekit import box, loopback_only  # noqa: F401  (fixtures)
from tests.trading.test_daemon_live import _modal_yes, keys  # noqa: F401  (fixture)
from tests.webui.browser import SKIP_REASON, chromium, find_chromium
from weatheredge.sandbox import Sandbox

CHROMIUM = find_chromium()

MAKER = """\
mode: live
armed: true
trading:
  take_profit: false
  day_timezone: UTC
  strategy: maker
  max_open_orders: 4
  maker:
    margin: 0.02
    pull_before_report: 0
"""


async def test_live_maker_daemon_rests_quotes_and_cancels_them_on_stop(
    box: Sandbox,  # noqa: F811
    keys: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    nyc, _yes = _modal_yes(box)
    async with running_daemon(box, tmp_path / "maker.db", extra=MAKER) as (daemon, base):
        assert daemon.trading is not None
        trader = daemon.trading.trader
        await trader.ready()
        await eventually(lambda: nyc.event["id"] in daemon.engine.pricing, within=8)
        await eventually(lambda: len(box.exchange.open_orders()) >= 2, within=10)
        orders = box.exchange.open_orders()
        assert all(o.side == "BUY" for o in orders)
        assert all(b.get("postOnly") is True for b in box.exchange.orders_received)
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/api/v1/state") as r:
                doc = await r.json()
        resting = doc["trading"]["maker"]["resting"]
        assert resting and {q["outcome"] for q in resting} <= {"YES", "NO"}
        assert len(resting) <= 4  # max_open_orders holds for quotes too
    assert box.exchange.open_orders() == []  # every quote cancelled on the way out


@pytest.mark.skipif(CHROMIUM is None, reason=SKIP_REASON)
@pytest.mark.timeout(90)
async def test_resting_quotes_are_drawn_on_the_ladder_chart(
    box: Sandbox,  # noqa: F811
    keys: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    assert CHROMIUM is not None
    with chromium(CHROMIUM) as page:
        async with running_daemon(box, tmp_path / "maker.db", extra=MAKER) as (daemon, base):
            assert daemon.trading is not None
            await eventually(lambda: len(box.exchange.open_orders()) >= 2, within=10)
            await page.get(base + "/")
            drawn = await page.wait_for(
                "(a => a.length ? a : null)([...document.querySelectorAll("
                "'svg.ladder path.our-quote')].map(p => p.dataset.outcome + ' ' + p.dataset.price))"
            )
            maker = daemon.trading.status()["maker"]
            resting = {f"{q['outcome']} {q['price']}" for q in maker["resting"]}
            assert set(drawn) & resting

"""The daemon in live mode against the sandbox exchange, through the real SDK.

Keys are throwaway and come from the environment; every URL is the sandbox's on 127.0.0.1
(``polymarket.clob_url`` pointing at it moves every SDK URL and the user channel there).
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import eventually, running_daemon
from tests.trading.conftest import db_rows as _rows
from tests.trading.livekit import box, loopback_only, throwaway
from weatheredge.sandbox import Sandbox

__all__ = ["box", "loopback_only"]  # fixtures

LIVE = """\
mode: live
armed: {armed}
trading:
  take_profit: false
  day_timezone: UTC
  order_timeout: {timeout}
"""


def _intents(db: Path) -> list[str]:
    return [r["status"] for r in _rows(db, "SELECT status FROM trade_intents ORDER BY rowid")]


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> str:
    key, address = throwaway()
    monkeypatch.setenv("WEATHEREDGE_PRIVATE_KEY", key)
    monkeypatch.setenv("WEATHEREDGE_WALLET", address)
    for var in (
        "WEATHEREDGE_CLOB_API_KEY",
        "WEATHEREDGE_CLOB_SECRET",
        "WEATHEREDGE_CLOB_PASSPHRASE",
    ):
        monkeypatch.delenv(var, raising=False)
    return address


def _modal_yes(box: Sandbox) -> tuple[Any, str]:
    nyc = box.quoted[0]
    modal = max(range(len(nyc.probs)), key=nyc.probs.__getitem__)
    return nyc, nyc.tokens(modal)[0]


async def _edge(box: Sandbox, daemon: Any, *, traded: bool = True) -> str:
    """Wait for the daemon to be ready, then open a 0.16 ask for 20 shares on the modal bucket."""
    nyc, yes = _modal_yes(box)
    await eventually(lambda: nyc.event["id"] in daemon.engine.pricing, within=8)
    await eventually(lambda: yes in daemon.engine.books and daemon.engine.books[yes].synced)
    if traded:
        assert daemon.trading is not None
        await daemon.trading.trader.ready()
    box.venue.set_book(yes, [("0.10", "50")], [("0.16", "20")], mirror=False)
    return yes


@pytest.fixture
async def live_db(tmp_path: Path) -> AsyncIterator[Path]:
    yield tmp_path / "live.db"


async def test_armed_live_daemon_places_exactly_one_order_write_ahead_first(
    box: Sandbox, keys: str, live_db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    seen_at_send: list[list[str]] = []
    box.exchange.on_order = lambda _body: seen_at_send.append(_intents(live_db))
    extra = LIVE.format(armed="true", timeout=5)
    async with running_daemon(box, live_db, extra=extra) as (daemon, base):
        assert daemon.trading is not None and daemon.trading.trader.mode.value == "live"
        yes = await _edge(box, daemon)
        await eventually(lambda: _intents(live_db) == ["filled"])
        # the user channel is up, authenticated with the derived key
        await eventually(lambda: box.exchange.user_client_count == 1)
        # fills: MATCHED (order response), MINED and CONFIRMED (user channel): counted once
        await eventually(
            lambda: (
                [r["status"] for r in _rows(live_db, "SELECT status FROM trade_fills")]
                == ["CONFIRMED"]
            )
        )
        async with aiohttp.ClientSession() as http:
            async with http.post(
                f"{base}/api/v1/trading/halt",
                json={"reason": "t", "cancel": True},
                headers={"X-Weatheredge": "1"},
            ) as r:
                assert r.status == 200
    (body,) = box.exchange.orders_received
    assert seen_at_send == [["sending"]]  # committed before anything went out
    assert body["order"]["tokenId"] == yes and body["order"]["side"] == "BUY"
    assert body["order"]["maker"] == keys
    assert (body["order"]["makerAmount"], body["order"]["takerAmount"]) == ("3200000", "20000000")
    assert _rows(live_db, "SELECT shares FROM positions") == [{"shares": "20"}]
    assert box.exchange.requests["DELETE /cancel-all"] == 1
    # no secret in the logs or the database: the key, the derived API secret and passphrase
    (api,) = box.exchange._keys.values()
    private = os.environ["WEATHEREDGE_PRIVATE_KEY"].removeprefix("0x")
    stored = b"".join(p.read_bytes() for p in live_db.parent.glob(live_db.name + "*"))
    for secret in (private, api.secret, api.passphrase):
        assert secret not in caplog.text
        assert secret.encode() not in stored


@pytest.mark.parametrize("armed, with_keys", [(False, True), (True, False)])
async def test_live_daemon_without_arming_or_keys_sends_nothing(
    box: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    live_db: Path,
    armed: bool,
    with_keys: bool,
) -> None:
    key, address = throwaway()
    for var, value in (("WEATHEREDGE_PRIVATE_KEY", key), ("WEATHEREDGE_WALLET", address)):
        if with_keys:
            monkeypatch.setenv(var, value)
        else:
            monkeypatch.delenv(var, raising=False)
    extra = LIVE.format(armed=str(armed).lower(), timeout=5)
    async with running_daemon(box, live_db, extra=extra) as (daemon, _base):
        assert daemon.trading is None
        note = daemon.health.notes["trading"]
        assert ("NOT ARMED" in note) if not armed else ("without keys" in note)
        yes = await _edge(box, daemon, traded=False)
        await eventually(
            lambda: bool(_rows(live_db, f"SELECT * FROM edges WHERE token_id = '{yes}'"))
        )
    assert box.exchange.orders_received == []
    assert sum(box.exchange.requests.values()) == 0  # the SDK was never even created
    assert box.exchange.user_connections == 0
    assert key not in note


async def test_submit_accepted_then_timed_out_is_adopted_not_resent(
    box: Sandbox, keys: str, live_db: Path
) -> None:
    box.exchange.faults.accept_then_timeout, box.exchange.faults.hold_s = 1, 4.0
    extra = LIVE.format(armed="true", timeout=0.5)
    async with running_daemon(box, live_db, extra=extra) as (daemon, _base):
        await _edge(box, daemon)
        await eventually(lambda: _intents(live_db) == ["filled"])
        trader = daemon.trading.trader
        assert trader.counters["timeouts"] == 1 and trader.counters["adopted"] == 1
        # fills from the REST reconcile and the (earlier, queued) user-channel events: counted
        # once, and the late MATCHED event does not regress the CONFIRMED status
        await eventually(
            lambda: (
                [r["status"] for r in _rows(live_db, "SELECT status FROM trade_fills")]
                == ["CONFIRMED"]
            )
        )
    assert box.exchange.requests["POST /order"] == 1
    assert len(box.exchange.orders_received) == 1 and len(box.exchange.orders) == 1
    assert _intents(live_db) == ["filled"]
    assert _rows(live_db, "SELECT shares FROM positions") == [{"shares": "20"}]


async def test_user_channel_gap_is_reconciled_over_rest(
    box: Sandbox, keys: str, live_db: Path
) -> None:
    box.exchange.settle_s = 0.4  # MINED / CONFIRMED come late enough to fall in the gap
    extra = LIVE.format(armed="true", timeout=5)
    async with running_daemon(box, live_db, extra=extra) as (daemon, _base):
        await eventually(lambda: box.exchange.user_client_count == 1)
        await _edge(box, daemon)
        await eventually(lambda: _intents(live_db) == ["filled"])
        box.exchange.faults.refuse_user_ws = 1000
        assert await box.exchange.drop_user_sockets() == 1
        await eventually(
            lambda: all(t["status"] == "CONFIRMED" for t in box.exchange.trades.values())
        )
        fills = [r["status"] for r in _rows(live_db, "SELECT status FROM trade_fills")]
        assert fills == ["MATCHED"]  # the updates went out while nobody listened
        trades_before = box.exchange.requests["GET /data/trades"]
        box.exchange.faults.refuse_user_ws = 0
        await eventually(lambda: box.exchange.user_client_count == 1)
        await eventually(
            lambda: (
                [r["status"] for r in _rows(live_db, "SELECT status FROM trade_fills")]
                == ["CONFIRMED"]
            )
        )
        assert box.exchange.requests["GET /data/trades"] > trades_before  # REST reconcile
        assert box.exchange.requests["GET /data/orders"] >= 2
    assert len(box.exchange.orders_received) == 1
    assert _rows(live_db, "SELECT shares FROM positions") == [{"shares": "20"}]

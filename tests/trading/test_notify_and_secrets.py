"""Trading notifications (levels, digests), user-channel parsing, and secrets kept out of
logs, the database and exception text."""

from __future__ import annotations

import logging
import os
import sqlite3
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from weatheredge.config_trading import TradingNotifySettings
from weatheredge.notify import Notifier
from weatheredge.trading.sdk import Credentials, CredentialsError, _clean, load_credentials
from weatheredge.trading.userchannel import UserChannel, trades_from_event

KEY = "0x" + "ab" * 32
SECRET = "c2VjcmV0LXNlY3JldC1zZWNyZXQ="


class Clock:
    t = 0.0

    def __call__(self) -> float:
        return self.t


async def test_levels_and_digest() -> None:
    clock = Clock()
    levels = msgspec.convert(
        {"burst": 2, "digest_window": 10, "cancelled": "silent", "blocked": "off"},
        TradingNotifySettings,
    )
    sent: list[tuple[str, str]] = []
    n = Notifier([], levels=levels, deliver=lambda t, b: sent.append((t, b)), clock=clock)
    n.post("blocked", "blocked", "x")  # off: never queued
    n.post("intent", "i1", "")
    n.post("filled", "f1", "")
    n.post("filled", "f2", "")  # third in the window: held for the digest
    n.post("cancelled", "c1", "")  # silent: digest only
    while not n._queue.empty():
        await n._handle(n._queue.get_nowait())
    assert [t for t, _ in sent] == ["i1", "f1"]
    clock.t = 11.0
    await n._flush()
    assert sent[-1][0] == "weatheredge: 2 trading updates"
    assert sent[-1][1] == "- f2\n- c1"


def test_user_channel_trade_events_from_our_side() -> None:
    taker = {
        "event_type": "trade", "id": "t1", "status": "MATCHED", "taker_order_id": "o1",
        "asset_id": "tok", "side": "BUY", "price": "0.4", "size": "10", "owner": "k",
        "trader_side": "TAKER", "timestamp": "1700000000",
    }  # fmt: skip
    [t] = trades_from_event(taker, "k")
    assert (t.order_id, t.size, t.role, t.at_ms) == ("o1", Decimal(10), "TAKER", 1700000000000)
    maker = {
        **taker, "owner": "other", "trader_side": "MAKER",
        "maker_orders": [
            {"order_id": "m1", "owner": "k", "asset_id": "tok", "side": "SELL",
             "price": "0.4", "matched_amount": "3"},
            {"order_id": "m2", "owner": "x", "asset_id": "tok", "side": "SELL",
             "price": "0.4", "matched_amount": "7"},
        ],
    }  # fmt: skip
    [m] = trades_from_event(maker, "k")
    assert (m.trade_id, m.side, m.size, m.fee) == ("t1:m1", "SELL", Decimal(3), Decimal(0))
    assert trades_from_event({"event_type": "trade"}, "k") == []


def test_user_channel_subscription_is_built_but_never_logged(caplog) -> None:
    ch = UserChannel("ws://127.0.0.1:1/ws/user", ("k", SECRET, "pp"), on_trade=print,
                     on_reconnect=lambda: None)  # fmt: skip
    assert SECRET in ch._subscribe_frame()
    with caplog.at_level(logging.DEBUG):
        ch._handle('[{"event_type":"trade","id":"x"}]')  # malformed: dropped, logged
    assert SECRET not in caplog.text


def test_credentials_from_env_and_file(tmp_path: Path) -> None:
    creds = load_credentials(None, {"WEATHEREDGE_PRIVATE_KEY": KEY, "WEATHEREDGE_WALLET": "0xw"})
    assert KEY not in repr(creds) and creds.wallet == "0xw"
    with pytest.raises(CredentialsError) as err:
        load_credentials(None, {})
    assert "WEATHEREDGE_PRIVATE_KEY" in str(err.value)
    f = tmp_path / "keys.yaml"
    f.write_text(f"private_key: '{KEY}'\nwallet: '0xw'\n")
    os.chmod(f, 0o644)
    with pytest.raises(CredentialsError) as err:
        load_credentials(str(f), {})
    assert "0600" in str(err.value) and KEY not in str(err.value)
    os.chmod(f, 0o600)
    assert load_credentials(str(f), {}).private_key == KEY


def test_errors_are_scrubbed_of_secrets() -> None:
    creds = Credentials(KEY, "0xw", "api-key-123", SECRET, "pass-phrase")
    text = _clean(ValueError(f"bad {KEY} {SECRET} pass-phrase {KEY[2:]}"), creds)
    assert KEY[2:] not in text and SECRET not in text and "pass-phrase" not in text


async def test_nothing_secret_in_the_ledger(tmp_path: Path) -> None:
    from tests.trading.conftest import M2, Harness

    h = Harness(tmp_path / "s.db")
    await h.start()
    h.fair_books()
    h.price(0.40)
    h.book(M2.yes_token, [("0.18", "50")], [("0.20", "30")])
    await h.step()
    await h.close()
    dump = "\n".join(sqlite3.connect(h.db).iterdump())
    assert "trade_intents" in dump
    for secret in (KEY, KEY[2:], SECRET):
        assert secret not in dump

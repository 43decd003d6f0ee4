"""The renotify policy as its own unit: which engine signals become pushed edge messages,
with ``notify.on_close`` and ``notify.renotify_window`` read at each signal (live reload)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import msgspec

from weatheredge.alerts import EdgeAlerts
from weatheredge.config import NotifySettings
from weatheredge.engine import EdgeSignal
from weatheredge.model.edge import Change, Side

T0 = dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC)
EVENT = SimpleNamespace(city="NYC", date=dt.date(2026, 11, 25))
MARKET = SimpleNamespace(market_id="m1", label="44-45°F")
QUOTE = SimpleNamespace(side=Side.YES, price=410_000, size=120_000_000, prob=0.52, edge=0.09)


def signal(change: Change, seconds: float, reason: str = "") -> EdgeSignal:
    quote = None if change is Change.CLOSE else QUOTE
    return EdgeSignal(
        change, "e1", EVENT, MARKET, Side.YES, quote, None, None,  # type: ignore[arg-type]
        T0 + dt.timedelta(seconds=seconds), reason,
    )  # fmt: skip


def test_openings_are_pushed_closes_only_with_on_close_read_per_signal() -> None:
    settings = NotifySettings()
    alerts = EdgeAlerts(lambda: settings)
    opened = alerts.message_for(signal(Change.OPEN, 0))
    assert opened is not None and (opened.kind, opened.bucket, opened.price) == (
        "open",
        "44-45°F",
        "0.41",
    )
    assert alerts.message_for(signal(Change.CLOSE, 1, "edge gone")) is None
    settings = msgspec.structs.replace(settings, on_close=True)  # a reload
    alerts.message_for(signal(Change.OPEN, 2))
    closed = alerts.message_for(signal(Change.CLOSE, 3, "edge gone"))
    assert closed is not None and closed.reason == "edge gone"


def test_a_reopening_after_a_feed_interruption_is_held_within_the_live_window() -> None:
    settings = NotifySettings(renotify_window=300.0)
    alerts = EdgeAlerts(lambda: settings)
    assert alerts.message_for(signal(Change.OPEN, 0)) is not None
    alerts.message_for(signal(Change.CLOSE, 10, "feed lost: reconnect"))
    assert alerts.message_for(signal(Change.OPEN, 12)) is None  # told already
    alerts.message_for(signal(Change.CLOSE, 20, "feed lost: reconnect"))
    settings = msgspec.structs.replace(settings, renotify_window=0.0)  # a reload
    assert alerts.message_for(signal(Change.OPEN, 22)) is not None

"""One outbox: edge and trading messages through one queue, one apprise sender and one record
callback; the renotify policy applied on the outbox's task, never in the caller."""

from __future__ import annotations

import datetime as dt

import msgspec

from tests.notify.conftest import Hook
from tests.notify.test_notify import MESSAGE
from weatheredge.config_trading import TradingNotifySettings
from weatheredge.messages import Delivery, EdgeMessage
from weatheredge.notify import Notifier


async def test_edge_and_trade_messages_share_one_queue_sender_and_record(hook: Hook) -> None:
    records: list[Delivery] = []
    levels = msgspec.convert({"cancelled": "silent"}, TradingNotifySettings)
    outbox = Notifier([hook.url], levels=levels, record=records.append, backoff_s=0.01)
    outbox.send(MESSAGE)
    outbox.post("filled", "Filled 20 YES", "at 0.16", ref="i1")
    outbox.post("blocked", "never", "off by default")
    outbox.post("cancelled", "Cancelled i2", "silent: only in a digest", ref="i2")
    outbox.start()
    await outbox.close(grace_s=10)

    titles = [b["title"] for b in hook.bodies]
    assert titles == [
        "Edge open: NYC 2026-11-25 44-45°F YES @ 0.41",
        "Filled 20 YES",
        "Cancelled i2",  # the digest of one, delivered by close
    ]
    assert [(r.kind, r.edge_id, r.ok) for r in records] == [
        ("open", "e1", True),
        ("trade_filled", "i1", True),
        ("trade_cancelled", "i2", True),
    ]
    assert outbox.sent == 3 and outbox.dropped == 0


async def test_offered_signals_are_screened_after_the_callers_callback_in_order(hook: Hook) -> None:
    seen: list[str] = []

    def screen(signal: str) -> EdgeMessage | None:
        seen.append(signal)
        return MESSAGE if signal == "push me" else None

    outbox = Notifier([hook.url], screen=screen, backoff_s=0.01)
    outbox.offer("quiet")
    outbox.offer("push me")
    assert seen == []  # the caller only enqueued
    outbox.start()
    await outbox.close(grace_s=10)
    assert seen == ["quiet", "push me"]
    assert len(hook.bodies) == 1


async def test_without_targets_the_policy_still_sees_every_signal() -> None:
    seen: list[object] = []
    outbox = Notifier([], screen=lambda s: seen.append(s) or MESSAGE)
    outbox.offer(1)
    outbox.offer(2)
    outbox.start()
    await outbox.close(grace_s=1)
    assert seen == [1, 2] and outbox.sent == 0


def test_a_delivery_becomes_one_notifications_record() -> None:
    from weatheredge.sinks import notification_record
    from weatheredge.store import NotificationResult

    at = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)
    d = Delivery("e1", "open", "t", "b", at, True, 2, None)
    assert notification_record(d) == NotificationResult("e1", "open", "t", "b", at, True, 2)

"""Turn the engine's edge signals into store records and notification messages, and the
outbox's deliveries into store records (so the outbox never imports the store)."""

from __future__ import annotations

import dataclasses

from weatheredge.engine import EdgeSignal
from weatheredge.messages import Delivery, EdgeMessage
from weatheredge.model.edge import Change
from weatheredge.store import EdgeClosed, EdgeOpened, EdgeUpdated, NotificationResult, Record


def edge_record(signal: EdgeSignal) -> Record:
    if signal.change is Change.OPEN:
        assert signal.quote is not None
        return EdgeOpened.from_quote(
            signal.edge_id,
            signal.event,
            signal.market,
            signal.quote,
            forecast_id=signal.forecast_id,
            latency_us=signal.latency_us,
            at=signal.at,
            kind=signal.kind,
        )
    if signal.change is Change.UPDATE:
        assert signal.quote is not None
        return EdgeUpdated.from_quote(signal.edge_id, signal.quote, signal.at)
    return EdgeClosed(signal.edge_id, signal.reason, signal.at)


def edge_message(signal: EdgeSignal) -> EdgeMessage:
    return dataclasses.replace(_message(signal), edge_kind=signal.kind)


def _message(signal: EdgeSignal) -> EdgeMessage:
    if signal.quote is not None:
        return EdgeMessage.from_quote(
            signal.change.value,
            signal.edge_id,
            signal.event,
            signal.market,
            signal.quote,
            reason=signal.reason,
        )
    return EdgeMessage(
        kind=signal.change.value,
        edge_id=signal.edge_id,
        city=signal.event.city,
        date=signal.event.date,
        bucket=signal.market.label,
        side=signal.side.value,
        price="",
        size="",
        prob=float("nan"),
        edge=float("nan"),
        reason=signal.reason,
    )


def notification_record(d: Delivery) -> NotificationResult:
    return NotificationResult(
        d.edge_id, d.kind, d.title, d.body, d.sent_at, d.ok, d.attempts, d.error
    )

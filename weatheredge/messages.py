"""What the outbox carries: edge and trading messages, their text, and delivery records. Pure."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from weatheredge.model.edge import Quote
from weatheredge.model.market import BucketMarket, TemperatureEvent
from weatheredge.model.prices import from_micros


@dataclass(frozen=True, slots=True)
class EdgeMessage:
    kind: str  # "open", "update" or "close"
    edge_id: str | None
    city: str
    date: dt.date
    bucket: str  # label as published, e.g. "44-45°F"
    side: str  # "YES" / "NO"
    price: str  # exact decimal ask, e.g. "0.41"
    size: str  # shares available at that price
    prob: float  # probability that this side pays
    edge: float  # per share, after the taker fee
    reason: str = ""  # why a close happened
    edge_kind: str = "bucket"  # "bucket", or "ladder": side YES = buy every YES, NO = sell them

    @classmethod
    def from_quote(
        cls,
        kind: str,
        edge_id: str | None,
        event: TemperatureEvent,
        market: BucketMarket,
        q: Quote,
        reason: str = "",
    ) -> EdgeMessage:
        return cls(
            kind=kind,
            edge_id=edge_id,
            city=event.city,
            date=event.date,
            bucket=market.label,
            side=q.side.value,
            price=from_micros(q.price),
            size=from_micros(q.size),
            prob=q.prob,
            edge=q.edge,
            reason=reason,
        )


def format_edge(message: EdgeMessage) -> tuple[str, str]:
    """(title, body) of a notification. Pure.

    A close caused by a vanished ask has no quote: pass ``price=""`` and a NaN ``prob``/``edge``
    and those lines are left out rather than printed as blanks or "nan%".
    """
    m = message
    if m.edge_kind == "ladder":
        return _format_ladder(m)
    where = f"{m.city} {m.date.isoformat()} {m.bucket}"
    if m.kind == "close" or not m.price:
        title = f"Edge {'closed' if m.kind == 'close' else m.kind}: {where} {m.side}"
    else:
        title = f"Edge {m.kind}: {where} {m.side} @ {m.price}"
    lines = [f"{m.city}, {m.date.isoformat()}, bucket {m.bucket}"]
    if m.price:
        verb = "Was offered" if m.kind == "close" else "Buy"
        lines.append(f"{verb} {m.side} at {m.price} ({m.size} shares at that price)")
    if math.isfinite(m.prob) and math.isfinite(m.edge):
        lines.append(f"Probability {m.prob:.1%}, edge {m.edge:+.4f} per share after fees")
    if m.reason:
        lines.append(f"{'Opened' if m.kind == 'open' else 'Closed'}: {m.reason}")
    return title, "\n".join(lines)


def _format_ladder(m: EdgeMessage) -> tuple[str, str]:
    """A model-free arbitrage across a whole neg-risk ladder: exactly one bucket pays 1."""
    action = "buy every YES" if m.side == "YES" else "sell every YES"
    status = "closed" if m.kind == "close" else m.kind
    title = f"Ladder edge {status}: {m.city} {m.date.isoformat()} {action}"
    if m.price:
        title += f" for {m.price}"
    lines = [f"{m.city}, {m.date.isoformat()}, {m.bucket}"]
    if m.price:
        total = "best asks sum" if m.side == "YES" else "best bids sum"
        lines.append(f"{action.capitalize()}: the {total} to {m.price} after fees per set")
        lines.append(f"{m.size} sets available at those prices")
    if math.isfinite(m.edge):
        lines.append(f"Edge {m.edge:+.4f} per set, whatever the weather")
    if m.reason:
        lines.append(f"{'Opened' if m.kind == 'open' else 'Closed'}: {m.reason}")
    return title, "\n".join(lines)


@dataclass(frozen=True, slots=True)
class TradeMessage:
    kind: str  # a TradingNotifySettings field: "intent", "filled", "halt", ...
    title: str
    body: str
    ref: str | None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message as it left, or failed to leave: one ``notifications`` row."""

    edge_id: str | None  # the edge, or the trade reference
    kind: str  # "open" / "update" / "close", or "trade_<kind>", or "trade_digest"
    title: str
    body: str
    sent_at: dt.datetime
    ok: bool
    attempts: int
    error: str | None = None  # built from target labels and status names: never a URL

"""Maker mode's outputs besides orders: the per-event quote digest and the status section."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from weatheredge.model.quoting import Quote
from weatheredge.trading import quote_log as Q
from weatheredge.trading.messages import TradeMessages
from weatheredge.trading.view import MarketView

_ORDER = (Q.PLACE, Q.REPLACE, Q.CANCEL, Q.FILL, Q.REJECT)


@dataclass(slots=True)
class _Digest:
    counts: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    since: float = 0.0


class QuoteDigests:
    """Quote activity per event, sent as one message per event per ``maker.digest_interval``
    (counted from the event's first action since the last digest)."""

    def __init__(self, messages: TradeMessages) -> None:
        self._messages = messages
        self._pending: dict[str, _Digest] = {}

    def note(self, event_id: str, kind: str, reason: str, now: float) -> None:
        digest = self._pending.get(event_id)
        if digest is None:
            digest = self._pending[event_id] = _Digest(since=now)
        digest.counts[kind] += 1
        digest.reasons[reason] += 1

    def flush(self, now: float, every: float, inputs: Any, resting: Callable[[str], int]) -> None:
        for event_id, digest in list(self._pending.items()):
            if now - digest.since < every:
                continue
            del self._pending[event_id]
            event = inputs.event(event_id) if inputs is not None else None
            label = f"{event.city} {event.date}" if event is not None else event_id
            counts = {k: digest.counts[k] for k in _ORDER}
            self._messages.quotes_digest(label, counts, dict(digest.reasons), resting(event_id))


def maker_status(
    strategy: str,
    resting: Mapping[str, Quote],
    view: MarketView,
    pulled: Mapping[str, str],
    actions: Mapping[str, int],
    decision_ns: Iterable[int],
) -> dict[str, Any]:
    """``/status`` -> ``trading.maker``: the resting quotes (the ladder chart draws them per
    bucket), pulled events and why, action counts, decision time per event."""
    quotes = []
    for token, q in resting.items():
        ref = view.ref(token)
        quotes.append(
            {
                "token_id": token,
                "event_id": ref.event.event_id if ref else None,
                "market_id": ref.market.market_id if ref else None,
                "bucket": ref.market.label if ref else None,
                "outcome": ref.side.value if ref else None,
                "price": str(q.price),
                "size": str(q.size),
                "fair": str(q.fair),
            }
        )
    ns = sorted(decision_ns)
    return {
        "strategy": strategy,
        "resting": quotes,
        "pulled": dict(pulled),
        "actions": dict(actions),
        "decision_us_p50": ns[len(ns) // 2] / 1000 if ns else None,
        "decision_us_p99": ns[min(len(ns) - 1, int(len(ns) * 0.99))] / 1000 if ns else None,
    }

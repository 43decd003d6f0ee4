"""Every message the trader sends, worded in one place and sent through one callable.

The callable is the daemon outbox's :meth:`~weatheredge.notify.Notifier.post` (which enqueues
and returns): composing a message never waits on a push.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from weatheredge.engine import EdgeSignal, TokenRef
from weatheredge.trading import ledger as L
from weatheredge.trading.gateway import TradeView
from weatheredge.trading.ledger import Intent
from weatheredge.trading.portfolio import Position, _txt

QUOTE = "quote"  # the intent kind of a maker quote

Notify = Callable[[str, str, str, str | None], None]  # kind, title, body, reference


def _where(intent: Intent) -> str:
    return f"{intent.city} {intent.date} {intent.bucket} {intent.outcome}"


class TradeMessages:
    def __init__(self, notify: Notify | None, mode: str) -> None:
        self._send = notify or (lambda *_: None)
        self._mode = mode

    def intent(self, intent: Intent) -> None:
        if intent.kind == QUOTE:
            return  # quote activity goes out as one digest per event (quotes_digest)
        verb = "Buying" if intent.side == "BUY" else "Selling"
        body = [f"{verb} {intent.size} {intent.outcome} at {intent.price} ({self._mode})"]
        if intent.reason:
            body.append(f"Why: {intent.reason}")
        if intent.limits:
            body.append(f"Limits checked: {intent.limits}")
        self._send("intent", f"Order intent: {_where(intent)}", "\n".join(body),
                   intent.intent_key)  # fmt: skip

    def fill(self, intent: Intent, kind: str) -> None:
        self._send(
            "filled" if kind == L.FILLED else "partial",
            f"Order {'filled' if kind == L.FILLED else 'partly filled'}: {_where(intent)}",
            f"{intent.side} {intent.filled_size} of {intent.size} at {intent.price}; "
            f"fees {intent.fees}",
            intent.intent_key,
        )

    def finished(self, intent: Intent, status: str, why: str) -> None:
        """An order reached ``status``: filled, partly filled, rejected, failed or cancelled."""
        if status in (L.FILLED, L.PARTIAL):
            self.fill(intent, status)
        elif intent.kind == QUOTE:
            return  # cancels and rejects of quotes: in the digest
        elif status in (L.REJECTED, L.FAILED, L.CANCELLED, L.ABANDONED):
            kind = "rejected" if status in (L.REJECTED, L.FAILED) else "cancelled"
            self._send(
                kind,
                f"Order {status}: {_where(intent)}",
                f"{intent.side} {intent.size} at {intent.price}: {why}",
                intent.intent_key,
            )

    def unknown_fill(self, trade: TradeView) -> None:
        self._send(
            "filled",
            f"Fill on an order not in the ledger: {trade.token_id[:12]}…",
            f"{trade.side} {trade.size} at {trade.price}",
            trade.trade_id,
        )

    def fill_undone(self, trade_id: str, side: str, size: Decimal, price: Decimal) -> None:
        self._send(
            "rejected",
            f"Trade failed on chain: {trade_id}",
            f"{side} {_txt(size)} at {_txt(price)} was undone",
            trade_id,
        )

    def blocked(self, signal: EdgeSignal, limit: str, detail: str) -> None:
        where = f"{signal.event.city} {signal.event.date} {signal.market.label} {signal.side}"
        self._send("blocked", f"Order blocked ({limit}): {where}", detail, signal.edge_id)

    def exit(self, ref: TokenRef, kind: str, size: Decimal, shares: Decimal, price: Decimal,
             reason: str, episode: str) -> None:  # fmt: skip
        where = f"{ref.event.city} {ref.event.date} {ref.market.label} {ref.side}"
        self._send(
            "exit",
            f"{'Take profit' if kind == 'take_profit' else 'Exit'}: {where}",
            f"Selling {size} of {_txt(shares)} shares at {price}: {reason}",
            episode,
        )

    def settled(self, settled: Position, avg: Decimal, shares: Decimal, payout: Decimal,
                realized: Decimal, reason: str, ref: str) -> None:  # fmt: skip
        won = "won" if payout else "lost"
        where = f"{settled.city} {settled.date} {settled.bucket} {settled.outcome}"
        self._send(
            "settled",
            f"Settled ({won}): {where}",
            f"{_txt(shares)} shares bought at {_txt(avg)} paid {_txt(payout)} each: "
            f"realised {_txt(realized)}; position total {_txt(settled.realized)} after fees "
            f"{_txt(settled.fees)} ({reason})",
            ref,
        )

    def quotes_digest(self, event: str, counts: dict[str, int], reasons: dict[str, int],
                      resting: int) -> None:  # fmt: skip
        """Maker mode: one message per event per ``maker.digest_interval``."""
        done = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
        why = ", ".join(f"{r} x{n}" for r, n in sorted(reasons.items(), key=lambda x: -x[1]))
        self._send(
            "quotes",
            f"Quotes: {event}",
            f"{done}; {resting} resting ({self._mode})" + (f"\nWhy: {why}" if why else ""),
            None,
        )

    def halted(self, kind: str, reason: str) -> None:
        self._send("halt", "Trading halted", f"{kind}: {reason}", None)

    def resumed(self, kind: str) -> None:
        self._send("halt", "Trading resumed", f"{kind} halt released", None)

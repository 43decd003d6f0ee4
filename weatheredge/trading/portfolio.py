"""Positions and PnL per token, exact decimals. Pure.

Average price excludes fees; fees are realised when paid. A sell realises
``(price - avg_price) * size - fee``; a buy realises ``-fee``. When the venue resolves the
market, the shares still held are settled at the payout (1 or 0, no fee): that realises
``(payout - avg_price) * shares``. Unrealised PnL marks the shares at the best bid (what selling
now would fetch before its fee).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from weatheredge.trading.risk import ZERO

ONE = Decimal(1)


@dataclass(slots=True)
class Position:
    token_id: str
    event_id: str | None = None
    market_id: str | None = None
    city: str | None = None
    date: str | None = None
    bucket: str | None = None
    outcome: str | None = None
    shares: Decimal = ZERO
    avg_price: Decimal = ZERO
    fees: Decimal = ZERO
    realized: Decimal = ZERO
    extra: dict[str, str] = field(default_factory=dict)

    def apply(self, side: str, price: Decimal, size: Decimal, fee: Decimal) -> Decimal:
        """Apply one fill; returns what it realised."""
        if side == "BUY":
            total = self.shares + size
            self.avg_price = (self.avg_price * self.shares + price * size) / total
            self.shares = total
            realized = -fee
        else:
            size = min(size, self.shares) if self.shares > 0 else size
            realized = (price - self.avg_price) * size - fee
            self.shares -= size
            if self.shares == 0:
                self.avg_price = ZERO
        self.fees += fee
        self.realized += realized
        return realized

    def settle(self, payout: Decimal) -> tuple[Decimal, Decimal]:
        """Settle every share held at the venue's payout; returns (shares, realised)."""
        shares = self.shares
        realized = (payout - self.avg_price) * shares
        self.shares, self.avg_price = ZERO, ZERO
        self.realized += realized
        return shares, realized

    def reverse(
        self, side: str, price: Decimal, size: Decimal, fee: Decimal, realized: Decimal
    ) -> None:
        """Undo a fill that the venue later reported FAILED."""
        if side == "BUY":
            remaining = self.shares - size
            self.avg_price = (
                (self.avg_price * self.shares - price * size) / remaining if remaining else ZERO
            )
            self.shares = remaining
        else:
            basis = price - (realized + fee) / size
            total = self.shares + size
            self.avg_price = (self.avg_price * self.shares + basis * size) / total
            self.shares = total
        self.fees -= fee
        self.realized -= realized

    def cost(self) -> Decimal:
        return self.shares * self.avg_price

    def unrealized(self, mark: Decimal | None) -> Decimal:
        if mark is None or self.shares == 0:
            return ZERO
        return (mark - self.avg_price) * self.shares

    def row(self, updated_at: str) -> dict[str, object]:
        return {
            "token_id": self.token_id,
            "event_id": self.event_id,
            "market_id": self.market_id,
            "city": self.city,
            "date": self.date,
            "bucket": self.bucket,
            "outcome": self.outcome,
            "shares": _txt(self.shares),
            "avg_price": _txt(self.avg_price),
            "fees": _txt(self.fees),
            "realized_pnl": _txt(self.realized),
            "updated_at": updated_at,
        }

    @classmethod
    def from_row(cls, row: dict[str, object]) -> Position:
        return cls(
            token_id=str(row["token_id"]),
            event_id=_opt(row.get("event_id")),
            market_id=_opt(row.get("market_id")),
            city=_opt(row.get("city")),
            date=_opt(row.get("date")),
            bucket=_opt(row.get("bucket")),
            outcome=_opt(row.get("outcome")),
            shares=Decimal(str(row["shares"])),
            avg_price=Decimal(str(row["avg_price"])),
            fees=Decimal(str(row["fees"])),
            realized=Decimal(str(row["realized_pnl"])),
        )


def resolution_payout(market_id: str, outcome: str, winning_market_id: str) -> Decimal | None:
    """What one share pays when the venue resolved ``winning_market_id`` YES: YES of the
    winning bucket 1 and of every other 0; NO the opposite. None for an unknown outcome."""
    if outcome not in ("YES", "NO"):
        return None
    won = (market_id == winning_market_id) == (outcome == "YES")
    return ONE if won else ZERO


def _opt(value: object) -> str | None:
    return None if value is None else str(value)


def _txt(value: Decimal) -> str:
    """Exact decimal text without exponent or trailing zeros ("8.4256", "0", "12.5")."""
    if value == 0:
        return "0"
    text = format(value.normalize(), "f")
    return text

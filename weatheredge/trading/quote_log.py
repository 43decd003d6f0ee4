"""The maker's action log, ``quote_actions`` (migration m007): one row per place, replace,
cancel, fill or reject, committed through the ledger's one writer thread. A ``replace`` or
``cancel`` row is committed *before* the cancel request goes out (write-ahead: a crash after
it leaves a record of what was being pulled and why); placements are written ahead as
intents by the order desk, and their ``place`` row follows the venue's answer."""

from __future__ import annotations

import sqlite3
from dataclasses import astuple, dataclass
from decimal import Decimal
from typing import Any

from weatheredge.trading.ledger import Ledger, now_iso

PLACE, REPLACE, CANCEL, FILL, REJECT = "place", "replace", "cancel", "fill", "reject"

_M = Decimal(1_000_000)
_SQL = (
    "INSERT INTO quote_actions (at, event_id, token_id, side, outcome, action, price_micros, "
    "size_micros, order_id, reason, rebate) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def micros(value: Decimal) -> int:
    return int(value * _M)


@dataclass(frozen=True, slots=True)
class QuoteAction:
    at: str
    event_id: str | None
    token_id: str
    side: str
    outcome: str | None
    action: str
    price_micros: int | None
    size_micros: int | None
    order_id: str | None
    reason: str
    rebate: str | None = None  # a fill's estimated maker rebate, pUSD (migration m009)


class QuoteLog:
    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self.counts: dict[str, int] = {}

    async def write(
        self,
        action: str,
        *,
        event_id: str | None,
        token_id: str,
        outcome: str | None,
        price: Decimal | None,
        size: Decimal | None,
        order_id: str | None,
        reason: str,
        rebate: Decimal | None = None,
    ) -> None:
        row = QuoteAction(
            now_iso(), event_id, token_id, "BUY", outcome, action,
            None if price is None else micros(price), None if size is None else micros(size),
            order_id, reason, None if rebate is None else str(rebate),
        )  # fmt: skip
        self.counts[action] = self.counts.get(action, 0) + 1
        values = astuple(row)

        def insert(c: sqlite3.Connection) -> None:
            c.execute(_SQL, values)

        await self._ledger.transact(insert)

    async def rows(self) -> list[dict[str, Any]]:
        def read(c: sqlite3.Connection) -> list[dict[str, Any]]:
            return [dict(r) for r in c.execute("SELECT * FROM quote_actions ORDER BY id")]

        return await self._ledger.transact(read)

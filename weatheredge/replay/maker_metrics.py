"""Maker backtest metrics of one replay (one combination), read from its output database.

Inputs: ``quote_actions`` (the quoting policy's log: place / replace / cancel / fill / reject),
``trade_fills`` (the ledger's fills, ``SETTLE`` rows at resolution) and ``paper_marks`` (the
paper venue's mid at each maker fill and 1 and 10 minutes later, ``docs/fill-model.md``).
Computed in exact decimals, returned as plain numbers for the scoreboard.

- ``quotes_placed`` / ``quotes_replaced`` / ``quotes_cancelled`` / ``quotes_rejected``: actions;
- ``fills``, ``filled_shares``: fills of quote orders (an order id a place or replace named);
- ``fill_rate``: quote orders with at least one fill / quote orders sent (places + replaces);
- ``adverse_1m`` / ``adverse_10m``: size-weighted mean move of the mid against us after a quote
  fill, in price units (for a buy: mid at the fill minus mid after; positive = we were picked
  off), over the fills with both marks (``adverse_*_fills`` of them);
- ``fees``: fees paid on every fill of the run (makers pay none);
- ``rebates``: the *estimated* maker rebates of the quote fills, as the maker logged them at
  each fill from its market's own fee schedule (``quote_actions.rebate``,
  :func:`weatheredge.model.quoting.maker_rebate`): ``rebateRate × rate × p × (1 − p) × shares``
  rounded like a fee, 0 for a market without a rebate rate. An estimate because the venue pays
  a daily pool (``rebateRate`` of the taker fees collected) pro rata to makers' fee-equivalent
  volume, and the tape shows neither the pool nor the other makers; since every trade has one
  maker side, a maker's expected share is its own fee-equivalent volume times ``rebateRate``.
  Not in ``realised_pnl`` (it is not paid per fill);
- ``maker_volume``: notional of quote fills (what a rebate would be paid on);
- ``realised_pnl``: every fill's realised PnL including the settlement at resolution;
- ``max_drawdown``: largest fall of the cumulative realised PnL from its running peak.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

ZERO = Decimal(0)
HORIZONS = {"adverse_1m": 60, "adverse_10m": 600}


def maker_metrics(db_path: str | Path) -> dict[str, float | int]:
    con = sqlite3.connect(f"file:{Path(db_path)}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    try:
        actions = _rows(con, "SELECT action, order_id FROM quote_actions ORDER BY id")
        rebates = _rows(
            con,
            "SELECT order_id, price_micros, size_micros, rebate FROM quote_actions "
            "WHERE action = 'fill' AND rebate IS NOT NULL",
        )
        # A fill row names its intent, not always its order (the ledger leaves the order id
        # to the intent): the quote's order id is the intent's.
        fills = _rows(
            con,
            "SELECT f.trade_id, coalesce(f.venue_order_id, i.venue_order_id) AS venue_order_id, "
            "f.side, f.price, f.size, f.fee, f.realized_pnl, f.status FROM trade_fills f "
            "LEFT JOIN trade_intents i ON i.intent_key = f.intent_key "
            "ORDER BY coalesce(f.matched_at, f.updated_at), f.rowid",
        )
        marks = _rows(con, "SELECT trade_id, horizon_s, mid FROM paper_marks")
    finally:
        con.close()
    return compute(actions, fills, marks, rebates)


def _rows(con: sqlite3.Connection, sql: str) -> list[dict[str, Any]]:
    try:
        return [dict(r) for r in con.execute(sql)]
    except sqlite3.OperationalError:  # a table this run never created (no quoting, no paper)
        return []


def compute(
    actions: list[dict[str, Any]],
    fills: list[dict[str, Any]],
    marks: list[dict[str, Any]],
    rebates: Sequence[dict[str, Any]] = (),
) -> dict[str, float | int]:
    """The metrics from the rows (see the module's docstring)."""
    failed = Counter(
        (f["venue_order_id"], _micros(f["price"]), _micros(f["size"]))
        for f in fills
        if f["status"] == "FAILED"
    )
    count = {a: sum(1 for r in actions if r["action"] == a) for a in _ACTIONS}
    sent = {r["order_id"] for r in actions if r["action"] in ("place", "replace") and r["order_id"]}
    fills = [f for f in fills if f["status"] != "FAILED"]
    quote_fills = [f for f in fills if f["venue_order_id"] in sent and f["side"] != "SETTLE"]
    filled_orders = {f["venue_order_id"] for f in quote_fills}
    orders_sent = count["place"] + count["replace"]
    out: dict[str, float | int] = {
        "quotes_placed": count["place"],
        "quotes_replaced": count["replace"],
        "quotes_cancelled": count["cancel"],
        "quotes_rejected": count["reject"],
        "fills": len(quote_fills),
        "filled_shares": float(sum((Decimal(f["size"]) for f in quote_fills), ZERO)),
        "fill_rate": len(filled_orders) / orders_sent if orders_sent else 0.0,
    }
    mids = {(m["trade_id"], m["horizon_s"]): Decimal(m["mid"]) for m in marks}
    for name, horizon in HORIZONS.items():
        moved = weight = ZERO
        n = 0
        for f in quote_fills:
            before, after = mids.get((f["trade_id"], 0)), mids.get((f["trade_id"], horizon))
            if before is None or after is None:
                continue
            size = Decimal(f["size"])
            against = before - after if f["side"] == "BUY" else after - before
            moved += against * size
            weight += size
            n += 1
        out[name] = float(moved / weight) if weight else 0.0
        out[f"{name}_fills"] = n
    out["fees"] = float(sum((Decimal(f["fee"]) for f in fills), ZERO))
    rebate = ZERO
    for r in rebates:  # a fill the chain later failed earns nothing
        key = (r["order_id"], r["price_micros"], r["size_micros"])
        if failed[key]:
            failed[key] -= 1
        else:
            rebate += Decimal(r["rebate"])
    out["rebates"] = float(rebate)
    out["maker_volume"] = float(
        sum((Decimal(f["price"]) * Decimal(f["size"]) for f in quote_fills), ZERO)
    )
    total = peak = drawdown = ZERO
    for f in fills:
        total += Decimal(f["realized_pnl"])
        peak = max(peak, total)
        drawdown = max(drawdown, peak - total)
    out["realised_pnl"] = float(total)
    out["max_drawdown"] = float(drawdown)
    return out


_ACTIONS = ("place", "replace", "cancel", "fill", "reject")


def _micros(value: str) -> int:
    return int(Decimal(value) * 1_000_000)

"""Parity: the replay's decisions against the live decisions on the tape.

Edge episodes are compared change by change: market, side, kind, price, size, probability,
edge, close reason, and the receive times (wall and monotonic) of the input each change answered
(the frame, answer or feed change processed when it was decided). Episode ids are minted per run,
so an episode is named by its place in the order of openings. Trading (paper): intents by kind,
side, token, price, size and final status; fills by side, token, price, size, fee and realised
PnL, in order. Ledger timestamps are not compared (the trader's own timer steps them).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from weatheredge.replay.driver import Decision

Row = tuple[Any, ...]


def edge_rows(decisions: Iterable[Decision]) -> list[Row]:
    """Each edge change as a comparable row, in input order; changes answering one input are
    sorted (a disconnect closes its tokens in set order, which differs between processes)."""
    episodes: dict[str, tuple[Any, ...]] = {}  # edge id -> (market, side, kind, opened by)
    rows: list[Row] = []
    for d in decisions:
        if d.kind != "edge":
            continue
        kind, data = d.record.get("type"), d.record.get("data", {})
        edge_id = data.get("edge_id", "")
        if kind == "EdgeOpened":
            market = data.get("market", {})
            name = (market.get("market_id"), data.get("side"), data.get("kind"), d.trigger)
            episodes[edge_id] = name
            rows.append(
                (d.trigger, "open", name, data.get("price"), data.get("size"), data.get("prob"),
                 data.get("edge"))
            )  # fmt: skip
        elif kind == "EdgeUpdated":
            rows.append(
                (d.trigger, "update", episodes.get(edge_id), data.get("price"), data.get("size"),
                 data.get("prob"), data.get("edge"))
            )  # fmt: skip
        elif kind == "EdgeClosed":
            rows.append((d.trigger, "close", episodes.get(edge_id), data.get("reason")))
    return _by_input(rows)


def _by_input(rows: list[Row]) -> list[Row]:
    order: dict[Any, int] = {}
    for row in rows:
        order.setdefault(row[0], len(order))
    return sorted(rows, key=lambda r: (order[r[0]], repr(r)))


def trade_rows(decisions: Iterable[Decision]) -> list[Row]:
    intents: dict[str, list[Any]] = {}
    order: list[str] = []
    fills: list[Row] = []
    for d in decisions:
        data = d.record.get("data", {})
        if d.kind == "intent":
            key = data.get("intent_key", "")
            order.append(key)
            intents[key] = [data.get("kind"), data.get("side"), data.get("token_id"),
                            data.get("price"), data.get("size"), data.get("status")]  # fmt: skip
        elif d.kind == "intent_update":
            key = data.get("intent_key", "")
            if key in intents and "status" in data:
                intents[key][5] = data["status"]
        elif d.kind == "fill":
            f = data.get("fill", {})
            fills.append(
                ("fill", f.get("side"), f.get("token_id"), f.get("price"), f.get("size"),
                 f.get("fee"), f.get("realized_pnl"))
            )  # fmt: skip
    return [("intent", *intents[k]) for k in order] + fills


def differences(live: list[Decision], replay: list[Decision]) -> list[str]:
    """Worded differences, empty when the replay reproduced the tape's decisions."""
    out: list[str] = []
    for what, rows in (("edge", edge_rows), ("trade", trade_rows)):
        a, b = rows(live), rows(replay)
        if a == b:
            continue
        for i in range(max(len(a), len(b))):
            x = a[i] if i < len(a) else None
            y = b[i] if i < len(b) else None
            if x != y:
                out.append(f"{what} #{i}: live {x} / replay {y}")
        if len(a) != len(b):
            out.append(f"{what}: {len(a)} on the tape, {len(b)} in the replay")
    return out

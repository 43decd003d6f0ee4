"""Maker mode (issue 14 "Speed"): book change or report -> cancel/replace sent, and order rates.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/maker_latency.py [--rounds 200]

A maker-mode trader (live mode, the real ``polymarket-client`` SDK, throwaway keys) quotes one
event's bucket against the sandbox exchange on 127.0.0.1, with the user channel connected.
The trader's decision task is stepped directly after each change, as its task does when the
engine's hook wakes it. Measured, p50/p99 over ``--rounds`` each:

- decision: the maker's pure work for the event after a change (the scan for changed tokens,
  their desired quotes and the cancel/replace rule), from ``Maker.decision_ns`` (target < 1 ms);
  and the periodic refresh that follows the sends (a few unchanged tokens decided again, at
  most ``REFRESH_CHUNK``), from ``Maker.refresh_ns``;
- book change -> cancel sent: another bidder moves the best bid, the quote must follow (the
  write-ahead ``replace`` row is committed before the cancel goes out);
- fair-value move -> cancel sent (a report re-priced the event), and the decision for it (every
  token of the event decided again; as many rounds as book changes, so that its p99 is not
  simply the worst of a few);
- report due -> cancel sent (pull), and report in hand -> new quote sent (requote);
- maker fill on the sandbox -> delivered to the trader by the user channel.

Then the order rate: every quoted token's fair value moves every 50 ms of (virtual) time for
10 s; printed are the peak orders/s and cancels/s sent, against the venue's standard-tier
limits (orders 40/s, burst 60; cancels 80/s, burst 120) that the maker's token buckets keep.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.trading.makerkit import MakerRig  # noqa: E402
from weatheredge.sandbox import Sandbox  # noqa: E402
from weatheredge.trading.userchannel import start_user_channel  # noqa: E402


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def line(name: str, values_us: list[float]) -> str:
    return (
        f"{name:<34} p50 {pct(values_us, 0.5):9.1f} us   p99 {pct(values_us, 0.99):9.1f} us"
        f"   (n={len(values_us)})"
    )


class Stamps:
    """Wraps the gateway: when each place and cancel request is handed to the SDK."""

    def __init__(self, gateway: Any) -> None:
        self.places: list[int] = []
        self.cancels: list[int] = []
        place, cancel = gateway.place, gateway.cancel

        async def stamped_place(request: Any) -> Any:
            self.places.append(time.perf_counter_ns())
            return await place(request)

        async def stamped_cancel(order_id: str) -> Any:
            self.cancels.append(time.perf_counter_ns())
            return await cancel(order_id)

        gateway.place, gateway.cancel = stamped_place, stamped_cancel


BUCKETS = 10  # 20 tokens quoted, as on a typical ladder
WIDE = {"max_open_orders": 50, "max_event_usd": 10_000, "max_total_usd": 10_000,
        "max_city_date_usd": 10_000}  # fmt: skip


def fair(m: int, shift: float = 0.0) -> float:
    return 0.06 + 0.08 * m + shift


async def latency(box: Sandbox, db: Path, rounds: int) -> dict[str, list[float]]:
    rig = MakerRig(box, db, buckets=BUCKETS, **WIDE)
    trader = await rig.start()
    stamps = Stamps(rig.gateway)
    arrived: list[int] = []
    on_trade = trader.on_trade_event

    def seen(trade: Any) -> None:
        arrived.append(time.perf_counter_ns())
        on_trade(trade)

    trader.on_trade_event = seen  # type: ignore[method-assign]
    assert box.urls is not None
    ws = box.urls.clob_url.replace("http://", "ws://") + "/ws/user"
    channel = start_user_channel(ws, rig.gateway, trader)
    decisions = trader.maker.decision_ns
    refreshes = trader.maker.refresh_ns
    out: dict[str, list[float]] = {
        k: [] for k in ("book", "book_decision", "report", "report_decision", "pull", "requote",
                        "fill", "refresh", "tokens")
    }  # fmt: skip

    def price_all(shift: float) -> None:
        for m in range(BUCKETS):
            rig.price(fair(m, shift), m)

    try:
        for m in range(BUCKETS):  # every token's best bid at its fair value - margin
            p = fair(m)
            rig.book(rig.token(m), [(f"{p - 0.02:.2f}", "100")], [("0.97", "100")])
            rig.book(rig.token(m, False), [(f"{1 - p - 0.02:.2f}", "100")], [("0.97", "100")])
        price_all(0.0)
        await rig.step()
        quoted = len(trader.maker.resting())
        await asyncio.sleep(0.2)  # the user channel subscribes
        token = rig.token(4)  # fair 0.38: the quote may rest up to 0.36
        for i in range(rounds):
            # the best bid of others moves a tick down / up: our bid, one tick over, follows
            bid = "0.33" if i % 2 == 0 else "0.34"
            n, d, r = len(stamps.cancels), len(decisions), len(refreshes)
            decided = trader.maker.tokens_decided
            t0 = time.perf_counter_ns()
            rig.book(token, [(bid, "100")], [("0.97", "100")])
            await rig.step(0.3)
            assert len(stamps.cancels) > n, "no replace"
            out["book"].append((stamps.cancels[n] - t0) / 1000)
            out["book_decision"] += [ns / 1000 for ns in list(decisions)[d:]]
            out["refresh"] += [ns / 1000 for ns in list(refreshes)[r:]]
            out["tokens"].append(trader.maker.tokens_decided - decided)
        for i in range(rounds):
            # a report re-prices the whole event by 3 ticks: every quote moves
            n, m, d = len(stamps.cancels), len(stamps.places), len(decisions)
            t0 = time.perf_counter_ns()
            price_all(-0.03 if i % 2 == 0 else 0.0)
            await rig.step(0.3)
            sent = stamps.cancels[n : n + 1] + stamps.places[m : m + 1]
            assert sent, "no replace"
            out["report"].append((min(sent) - t0) / 1000)
            out["report_decision"] += [ns / 1000 for ns in list(decisions)[d:]]
        for _ in range(rounds // 10):
            n, m = len(stamps.cancels), len(stamps.places)
            t0 = time.perf_counter_ns()
            rig.view.due = rig.clock.time() + 30  # pull_before_report 60 s
            await rig.step(0.3)
            assert len(stamps.cancels) > n, "no pull"
            out["pull"].append((stamps.cancels[n] - t0) / 1000)
            t0 = time.perf_counter_ns()
            rig.view.due = rig.clock.time() + 3600
            await rig.step(0.3)
            assert len(stamps.places) > m, "no requote"
            out["requote"].append((stamps.places[m] - t0) / 1000)
        for _ in range(min(rounds, 50)):
            order = (await rig.gateway.open_orders())[0]
            n = len(arrived)
            t0 = time.perf_counter_ns()
            box.exchange.fill_resting(order.order_id, "0.01")
            deadline = time.monotonic() + 5
            while len(arrived) == n:
                assert time.monotonic() < deadline, "no fill on the user channel"
                await asyncio.sleep(0)
            out["fill"].append((arrived[n] - t0) / 1000)
            await rig.step(0.3)
        out["quoted"] = [float(quoted)]
    finally:
        if channel is not None:
            channel.cancel()
        await trader.shutdown()
        await rig.close()
    return out


async def rates(box: Sandbox, db: Path, seconds: float = 10.0) -> dict[str, Any]:
    """Every quoted token's fair value moves a tick every 50 ms (virtual time): each wants a
    replace per step, min_replace_interval allows 4/s per token, the buckets cap the rest."""
    rig = MakerRig(box, db, buckets=BUCKETS, **WIDE)
    trader = await rig.start()
    stamps = Stamps(rig.gateway)
    for m in range(BUCKETS):
        p = fair(m)
        rig.book(rig.token(m), [(f"{p - 0.02:.2f}", "100")], [("0.97", "100")])
        rig.book(rig.token(m, False), [(f"{1 - p - 0.02:.2f}", "100")], [("0.97", "100")])
    per_s_orders: Counter[int] = Counter()
    per_s_cancels: Counter[int] = Counter()
    start = rig.clock.monotonic()
    i = 0
    try:
        while rig.clock.monotonic() - start < seconds:
            for m in range(BUCKETS):
                rig.price(fair(m, -0.01 * (i % 4)), m)
            n, c = len(stamps.places), len(stamps.cancels)
            await rig.step(0.05)
            second = int(rig.clock.monotonic() - start)
            per_s_orders[second] += len(stamps.places) - n
            per_s_cancels[second] += len(stamps.cancels) - c
            i += 1
    finally:
        await trader.shutdown()
        await rig.close()
    return {
        "tokens": BUCKETS * 2,
        "orders_peak": max(per_s_orders.values()),
        "orders_mean": statistics.mean(per_s_orders.values()),
        "cancels_peak": max(per_s_cancels.values()),
        "cancels_mean": statistics.mean(per_s_cancels.values()),
        "held_back": trader.counters.get("quote_rate_limited", 0),
        "cancel_over": trader.counters.get("quote_cancel_over_rate", 0),
    }


async def main(rounds: int) -> None:
    box = Sandbox()
    box.exchange.settle_s = 0.02
    await box.start(play=False)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            lat = await latency(box, Path(tmp) / "lat.db", rounds)
            rate = await rates(box, Path(tmp) / "rate.db")
    finally:
        await box.stop()
    print("maker mode against the sandbox exchange (real SDK, HTTP + user channel on loopback)")
    print(f"{int(lat['quoted'][0])} tokens quoted (one {BUCKETS}-bucket event)")
    print(line("decision, book change (per event)", lat["book_decision"]))
    print(line("  then the refresh (<= 4 tokens)", lat["refresh"]))
    print(
        f"  tokens decided per book-change round (change + refresh): mean "
        f"{statistics.mean(lat['tokens']):.1f} of {int(lat['quoted'][0])}"
    )
    print(line("book change -> cancel sent", lat["book"]))
    print(line("decision, report re-price (event)", lat["report_decision"]))
    print(line("report re-price -> first order sent", lat["report"]))
    print(line("report due -> first cancel (pull)", lat["pull"]))
    print(line("report in hand -> first quote sent", lat["requote"]))
    print(line("maker fill -> trader (user channel)", lat["fill"]))
    print(
        f"order rate, {rate['tokens']} tokens re-priced a tick every 50 ms for 10 s "
        f"(min_replace_interval 0.25 s): orders peak {rate['orders_peak']}/s "
        f"(mean {rate['orders_mean']:.1f}), cancels peak {rate['cancels_peak']}/s "
        f"(mean {rate['cancels_mean']:.1f}); venue limits: orders 40/s burst 60, cancels 80/s "
        f"burst 120; placements held back by the maker's order bucket: {rate['held_back']}, "
        f"cancels over the cancel bucket (sent anyway): {rate['cancel_over']}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    asyncio.run(main(parser.parse_args().rounds))

"""Feed throughput and latency benchmark (prints figures; not a test).

A sender in its own process serves the market channel on 127.0.0.1 and pushes realistic
``price_change`` traffic across 3,000 tokens (1,500 bucket markets, mirrored YES/NO entries with
``best_bid``/``best_ask``, the sender keeping every book consistent). Each client runs in a fresh
process against a fresh sender, on the same traffic:

(a) raw framing: a ``websockets`` asyncio client that only receives;
(a') raw framing through weatheredge's own transport (``websockets``' sans-I/O protocol driven by
    an ``asyncio.Protocol``, what ``MarketStream`` runs on), receiving only;
(b) the official SDK (``polymarket-client``): its CLOB market stream (``ClobMarketStreamManager``,
    what ``AsyncPublicClient.subscribe(MarketSpec)`` runs), which parses into pydantic events;
(c) weatheredge: ``MarketStream`` -> ``Engine.on_frame`` (decode, books, edge evaluation).

The sender never re-encodes during the run: before any client connects it has every frame's
complete wire bytes (RFC 6455 server frames: unmasked, FIN, no extension bits), and its handshake
(``websockets``' sans-I/O ``ServerProtocol`` with no extensions) declines permessage-deflate, so
all clients receive the same uncompressed frames. The blast writes ~64 KiB chunks of joined
frames straight to the ``asyncio`` transport and waits on ``pause_writing``/``resume_writing``
(high-water mark 256 KiB), so TCP back-pressure from the client is what paces it and bounds the
backlog (its own buffer plus the loopback socket buffers); it reports the share of the blast it
spent blocked on back-pressure, which shows that the client, not the sender, is the bottleneck.

Figures: sustained messages/s = messages the client fully processed / wall time over the blast
(first to last price_change), with messages per second of the client's own CPU time for
reference (the SDK drops from its bounded queue under load: it parsed every frame, so its figure
counts delivered + dropped); and for weatheredge the receive-to-decision latency p50/p99/p99.9 at
a steady 5,000 messages/s, and its peak RSS with 3,000 tokens.

    python benchmarks/feed_throughput.py [--messages 200000] [--rate 5000] [--seconds 6]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import random
import resource
import sys
import time
from array import array
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MARKETS = 1500  # x2 tokens = 3,000
DUMP_CHUNK = 100  # books per initial-dump frame (the SDK's socket refuses frames over 1 MiB)
DUMP_FRAMES = (2 * MARKETS + DUMP_CHUNK - 1) // DUMP_CHUNK
BUCKETS_PER_EVENT = 10
FAIR = (2, 4, 8, 14, 22, 22, 14, 8, 4, 2)  # cents per bucket; sums to 100
SEED = 20261125

# ----------------------------------------------------------------------------- traffic


def token_ids(m: int) -> tuple[str, str]:
    base = 10**76 + m * 7919
    return str(base), str(base + 1)


def condition(m: int) -> str:
    return f"0x{m:064x}"


def _c(cents: int) -> str:
    return f"0.{cents:02d}" if cents < 100 else "1"


def build_traffic(n: int) -> tuple[list[str], list[str]]:
    """(initial dump, n price_change frames); deterministic for a seed."""
    rng = random.Random(SEED)
    # YES books in cents around each bucket's fair price (an event's fair prices sum to 1).
    fair = [FAIR[m % BUCKETS_PER_EVENT] for m in range(MARKETS)]
    bids = [{f - 1 - i: 100 + i for i in range(5) if f - 1 - i >= 1} for f in fair]
    asks = [{f + 1 + i: 100 + i for i in range(5)} for f in fair]
    ts = 1_795_620_000_000
    dump = []
    for m in range(MARKETS):
        yes, no = token_ids(m)
        yb = [{"price": _c(p), "size": str(s)} for p, s in sorted(bids[m].items())]
        ya = [{"price": _c(p), "size": str(s)} for p, s in sorted(asks[m].items(), reverse=True)]
        nb = [{"price": _c(100 - p), "size": str(s)} for p, s in sorted(asks[m].items())[::-1]]
        na = [{"price": _c(100 - p), "size": str(s)} for p, s in sorted(bids[m].items())]
        for tok, b, a in ((yes, yb, ya), (no, nb, na)):
            dump.append(
                {
                    "event_type": "book",
                    "market": condition(m),
                    "asset_id": tok,
                    "bids": b,
                    "asks": a,
                    "timestamp": str(ts),
                    "hash": "0x0",
                    "tick_size": "0.01",
                }
            )
    dump_frames = [
        json.dumps(dump[i : i + DUMP_CHUNK], separators=(",", ":"))
        for i in range(0, len(dump), DUMP_CHUNK)
    ]
    frames = []
    for i in range(n):
        m = rng.randrange(MARKETS)
        b, a = bids[m], asks[m]
        best_b, best_a = max(b, default=1), min(a, default=99)
        if rng.random() < 0.5:
            side, price = "BUY", rng.randint(max(1, best_a - 8), best_a - 1)
            book = b
        else:
            side, price = "SELL", rng.randint(best_b + 1, min(99, best_b + 8))
            book = a
        size = (
            0 if (price in book and rng.random() < 0.3 and len(book) > 1) else rng.randint(1, 900)
        )
        if size:
            book[price] = size
        else:
            book.pop(price, None)
        best_b, best_a = max(b, default=None), min(a, default=None)
        yes, no = token_ids(m)
        size_text = f"{size}.{i % 100:02d}" if size else "0"
        h = f"{i:040x}"
        yes_entry = {
            "asset_id": yes,
            "price": _c(price),
            "size": size_text,
            "side": side,
            "hash": h,
        }
        no_entry = {
            "asset_id": no,
            "price": _c(100 - price),
            "size": size_text,
            "side": "SELL" if side == "BUY" else "BUY",
            "hash": h,
        }
        if best_b is not None:
            yes_entry["best_bid"] = _c(best_b)
            no_entry["best_ask"] = _c(100 - best_b)
        if best_a is not None:
            yes_entry["best_ask"] = _c(best_a)
            no_entry["best_bid"] = _c(100 - best_a)
        ts += 1 if i % 3 == 0 else 0
        frames.append(
            json.dumps(
                {
                    "event_type": "price_change",
                    "market": condition(m),
                    "price_changes": [yes_entry, no_entry],
                    "timestamp": str(ts),
                },
                separators=(",", ":"),
            )
        )
    return dump_frames, frames


# ----------------------------------------------------------------------------- sender

CHUNK_BYTES = 64 * 1024  # pre-joined wire bytes per transport.write during the blast
WRITE_HIGH = 256 * 1024  # the sender's own write buffer: pause above this, resume below LOW
WRITE_LOW = 64 * 1024


def wire_frame(payload: bytes) -> bytes:
    """One complete server->client text frame (FIN, unmasked, no extension): RFC 6455 §5.2."""
    n = len(payload)
    if n < 126:
        head = bytes((0x81, n))
    elif n < 1 << 16:
        head = b"\x81\x7e" + n.to_bytes(2, "big")
    else:
        head = b"\x81\x7f" + n.to_bytes(8, "big")
    return head + payload


def wire_chunks(texts: list[str]) -> list[bytes]:
    """Every frame's wire bytes, joined into ~CHUNK_BYTES chunks (frame boundaries kept)."""
    chunks: list[bytes] = []
    batch: list[bytes] = []
    size = 0
    for text in texts:
        frame = wire_frame(text.encode())
        batch.append(frame)
        size += len(frame)
        if size >= CHUNK_BYTES:
            chunks.append(b"".join(batch))
            batch, size = [], 0
    if batch:
        chunks.append(b"".join(batch))
    return chunks


class SenderConnection(asyncio.Protocol):
    """Server side of one connection: ``websockets``' sans-I/O ``ServerProtocol`` does the
    handshake (declining permessage-deflate, so every client gets the same uncompressed frames),
    parses what the client sends (subscription, ``PING``, close) and answers it; the blast
    bypasses it and writes pre-encoded frames straight to the transport, waiting on
    ``pause_writing``/``resume_writing`` so TCP back-pressure bounds everything in flight."""

    def __init__(self, on_subscribed: Any) -> None:
        from websockets.server import ServerProtocol

        self.protocol = ServerProtocol(extensions=None, max_size=None)
        self.on_subscribed = on_subscribed
        self.transport: asyncio.Transport | None = None
        self.subscribed = False
        self.lost = False
        self._resumed: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.set_write_buffer_limits(high=WRITE_HIGH, low=WRITE_LOW)

    def data_received(self, data: bytes) -> None:
        from websockets.frames import OP_TEXT
        from websockets.http11 import Request

        protocol = self.protocol
        protocol.receive_data(data)
        for event in protocol.events_received():
            if isinstance(event, Request):
                protocol.send_response(protocol.accept(event))
            elif event.opcode is OP_TEXT:
                text = event.data.decode()
                if text == "PING":
                    protocol.send_text(b"PONG")
                elif not self.subscribed and '"market"' in text:
                    self.subscribed = True
                    self.on_subscribed(self)
        for out in protocol.data_to_send():
            if out and not self.transport.is_closing():  # type: ignore[union-attr]
                self.transport.write(out)  # type: ignore[union-attr]
        if protocol.close_expected():
            self.transport.close()  # type: ignore[union-attr]

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.resume_writing()

    def pause_writing(self) -> None:
        self._resumed = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._resumed is not None and not self._resumed.done():
            self._resumed.set_result(None)
        self._resumed = None

    async def write(self, data: bytes) -> float:
        """Write; if that put the buffer over its high-water mark, wait. Returns seconds waited."""
        self.transport.write(data)  # type: ignore[union-attr]
        waiter = self._resumed
        if waiter is None:
            return 0.0
        t = time.perf_counter()
        await waiter
        return time.perf_counter() - t


def sender_main(conn: Any, n: int, rate: float, seconds: float) -> None:
    dump, texts = build_traffic(n if rate == 0 else int(rate * seconds))
    # Everything is encoded to wire bytes before any client connects: the blast only writes.
    dump_wire = [wire_frame(t.encode()) for t in dump]
    if rate == 0:
        chunks = wire_chunks(texts)
    else:
        frames = [wire_frame(t.encode()) for t in texts]
    del texts

    async def blast(ws: SenderConnection) -> None:
        for frame in dump_wire:
            await ws.write(frame)
        await asyncio.sleep(0.5)  # let the client apply the dump
        blocked, peak = 0.0, 0
        start = time.perf_counter()
        if rate == 0:
            for chunk in chunks:
                if ws.lost:
                    break
                blocked += await ws.write(chunk)
                peak = max(peak, ws.transport.get_write_buffer_size())  # type: ignore[union-attr]
        else:
            sent = 0
            while sent < len(frames) and not ws.lost:
                due = min(len(frames), int((time.perf_counter() - start) * rate) + 1)
                if due > sent:
                    blocked += await ws.write(b"".join(frames[sent:due]))
                    sent = due
                await asyncio.sleep(0.0005)
        elapsed = time.perf_counter() - start
        conn.send({"blast_s": elapsed, "blocked_s": blocked, "peak_buffer": peak})

    async def main() -> None:
        loop = asyncio.get_running_loop()
        tasks: set[asyncio.Task[None]] = set()

        def on_subscribed(ws: SenderConnection) -> None:
            task = loop.create_task(blast(ws))
            tasks.add(task)

        server = await loop.create_server(lambda: SenderConnection(on_subscribed), "127.0.0.1", 0)
        conn.send(server.sockets[0].getsockname()[1])
        await asyncio.Future()  # killed by the parent once the client has reported

    asyncio.run(main())


# ----------------------------------------------------------------------------- clients


def subscription() -> str:
    ids = [t for m in range(MARKETS) for t in token_ids(m)]
    return json.dumps({"type": "market", "assets_ids": ids, "initial_dump": True})


async def run_raw(url: str, n: int) -> dict[str, Any]:
    from websockets.asyncio.client import connect

    async with connect(url, max_size=None, ping_interval=None, proxy=None) as ws:
        await ws.send(subscription())
        for _ in range(DUMP_FRAMES):
            await ws.recv()  # the dump
        count, t0, c0 = 0, 0.0, 0.0
        async for _msg in ws:
            if count == 0:
                t0, c0 = time.perf_counter(), time.process_time()
            count += 1
            if count == n:
                break
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"msgs": count, "elapsed": elapsed, "cpu": cpu}


async def run_raw_sansio(url: str, n: int) -> dict[str, Any]:
    """(a') receive only, through weatheredge's transport (websockets' sans-I/O protocol)."""
    from weatheredge.polymarket.transport import connect_feed

    state = {"count": 0, "t0": 0.0, "c0": 0.0}
    done = asyncio.get_running_loop().create_future()
    total = DUMP_FRAMES + n

    def on_message(_data: str | bytes, _recv_ns: int) -> None:
        count = state["count"] = state["count"] + 1
        if count == DUMP_FRAMES + 1:
            state["t0"], state["c0"] = time.perf_counter(), time.process_time()
        elif count == total and not done.done():
            done.set_result((time.perf_counter(), time.process_time()))

    conn = await connect_feed(url, on_message, max_size=None, close_timeout=1.0)
    await conn.send(subscription())
    conn.start()
    t1, c1 = await done
    await conn.close()
    return {"msgs": n, "elapsed": t1 - state["t0"], "cpu": c1 - state["c0"]}


async def run_sdk(url: str, n: int) -> dict[str, Any]:
    from polymarket._internal.streams.clob.market import ClobMarketStreamManager

    ids = [t for m in range(MARKETS) for t in token_ids(m)]
    manager = ClobMarketStreamManager(url=url)
    handle = await manager.subscribe(token_ids=ids)
    count, books, t0, c0 = 0, 0, 0.0, 0.0
    deadline = time.perf_counter() + 120
    async for event in handle:
        if type(event).__name__ == "MarketBookEvent":
            books += 1
            continue
        if count == 0:
            t0, c0 = time.perf_counter(), time.process_time()
        count += 1
        if count + handle.dropped >= n or time.perf_counter() > deadline:
            break
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    dropped = handle.dropped
    await manager.close()
    # It parsed every frame but its bounded queue dropped the oldest events under load: the
    # parse rate (delivered + dropped) is its best figure, and the one compared below.
    return {
        "msgs": count + dropped,
        "elapsed": elapsed,
        "cpu": cpu,
        "delivered": count,
        "dropped": dropped,
    }


def make_engine() -> Any:
    import datetime as dt

    from weatheredge.engine import Engine, Pricing
    from weatheredge.polymarket.gamma_event import to_temperature_event
    from weatheredge.polymarket.gamma_wire import decode_gamma_event

    rules = (
        "This market will resolve to the temperature range that contains the highest "
        "temperature recorded by NOAA at the LaGuardia Airport Station in degrees Fahrenheit on "
        "{day}. The resolution source is https://www.weather.gov/wrh/timeseries?site=klga, whole "
        "degrees Fahrenheit."
    )
    events = []
    day0 = dt.date(2026, 11, 25)
    for e in range(MARKETS // BUCKETS_PER_EVENT):
        day = day0 + dt.timedelta(days=e)
        labels = ["39°F or below"] + [f"{40 + 2 * i}-{41 + 2 * i}°F" for i in range(8)]
        labels.append("56°F or higher")
        markets = []
        for b, label in enumerate(labels):
            m = e * BUCKETS_PER_EVENT + b
            yes, no = token_ids(m)
            markets.append(
                {
                    "id": str(2_000_000 + m),
                    "conditionId": condition(m),
                    "groupItemTitle": label,
                    "clobTokenIds": json.dumps([yes, no]),
                    "outcomes": json.dumps(["Yes", "No"]),
                    "version": "v1",
                    "active": True,
                    "closed": False,
                    "acceptingOrders": True,
                    "enableOrderBook": True,
                    "negRisk": True,
                    "orderPriceMinTickSize": 0.01,
                    "orderMinSize": 5,
                    "feesEnabled": True,
                    "feeSchedule": {"rate": "0.05", "exponent": 1, "takerOnly": True},
                }
            )
        slug = f"highest-temperature-in-nyc-on-{day.strftime('%B').lower()}-{day.day}-{day.year}"
        raw = {
            "id": str(400000 + e),
            "slug": slug,
            "title": f"Highest temperature in NYC on {day.strftime('%B')} {day.day}?",
            "description": rules.format(day=day.isoformat()),
            "resolutionSource": "https://www.weather.gov/wrh/timeseries?site=klga",
            "eventDate": day.isoformat(),
            "active": True,
            "closed": False,
            "enableOrderBook": True,
            "negRisk": True,
            "tags": [{"slug": "daily-temperature"}],
            "markets": markets,
        }
        events.append(to_temperature_event(decode_gamma_event(json.dumps(raw).encode())))
    signals = [0]

    def sink(_signal: Any) -> None:
        signals[0] += 1

    engine = Engine(min_edge=0.05, hysteresis=0.01, max_forecast_age=1e9, emit=sink)
    engine.set_events(events)
    rng = random.Random(1)
    for event in events:
        # Near fair: edges open now and then, as in real life, not on every tick.
        probs = {
            m.market_id: FAIR[i] / 100 + rng.uniform(-0.03, 0.06)
            for i, m in enumerate(event.markets)
        }
        engine.set_pricing(event.event_id, Pricing(probs, 1, time.monotonic()))
    return engine, signals


async def run_weatheredge(url: str, n: int, keep_latency: bool) -> dict[str, Any]:
    from weatheredge.polymarket.stream import MarketStream

    engine, signals = make_engine()
    lat = array("q")
    on_frame = engine.on_frame
    perf = time.perf_counter_ns

    def timed(data: str | bytes, recv_ns: int) -> None:
        on_frame(data, recv_ns)
        lat.append(perf() - recv_ns)  # the same receive-to-decision span the engine records

    # Throughput runs feed the engine directly (no wrapper); progress is sampled every 1 ms.
    stream = MarketStream(
        url, timed if keep_latency else on_frame, heartbeat_s=10.0, max_size=64 * 1024 * 1024
    )
    stream.subscribe([t for m in range(MARKETS) for t in token_ids(m)])
    task = asyncio.create_task(stream.run())
    deadline = time.perf_counter() + 300
    while engine.frames <= DUMP_FRAMES:  # noqa: ASYNC110 - sampling, not waiting on an event
        await asyncio.sleep(0.001)
    t0, c0 = time.perf_counter(), time.process_time()
    while engine.frames < DUMP_FRAMES + n and time.perf_counter() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.001)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    task.cancel()
    del lat[:DUMP_FRAMES]
    out = {
        "msgs": engine.frames - DUMP_FRAMES,
        "elapsed": elapsed,
        "cpu": cpu,
        "synced": engine.market.synced_count(),
        "desyncs": engine.counters.get("desyncs", 0),
        "bad": sum(engine.bad_frames.values()),
        "signals": signals[0],
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if keep_latency:
        xs = sorted(lat)
        out["p50_us"] = xs[len(xs) // 2] / 1000
        out["p99_us"] = xs[int(len(xs) * 0.99)] / 1000
        out["p999_us"] = xs[int(len(xs) * 0.999)] / 1000
    return out


def client_main(conn: Any, kind: str, url: str, n: int, keep_latency: bool) -> None:
    if kind == "raw":
        result = asyncio.run(run_raw(url, n))
    elif kind == "raw_sansio":
        result = asyncio.run(run_raw_sansio(url, n))
    elif kind == "sdk":
        result = asyncio.run(run_sdk(url, n))
    else:
        result = asyncio.run(run_weatheredge(url, n, keep_latency))
    result["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    conn.send(result)


def scenario(kind: str, n: int, rate: float = 0, seconds: float = 0) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    sender = ctx.Process(target=sender_main, args=(child, n, rate, seconds), daemon=True)
    sender.start()
    port = parent.recv()
    url = f"ws://127.0.0.1:{port}/ws/market"
    total = n if rate == 0 else int(rate * seconds)
    cparent, cchild = ctx.Pipe()
    client = ctx.Process(target=client_main, args=(cchild, kind, url, total, rate > 0))
    client.start()
    try:
        if not cparent.poll(600):
            raise TimeoutError(f"{kind} client gave no result")
        result = cparent.recv()
        # The sender's own account of the blast: how long it waited on back-pressure.
        if parent.poll(10):
            result["sender"] = parent.recv()
    finally:
        client.join(10)
        if client.is_alive():
            client.kill()
        sender.kill()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--rate", type=float, default=5000.0)
    parser.add_argument("--seconds", type=float, default=6.0)
    args = parser.parse_args()
    n = args.messages
    print(f"3,000 tokens, {n:,} price_change frames (2 entries each) over loopback, uncompressed\n")
    rows = {}
    for kind, label in (
        ("raw", "(a) raw framing (websockets, receive only)"),
        ("raw_sansio", "(a') raw framing (sans-I/O, receive only)"),
        ("sdk", "(b) polymarket-client market stream (parse)"),
        ("weatheredge", "(c) weatheredge decode+book+edge"),
    ):
        r = scenario(kind, n)
        r["rate"] = r["msgs"] / r["elapsed"]
        r["capacity"] = r["msgs"] / r["cpu"]
        s = r.get("sender") or {}
        blocked = s["blocked_s"] / s["blast_s"] if s.get("blast_s") else float("nan")
        rows[kind] = r
        extra = ""
        if kind == "sdk":
            extra = (
                f"; delivered {r['delivered'] / r['elapsed']:,.0f} msg/s to its consumer "
                f"(dropped {r['dropped']:,} from its queue)"
            )
        if kind == "weatheredge":
            extra = (
                f"; books synced {r['synced']}, desyncs {r['desyncs']}, bad {r['bad']}, "
                f"edge signals {r['signals']:,}"
            )
        print(
            f"{label:44s} {r['rate']:>8,.0f} msg/s  ({r['capacity']:>7,.0f} per CPU-s)  "
            f"sender blocked {blocked:4.0%}  RSS {r['rss_mb']:5.1f} MB{extra}"
        )
    a, a2, b, c = (rows[k]["rate"] for k in ("raw", "raw_sansio", "sdk", "weatheredge"))
    print(
        "\nSustained rate = messages the client fully processed / wall time over the blast. The "
        "sender writes pre-encoded\nframes and waits on TCP back-pressure ('sender blocked' = "
        "share of the blast it spent waiting), so the client,\nnot the sender, is the bottleneck "
        "and the backlog is bounded by the socket buffers. Per-CPU-second figures for reference."
    )
    peak = max((r.get("sender") or {}).get("peak_buffer", 0) for r in rows.values())
    print(f"The sender's own write buffer peaked at {peak / 1024:,.0f} KiB.")
    print(f"(c)/(b) = {c / b:.2f}x   (target >= 2x)")
    print(
        f"(c)/(a) = {c / a:.0%}, (c)/(a') = {c / a2:.0%}, "
        f"vs the faster raw framing {c / max(a, a2):.0%}   (target >= 80%)"
    )
    lat = scenario("weatheredge", 0, rate=args.rate, seconds=args.seconds)
    print(
        f"\nweatheredge at a steady {args.rate:,.0f} msg/s for {args.seconds:.0f} s: "
        f"receive-to-decision p50 {lat['p50_us']:.1f} us, p99 {lat['p99_us']:.1f} us, "
        f"p99.9 {lat['p999_us']:.1f} us (target p99 < 1000 us); "
        f"RSS {lat['rss_mb']:.1f} MB with 3,000 tokens (target < 200 MB)"
    )


if __name__ == "__main__":
    main()

"""A synthetic multi-day tape of many cities (``weatheredge tape synth``), written through the
real recorder: market frames at a chosen rate over ~120 tokens per city (30 cities = ~3,600
tokens, the whole temperature universe), Gamma pages every minute, ensemble forecasts every 10
minutes, METAR polls every minute, edge decisions, and a socket drop every six hours."""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

import msgspec

from weatheredge.model.buckets import Unit
from weatheredge.sandbox.scenario import EventSpec, event_specs, gamma_event
from weatheredge.sandbox.weather import metar_record
from weatheredge.tape.writer import Recorder

BUCKETS = 10
FAIR_CENTS = (2, 4, 8, 14, 22, 22, 14, 8, 4, 2)  # YES quoted at fair ± 1 cent; sums to 100
EXTREMES = ("highest", "lowest")
DAYS_LISTED = 3
TOKENS_PER_SHARD = 200
MEMBERS = 143  # ECMWF 51 + GFS 31 + ICON 40 + GEM 21
FLUSH_S = 0.5  # as the live writer: one zstd frame per half second


@dataclasses.dataclass
class _Market:
    yes: str
    no: str
    condition: str
    shard: int
    bid: int
    ask: int


def _markets(cities: int) -> list[_Market]:
    out = []
    n = 0
    for c in range(cities):
        for e in range(len(EXTREMES) * DAYS_LISTED):
            for b in range(BUCKETS):
                base = 10**76 + (c * 1000 + e * 20 + b) * 7919
                fair = FAIR_CENTS[b]
                shard = (2 * n) // TOKENS_PER_SHARD
                out.append(
                    _Market(str(base), str(base + 1), f"0x{n:064x}", shard, fair - 1, fair + 1)
                )
                n += 1
    return out


def _labels(spec: EventSpec) -> tuple[str, ...]:
    """A ladder of ``BUCKETS`` labels starting where the spec's starts (open at both ends)."""
    first = spec.labels[0]
    lo = int(first.split("°")[0])
    inner = BUCKETS - 2
    if spec.unit is Unit.F:
        mids = [f"{a}-{a + 1}°F" for a in range(lo + 1, lo + 1 + 2 * inner, 2)]
        return (first, *mids, f"{lo + 1 + 2 * inner}°F or higher")
    mids = [f"{c}°C" for c in range(lo + 1, lo + 1 + inner)]
    return (first, *mids, f"{lo + 1 + inner}°C or higher")


def gamma_events(cities: int, day: dt.date) -> list[dict[str, Any]]:
    """The Gamma listing on ``day``: every city's events, naming the tokens and condition ids
    the tape's frames trade (so a replay seeded from it has a book behind every frame)."""
    specs = event_specs()
    markets = _markets(cities)
    events = []
    for c in range(cities):
        for e in range(len(EXTREMES) * DAYS_LISTED):
            spec = specs[c % len(specs)]
            city = spec.slug_city if c < len(specs) else f"{spec.slug_city}-{c}"
            spec = dataclasses.replace(spec, extreme=EXTREMES[e % 2], slug_city=city)
            spec = dataclasses.replace(spec, labels=_labels(spec))
            event = gamma_event(spec, day + dt.timedelta(days=e // 2), 10**5 + c * 10 + e)
            n = (c * len(EXTREMES) * DAYS_LISTED + e) * BUCKETS
            for mk, m in zip(event["markets"], markets[n : n + BUCKETS], strict=True):
                mk["conditionId"] = m.condition
                ids = [m.yes, m.no]
                if "positionIds" in mk:
                    mk["positionIds"] = ids
                else:
                    mk["clobTokenIds"] = json.dumps(ids)
            events.append(event)
    return events


def _price_change(m: _Market, rng: random.Random, ts_ms: int, i: int) -> str:
    side = "BUY" if rng.random() < 0.5 else "SELL"
    price = (
        max(1, m.bid - rng.randint(0, 4)) if side == "BUY" else min(99, m.ask + rng.randint(0, 4))
    )
    size = f"{rng.randint(0, 900)}.{i % 100:02d}"
    h = f"{i:040x}"
    yes = (
        f'{{"asset_id":"{m.yes}","price":"0.{price:02d}","size":"{size}","side":"{side}",'
        f'"hash":"{h}","best_bid":"0.{m.bid:02d}","best_ask":"0.{m.ask:02d}"}}'
    )
    other = "SELL" if side == "BUY" else "BUY"
    no = (
        f'{{"asset_id":"{m.no}","price":"0.{100 - price:02d}","size":"{size}","side":"{other}",'
        f'"hash":"{h}","best_bid":"0.{100 - m.ask:02d}","best_ask":"0.{100 - m.bid:02d}"}}'
    )
    return (
        f'{{"event_type":"price_change","market":"{m.condition}",'
        f'"price_changes":[{yes},{no}],"timestamp":"{ts_ms}"}}'
    )


def _book_dump(markets: list[_Market], ts_ms: int) -> list[str]:
    books = []
    for m in markets:
        for tok, bid, ask in ((m.yes, m.bid, m.ask), (m.no, 100 - m.ask, 100 - m.bid)):
            bids = [{"price": f"0.{p:02d}", "size": "100"} for p in range(max(1, bid - 4), bid + 1)]
            asks = [
                {"price": f"0.{p:02d}", "size": "100"} for p in range(min(99, ask + 4), ask - 1, -1)
            ]
            books.append(
                {"event_type": "book", "market": m.condition, "asset_id": tok, "bids": bids,
                 "asks": asks, "timestamp": str(ts_ms), "hash": "0x0", "tick_size": "0.01"}
            )  # fmt: skip
    return [
        json.dumps(books[i : i + 100], separators=(",", ":")) for i in range(0, len(books), 100)
    ]


def _ensemble(lat: float, lon: float, day: dt.date, hour_seed: int, extreme: str) -> bytes:
    rng = random.Random(hour_seed)
    var = "temperature_2m_max" if extreme == "highest" else "temperature_2m_min"
    daily: dict[str, Any] = {"time": [str(day + dt.timedelta(days=d)) for d in range(3)]}
    for k in range(MEMBERS):
        daily[f"{var}_member{k:02d}"] = [round(rng.gauss(15, 3), 1) for _ in range(3)]
    body = {"latitude": lat, "longitude": lon, "timezone": "UTC", "daily_units": {var: "°C"}}
    body["daily"] = daily
    return json.dumps(body, separators=(",", ":")).encode()


Item = tuple[float, str, Any]  # (seconds from start, kind, fields)


class _World:
    def __init__(self, cities: int, start_ns: int, rng: random.Random) -> None:
        self.cities = cities
        self.rng = rng
        self.t0 = start_ns
        self.specs = event_specs()
        self.markets = _markets(cities)
        self.shards = sorted({m.shard for m in self.markets})
        self.epoch = dict.fromkeys(self.shards, 1)
        self.frame_i = 0
        self.raw = collections.Counter[str]()
        self._events_day: dt.date | None = None
        self._events: list[dict[str, Any]] = []

    def day(self, sec: int) -> dt.date:
        return dt.datetime.fromtimestamp(self.t0 / 1e9 + sec, dt.UTC).date()

    def start(self) -> list[Item]:
        out: list[Item] = [
            (0, "feed", {"shard": s, "event": "connected", "epoch": 1}) for s in self.shards
        ]
        for text in _book_dump(self.markets, self.t0 // 10**6):
            out.append((0.01, "frame", (0, 1, text)))
        return out

    def frames(self, sec: int, rate: float) -> list[Item]:
        n = int(rate) + (self.rng.random() < rate % 1)
        out: list[Item] = []
        for j in range(n):
            m = self.markets[self.rng.randrange(len(self.markets))]
            t = sec + j / n
            text = _price_change(m, self.rng, self.t0 // 10**6 + int(t * 1000), self.frame_i)
            self.frame_i += 1
            self.raw["frame"] += len(text)
            out.append((t, "frame", (m.shard, self.epoch[m.shard], text)))
        return out

    def gamma(self, sec: int) -> list[Item]:
        day = self.day(sec)
        if self._events_day != day:
            self._events_day, self._events = day, gamma_events(self.cities, day)
        events = self._events
        for ev in events:
            for mk in ev["markets"]:  # prices move between pages (the pessimistic case)
                p = round(self.rng.random(), 3)
                mk["outcomePrices"] = f'["{p}", "{round(1 - p, 3)}"]'
        out: list[Item] = []
        for off in range(0, len(events), 100):
            body = msgspec.json.encode(events[off : off + 100])
            url = f"https://gamma-api.polymarket.com/events?tag_slug=weather&offset={off}"
            out.append((sec + 0.2, "http", _http("gamma", url, body)))
        return out

    def metars(self, sec: int) -> list[Item]:
        obs = dt.datetime.fromtimestamp(self.t0 / 1e9 + sec - sec % 1800, dt.UTC)
        delay = dt.timedelta(minutes=4)
        out: list[Item] = []
        for c in range(self.cities):  # a new report every 30 min; polls in between repeat it
            report = metar_record("KLGA", obs, 10.0 + (sec // 1800) % 7, "METAR", 3.0, True, delay)
            body = json.dumps([report]).encode()
            url = f"https://aviationweather.gov/api/data/metar?ids=K{c:03d}&format=json"
            out.append((sec + 0.3, "http", _http("aviationweather", url, body)))
        return out

    def forecasts(self, sec: int) -> list[Item]:
        out: list[Item] = []
        for c in range(self.cities):  # models update about hourly; polls in between repeat
            spec = self.specs[c % len(self.specs)]
            for ex in EXTREMES:
                body = _ensemble(spec.lat, spec.lon, self.day(sec), hash((c, ex, sec // 3600)), ex)
                url = f"https://ensemble-api.open-meteo.com/v1/ensemble?city={c}&extreme={ex}"
                out.append((sec + 0.4, "http", _http("open-meteo-ensemble", url, body)))
        return out

    def drop(self, sec: int) -> list[Item]:
        s = self.rng.choice(self.shards)
        old = self.epoch[s]
        self.epoch[s] += 1
        why = "reconnecting: synthetic drop"
        return [
            (sec, "feed", {"shard": s, "event": "disconnected", "epoch": old, "reason": why}),
            (sec, "blind", {"scope": f"shard-{s}", "state": "start", "reason": why}),
            (sec + 3, "feed", {"shard": s, "event": "connected", "epoch": old + 1}),
            (sec + 5, "blind", {"scope": f"shard-{s}", "state": "end", "reason": "live"}),
        ]

    def edge(self, sec: int) -> list[Item]:
        m = self.markets[self.rng.randrange(len(self.markets))]
        return [(sec + 0.5, "edge", {"type": "EdgeOpened", "data": {"token_id": m.yes}})]


def synthesize(
    root: Path,
    *,
    days: float = 1.0,
    cities: int = 30,
    frames_per_s: float = 20.0,
    start: str = "2026-11-01",
    seed: int = 1,
) -> dict[str, Any]:
    """Write the tape under ``root``; returns its size figures."""
    t0 = int(dt.datetime.fromisoformat(start).replace(tzinfo=dt.UTC).timestamp() * 1e9)
    world = _World(cities, t0, random.Random(seed))
    rec = Recorder(root, keep_days=10**4, max_disk_mb=10**9, flush_interval_s=FLUSH_S)
    counts = collections.Counter[str]()
    pending: list[Item] = [(0, "session", {"session": rec.session, "synthetic": True})]
    pending += world.start()
    for sec in range(int(days * 86400)):
        pending += world.frames(sec, frames_per_s)
        if sec % 60 == 0:
            pending += world.gamma(sec)
        if sec % 60 == 30:
            pending += world.metars(sec)
        if sec % 600 == 300:
            pending += world.forecasts(sec)
        if sec % 60 == 45:
            pending += world.edge(sec)
        if sec % 21600 == 10800:
            pending += world.drop(sec)
        pending.sort(key=lambda item: item[0])
        for half in (sec + FLUSH_S, sec + 1):  # one zstd frame per half second, as live
            due = [item for item in pending if item[0] < half]
            pending = pending[len(due) :]
            for t, kind, fields in due:
                rec.record_at(t0 + int(t * 1e9), 10**12 + int(t * 1e9), kind, fields)
                counts[kind] += 1
                if kind == "http":
                    world.raw[f"http {fields['source']}"] += len(fields["body"])
            rec.flush()
    size = sum(p.stat().st_size for p in root.glob("*/*.jsonl.zst"))
    return {
        "days": days,
        "cities": cities,
        "tokens": 2 * len(world.markets),
        "frames_per_s": frames_per_s,
        "records": dict(counts),
        "raw_bytes": dict(world.raw),
        "compressed_bytes": size,
        "bytes_per_day": int(size / days) if days else 0,
    }


def _http(source: str, url: str, body: bytes) -> dict[str, Any]:
    return {"source": source, "method": "GET", "url": url, "status": 200, "body": body}

"""The state document behind the status page (``GET /api/v1/state`` and each SSE update).

Built from what the running daemon holds in memory (catalogue, books, pricing, open episodes,
feed, jobs) plus two cheap reads of the database done off the loop (``webui/history.py``: when
each open edge was opened, recent decision latencies). Never includes configuration values, so
never a secret; the serialised text is additionally passed through the same redaction as the
logs.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from weatheredge import status as status_doc
from weatheredge.daemon import Daemon
from weatheredge.engine import Engine
from weatheredge.model.market import TemperatureEvent
from weatheredge.timestamps import utc_iso
from weatheredge.webui.history import History, RateMeter, percentiles

API_VERSION = 1
# At 10,000 events the whole catalogue was 6.5 MB per document (issue 13): the document holds
# one page of events (a phone shows a few dozen ladders anyway) and the best open edges.
EVENTS_PER_PAGE = 100
EDGES_PER_PAGE = 100
MAX_PER_PAGE = 1000


@dataclass(frozen=True, slots=True)
class Page:
    """Which slice of the catalogue and of the open edges a state document carries."""

    events_offset: int = 0
    events_limit: int = EVENTS_PER_PAGE
    edges_limit: int = EDGES_PER_PAGE

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> Page:
        """``?events_offset=&events_limit=&edges_limit=``; ValueError naming a bad one."""
        values = {}
        for name, default in (
            ("events_offset", 0),
            ("events_limit", EVENTS_PER_PAGE),
            ("edges_limit", EDGES_PER_PAGE),
        ):
            raw = query.get(name)
            try:
                value = default if raw is None else int(raw)
            except ValueError:
                raise ValueError(f"{name} must be an integer") from None
            top = 10**9 if name == "events_offset" else MAX_PER_PAGE
            if not 0 <= value <= top:
                raise ValueError(f"{name} must be between 0 and {top}")
            values[name] = value
        return cls(**values)


def _price(micros: int | None) -> float | None:
    return None if micros is None else round(micros / 1_000_000, 6)


def _level(level: tuple[int, int] | None) -> tuple[float | None, float | None]:
    """(price, size) of a best level, readable; (None, None) for none."""
    if level is None:
        return None, None
    return _price(level[0]), _price(level[1])


@dataclass
class StateBuilder:
    daemon: Daemon
    history: History
    meter: RateMeter = field(default_factory=RateMeter)
    first_seen: dict[str, float] = field(default_factory=dict)  # open token -> time.time()
    # The catalogue in page order, re-sorted only when the engine's catalogue changes; _order_of
    # is (the engine's catalogue dict, its size) when last sorted.
    _order: list[TemperatureEvent] = field(default_factory=list)
    _order_of: tuple[Mapping[str, TemperatureEvent] | None, int] = (None, -1)

    def build(self, page: Page | None = None) -> dict[str, Any]:
        page = page or Page()
        daemon = self.daemon
        base = status_doc.status_document(daemon)
        engine = daemon.engine
        now = time.time()
        trading = _trading(daemon)
        if isinstance(trading.get("positions"), dict):
            trading["positions"] = _positions(engine, trading["positions"])
        counters = base["engine"].get("counters", {}) if isinstance(base["engine"], dict) else {}
        frames = int(counters.get("frames", 0) or 0)
        rate = self.meter.observe(frames)
        if isinstance(base["feed"].get("messages_per_s"), int | float):
            rate = base["feed"]["messages_per_s"]  # the feed's own meter, when it keeps one
        events = self._ordered(engine)
        edges = self._edges(engine, now)
        return {
            "api_version": API_VERSION,
            "now": utc_iso(dt.datetime.now(dt.UTC)),
            "mode": base["mode"],
            "config": base.get("config", {}),  # version, load time, "rejected" and why
            # Manual halt (switch, CLI) or the trader's own automatic halt (stale data).
            "halted": bool(daemon.halted or trading.get("halted")),
            "started_at": base["started_at"],
            "uptime_s": base["uptime_s"],
            "health": {
                "ok": base["healthy"],
                "state": base["health"]["state"],  # starting, healthy, degraded, unhealthy
                "problems": base["health"]["problems"],
                "waiting_for": base["health"]["waiting_for"],
                "degraded": base["degraded"],
            },
            "feed": {
                "shards": _shards(base["feed"]),
                "mode": base["feed"].get("mode"),
                "messages_per_s": rate,
                "frames": frames,
                "books_synced": base["engine"].get("books_synced", 0),
                "tokens": base["engine"].get("tokens", 0),
                "bad_frames": base["engine"].get("bad_frames", {}),
            },
            "latency": _latency(base["engine"], self.history),
            "observations": base.get("observations", {}),
            "jobs": base["jobs"],
            "events": self._events(
                engine,
                events[page.events_offset : page.events_offset + page.events_limit],
                _stale(daemon),
            ),
            "events_total": len(events),
            "events_offset": page.events_offset,
            "events_limit": page.events_limit,
            "edges": edges[: page.edges_limit],
            "edges_total": len(edges),
            "trading": trading,
            "store": base["store"],
            "notify": base["notify"],
            "model": base.get("model", {}),  # station schedules, settlement agreement
            "tape": base["tape"],
        }

    def _ordered(self, engine: Engine) -> list[TemperatureEvent]:
        src, size = self._order_of
        catalogue = engine.market.events()
        if src is not catalogue or size != len(catalogue):
            self._order = sorted(catalogue.values(), key=lambda e: (e.date, e.city, e.title))
            self._order_of = (catalogue, len(catalogue))
        return self._order

    def _events(
        self, engine: Engine, page: list[TemperatureEvent], stale: dict[str, str]
    ) -> list[dict[str, Any]]:
        out = []
        market = engine.market
        open_keys = set(market.open_edges())
        for event in page:
            pricing = market.pricing(event.event_id)
            age = market.forecast_age(event.event_id)
            probs = pricing.probs if pricing is not None else {}
            buckets = []
            for m in event.markets:
                (bid, bid_size), (ask, ask_size) = map(_level, market.best(m.yes_token))
                no_ask, no_ask_size = _level(market.best(m.no_token)[1])
                last = market.last_trade(m.yes_token)
                buckets.append(
                    {
                        "market_id": m.market_id,
                        "label": m.label,
                        "prob": probs.get(m.market_id),
                        "bid": bid,
                        "bid_size": bid_size,
                        "ask": ask,
                        "ask_size": ask_size,
                        "no_ask": no_ask,
                        "no_ask_size": no_ask_size,
                        "last": float(last) if last is not None else None,
                        "synced": market.synced(m.yes_token),
                        "edge": (
                            "YES"
                            if m.yes_token in open_keys
                            else "NO"
                            if m.no_token in open_keys
                            else None
                        ),
                    }
                )
            out.append(
                {
                    "event_id": event.event_id,
                    "slug": event.slug,
                    "title": event.title,
                    "city": event.city,
                    "date": event.date.isoformat(),
                    "extreme": event.rule.extreme.value,
                    "unit": event.rule.unit.value,
                    "priced": pricing is not None,
                    "why_unpriced": stale.get(event.event_id),  # "awaiting today's reports"
                    "forecast_age_s": round(age, 1) if age is not None else None,
                    "buckets": buckets,
                }
            )
        return out

    def _edges(self, engine: Engine, now: float) -> list[dict[str, Any]]:
        market = engine.market
        open_keys = market.open_edges()
        for key in list(self.first_seen):
            if key not in open_keys:
                del self.first_seen[key]
        out = []
        for key in open_keys:
            ref = market.ref(key)
            if ref is None or market.pricing(ref.event.event_id) is None:
                continue
            self.first_seen.setdefault(key, now)
            p = market.fresh_probability(key)
            if p is None or market.book(key) is None:
                continue
            q = market.quote(key)
            opened = self.history.opened_at.get(key)
            opened_ts = (
                dt.datetime.fromisoformat(opened.replace("Z", "+00:00")).timestamp()
                if opened
                else self.first_seen[key]
            )
            out.append(
                {
                    "event_id": ref.event.event_id,
                    "market_id": ref.market.market_id,
                    "city": ref.event.city,
                    "date": ref.event.date.isoformat(),
                    "bucket": ref.market.label,
                    "side": ref.side.value,
                    "ask": _price(q.price) if q else None,
                    "size": _price(q.size) if q else None,
                    "prob": round(p, 4),
                    "edge": round(q.edge, 4) if q else None,
                    "opened_at": opened,
                    "age_s": round(max(0.0, now - opened_ts), 1),
                }
            )
        out.sort(key=lambda e: -(e["edge"] or 0))
        return out


def _shards(feed: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per market-channel connection, whatever shape the feed reports."""
    if isinstance(feed.get("shards"), list):
        shards = feed["shards"]
    elif isinstance(feed.get("connections"), list):
        shards = feed["connections"]
    else:
        shards = [feed]
    out = []
    for i, shard in enumerate(shards):
        if not isinstance(shard, dict):
            continue
        entry = {"shard": shard.get("shard", shard.get("id", i))}
        entry.update(shard)
        if "state" not in entry:
            mode = shard.get("mode")
            connected = shard.get("connected")
            entry["state"] = mode if mode else ("connected" if connected else "disconnected")
        out.append(entry)
    return out


def _stale(daemon: Daemon) -> dict[str, str]:
    return dict(daemon.ctx.live.stale)


def _latency(engine_status: object, history: History) -> dict[str, Any]:
    """Latency figures: the engine's frame-to-decision histogram when it keeps one (every
    frame), and the nearest-rank percentiles of recent edge openings from the database."""
    out: dict[str, Any] = {"edges": {"source": "edge openings, last 24 h"}}
    out["edges"].update(percentiles(history.latencies))
    own = engine_status.get("latency") if isinstance(engine_status, dict) else None
    if isinstance(own, dict) and own.get("count"):
        out["frames"] = {
            "source": "price_change frames, receive to decision (bucket bounds, capped at the max)",
            "samples": own.get("count"),
            "p50_us": own.get("p50_us_le", own.get("p50_us")),
            "p99_us": own.get("p99_us_le", own.get("p99_us")),
            "p999_us": own.get("p999_us_le", own.get("p999_us")),
            "max_us": own.get("max_us"),
            "mean_us": own.get("mean_us"),
        }
    return out


def _positions(engine: Engine, positions: dict[str, Any]) -> list[dict[str, Any]]:
    """token -> {shares, avg_price} made readable: which city, day, bucket and side."""
    out = []
    for token, pos in positions.items():
        ref = engine.market.ref(token)
        row: dict[str, Any] = {}
        if ref is not None:
            row.update(
                city=ref.event.city,
                date=ref.event.date.isoformat(),
                bucket=ref.market.label,
                side=ref.side.value,
            )
        else:
            row["token"] = token[:12] + "…"
        if isinstance(pos, dict):
            row.update(pos)
        bid = _level(engine.market.best(token)[0])[0]
        row["bid"] = bid
        out.append(row)
    return out


def _trading(daemon: Daemon) -> dict[str, Any]:
    trading = daemon.trading
    if trading is not None:
        try:
            doc = trading.status()
        except Exception as err:  # never let a trading bug take the page down
            return {"available": False, "reason": f"trading status failed: {type(err).__name__}"}
        if isinstance(doc, dict):
            return {"available": True, **doc}
    return {
        "available": False,
        "reason": f"no trading data in {daemon.settings.mode.value} mode",
    }

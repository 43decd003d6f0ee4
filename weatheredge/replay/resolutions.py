"""The venue's resolutions as the tape shows them: ``market_resolved`` frames and the Gamma
answers of the settlement job's venue check (``/events/slug/…``: markets ``closed`` with their
``outcomePrices``).

Used to score (a bucket's outcome for Brier and log loss) and to value the positions a
backtest still holds when it ends, never by a decision: the replay's own trader settles only
through the daemon's paths (the frames through the Engine, Gamma through ``settle_events``).
So a resolution read after ``--to`` (the rest of the tape is scanned for them) is fair game.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from weatheredge.polymarket.gamma import resolved_yes
from weatheredge.polymarket.gamma_wire import decode_gamma_event
from weatheredge.tape.reader import FrameRecord

_RESOLVED = "market_resolved"
LOOKAHEAD_NS = 3 * 86_400 * 1_000_000_000  # how far past --to the tape is read for them


@dataclass
class Resolutions:
    """market id -> 1 when its YES won, 0 when its NO won; and when the tape first said so."""

    outcome: dict[str, int] = field(default_factory=dict)
    at_ns: dict[str, int] = field(default_factory=dict)
    event_of: dict[str, str] = field(default_factory=dict)  # market id -> event id, when told
    decided: set[str] = field(default_factory=set)  # events with a bucket resolved YES

    def frame(self, raw: str | bytes, wall_ns: int) -> None:
        """One market frame (the replay's hot loop hands frames here without a dict)."""
        if isinstance(raw, str) and _RESOLVED in raw:
            self._frame(raw, wall_ns)

    def feed(self, rec: Mapping[str, Any] | FrameRecord) -> None:
        if type(rec) is FrameRecord:
            self.frame(rec.raw, rec.wall_ns)
            return
        kind = rec.get("kind")
        if kind == "frame":
            raw = rec.get("raw")
            if isinstance(raw, str) and _RESOLVED in raw:
                self._frame(raw, int(rec.get("wall_ns", 0)))
        elif kind == "http" and rec.get("source") == "gamma" and rec.get("status") == 200:
            if "/events/slug/" in str(rec.get("url", "")) and rec.get("body"):
                self._gamma(str(rec["body"]), int(rec.get("wall_ns", 0)))

    def scan(self, records: Iterable[Mapping[str, Any] | FrameRecord], until_ns: int) -> None:
        """The rest of a tape after a replay's ``--to``, up to ``until_ns``: resolutions of
        what was traded before the cut (events resolve a day or two after their date)."""
        for rec in records:
            wall = rec.wall_ns if type(rec) is FrameRecord else rec.get("wall_ns", 0)
            if wall > until_ns:
                break
            self.feed(rec)

    def _set(self, market_id: str, yes_won: bool, at_ns: int, event_id: str | None) -> None:
        if market_id not in self.outcome:
            self.outcome[market_id] = int(yes_won)
            self.at_ns[market_id] = at_ns
        if event_id:
            self.event_of[market_id] = event_id
            if yes_won:
                self.decided.add(event_id)

    def _frame(self, raw: str, at_ns: int) -> None:
        try:
            value = json.loads(raw)
        except ValueError:
            return
        for item in value if isinstance(value, list) else [value]:
            if not isinstance(item, dict) or item.get("event_type") != _RESOLVED:
                continue
            market_id, won = item.get("id"), str(item.get("winning_outcome", "")).lower()
            if not market_id or won not in ("yes", "no"):
                continue
            event = item.get("event_message") or {}
            event_id = event.get("id") if isinstance(event, dict) else None
            self._set(str(market_id), won == "yes", at_ns, event_id and str(event_id))

    def _gamma(self, body: str, at_ns: int) -> None:
        try:
            event = decode_gamma_event(body.encode())
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
            return
        for market in event.markets or []:
            won = resolved_yes(market)
            if won is not None:
                self._set(str(market.id), won, at_ns, str(event.id))

    def outcome_of(self, market_id: str, event_id: str | None) -> int | None:
        """A bucket's outcome: its own resolution, else 0 when another bucket of its event
        resolved YES (an event has one winner)."""
        if market_id in self.outcome:
            return self.outcome[market_id]
        return 0 if event_id in self.decided else None

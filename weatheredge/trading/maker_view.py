"""What maker mode reads beyond :class:`~weatheredge.trading.view.MarketView`: the events to
quote, which of them changed, and when each event's station files its next report.

Kept apart from ``view.py`` so that every engine and model read of the maker is in one place.
The engine calls :meth:`EngineMakerView.touched` (its ``on_evaluate`` hook) from the hot path:
it only records the event id and wakes the trader.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from weatheredge.engine import Engine
from weatheredge.model.live import LiveState
from weatheredge.model.market import TemperatureEvent
from weatheredge.model.report_schedule import (
    PollTiming,
    StationSchedule,
    expected_publication,
    learn_schedule,
)


class MakerInputs(Protocol):
    def event(self, event_id: str) -> TemperatureEvent | None: ...
    def changed(self) -> set[str]: ...  # event ids re-evaluated since the last call
    def report_due(self, event_id: str) -> float | None: ...  # epoch s; None: not observed
    def listen(self, on: bool) -> None: ...  # whether the hot path tells us (only while quoting)


class EngineMakerView:
    def __init__(
        self,
        engine: Engine,
        live: LiveState | None = None,
        timing: PollTiming | None = None,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self._engine = engine
        self._live = live
        self._timing = timing or PollTiming()
        self._wake = wake
        self._changed: set[str] = set()
        self._schedules: dict[str, tuple[int, StationSchedule]] = {}
        self._listening = True
        engine.watch_evaluations(self.touched)

    def listen(self, on: bool) -> None:
        """Hook the engine's evaluations only while quoting: in taker mode (the default) the
        hot path calls nothing. Starting to listen marks every event changed, so a switch to
        maker quotes at once rather than at each event's next book change."""
        if on == self._listening:
            return
        self._listening = on
        self._engine.watch_evaluations(self.touched if on else None)
        if on:
            self._changed.update(self._engine.market.events())
        else:
            self._changed.clear()

    def touched(self, event_id: str) -> None:
        """Hot path: an event's books or prices changed."""
        self._changed.add(event_id)
        self._wake()

    def set_wake(self, wake: Callable[[], None]) -> None:
        self._wake = wake

    def event(self, event_id: str) -> TemperatureEvent | None:
        return self._engine.market.event(event_id)

    def changed(self) -> set[str]:
        out, self._changed = self._changed, set()
        return out

    def all_events(self) -> Iterable[str]:
        return list(self._engine.market.events())

    def report_due(self, event_id: str) -> float | None:
        """When the next routine report of the event's station should be published (learnt
        schedule), as long as it is not in hand; None for a station we do not observe."""
        event = self.event(event_id)
        station = None if event is None else event.rule.station
        if station is None or self._live is None:
            return None
        reports = self._live.station_reports(station)
        if not reports:
            return None
        cached = self._schedules.get(station)
        if cached is None or cached[0] != len(reports):
            cached = (len(reports), learn_schedule(reports))
            self._schedules[station] = cached
        routine = [o.observed_at for o in reports if o.kind == "METAR"]
        now = self._engine.clock.now()
        due = expected_publication(cached[1], now, max(routine) if routine else None, self._timing)
        return due.timestamp()

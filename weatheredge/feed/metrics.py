"""Feed metrics: the Prometheus exposition (prometheus_client is imported only when ``/metrics``
is scraped) and the frame-rate meter. The hot path's latency histogram lives in the leaf
:mod:`weatheredge.metrics_core`, so the engine does not import the feed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Labelled = float | Mapping[Any, float]


def _family(kind: str, name: str, help_text: str, values: Labelled) -> Any:
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    if not isinstance(values, Mapping):
        cls = CounterMetricFamily if kind == "counter" else GaugeMetricFamily
        return cls(name, help_text, value=values)
    items = list(values.items())
    # A key is one ("label", "value") pair or a tuple of them.
    pairs = [k if isinstance(k[0], tuple) else (k,) for k, _ in items]
    labels = [label for label, _ in pairs[0]] if pairs else []
    family = (CounterMetricFamily if kind == "counter" else GaugeMetricFamily)(
        name, help_text, labels=labels
    )
    for key, (_, value) in zip(pairs, items, strict=True):
        family.add_metric([v for _, v in key], value)
    return family


def counter(name: str, help_text: str, values: Labelled) -> Any:
    return _family("counter", name, help_text, values)


def gauge(name: str, help_text: str, values: Labelled) -> Any:
    return _family("gauge", name, help_text, values)


def exposition(families: list[Any]) -> str:
    """Prometheus text format 0.0.4 of ready-made families."""
    from prometheus_client import CollectorRegistry, generate_latest

    class _Snapshot:
        def collect(self) -> list[Any]:
            return families

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot())  # type: ignore[arg-type]
    return generate_latest(registry).decode()


class RateMeter:
    """Messages per second over the last window, sampled by a periodic tick."""

    __slots__ = ("_last_count", "_last_t", "rate")

    def __init__(self) -> None:
        self._last_count: int | None = None
        self._last_t = 0.0
        self.rate = 0.0

    def sample(self, count: int, now: float) -> None:
        if self._last_count is not None and now > self._last_t:
            instant = (count - self._last_count) / (now - self._last_t)
            self.rate = instant if self.rate == 0.0 else 0.5 * self.rate + 0.5 * instant
        self._last_count, self._last_t = count, now

"""Feed metrics: a cheap latency histogram for the hot path and the Prometheus exposition.

The engine imports ``LatencyHistogram`` on the hot path: prometheus_client is imported only when
``/metrics`` is scraped, and the figures stay plain integers until then.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Bucket i holds latencies below 2**i microseconds (bucket 0: < 1 µs); the last is +Inf.
BUCKETS = 22  # up to ~2 s


class LatencyHistogram:
    """Receive-to-decision latency, power-of-two microsecond buckets; O(1) per observation."""

    __slots__ = ("count", "counts", "max_ns", "sum_ns")

    def __init__(self) -> None:
        self.counts = [0] * BUCKETS
        self.count = 0
        self.sum_ns = 0
        self.max_ns = 0

    def observe(self, ns: int) -> None:
        index = (ns >> 10).bit_length()  # ns >> 10 ≈ µs; bit_length: 0 -> <1 µs, 1 -> <2 µs…
        if index >= BUCKETS:
            index = BUCKETS - 1
        self.counts[index] += 1
        self.count += 1
        self.sum_ns += ns
        if ns > self.max_ns:
            self.max_ns = ns

    @staticmethod
    def upper_bound_s(index: int) -> float:
        """The bucket's upper bound in seconds (1.024 µs granularity as 2**i * 1024 ns)."""
        return (1 << index) * 1024 / 1e9

    def quantile_us(self, q: float) -> float | None:
        """Estimated quantile in µs (upper bound of the bucket that holds it)."""
        if not self.count:
            return None
        rank = q * self.count
        seen = 0
        for index, n in enumerate(self.counts):
            seen += n
            if seen >= rank:
                # A bucket's bound can exceed every observation: never report past the max.
                return round(min(self.upper_bound_s(index) * 1e9, self.max_ns) / 1000, 1)
        return round(self.max_ns / 1000, 1)

    def summary(self) -> dict[str, object]:
        return {
            "count": self.count,
            "mean_us": round(self.sum_ns / self.count / 1000, 1) if self.count else None,
            "p50_us_le": self.quantile_us(0.50),
            "p99_us_le": self.quantile_us(0.99),
            "p999_us_le": self.quantile_us(0.999),
            "max_us": round(self.max_ns / 1000, 1),
        }

    def family(self, name: str, help_text: str) -> Any:
        """This histogram as a prometheus_client family (cumulative power-of-two buckets)."""
        from prometheus_client.core import HistogramMetricFamily

        buckets, cumulative = [], 0
        for index, n in enumerate(self.counts[:-1]):
            cumulative += n
            buckets.append((f"{self.upper_bound_s(index):.9g}", cumulative))
        buckets.append(("+Inf", self.count))
        return HistogramMetricFamily(name, help_text, buckets=buckets, sum_value=self.sum_ns / 1e9)


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

"""The hot path's latency histogram: plain integers, O(1) per observation, standard library only.

A leaf module, so the engine records latency without importing the feed; the feed's
``/metrics`` renders it through prometheus_client at scrape time (``family``).
"""

from __future__ import annotations

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

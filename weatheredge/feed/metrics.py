"""Feed metrics: a cheap latency histogram for the hot path and the Prometheus text exposition.

Standard library only: the engine imports ``LatencyHistogram`` on the hot path.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

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
                return round(self.upper_bound_s(index) * 1e6, 1)
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

    def prometheus(self, name: str, help_text: str) -> list[str]:
        lines = [f"# HELP {name} {help_text}", f"# TYPE {name} histogram"]
        cumulative = 0
        for index, n in enumerate(self.counts[:-1]):
            cumulative += n
            lines.append(f'{name}_bucket{{le="{self.upper_bound_s(index):.9g}"}} {cumulative}')
        lines.append(f'{name}_bucket{{le="+Inf"}} {self.count}')
        lines.append(f"{name}_sum {self.sum_ns / 1e9:.9g}")
        lines.append(f"{name}_count {self.count}")
        return lines


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(labels: Mapping[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(str(v))}"' for k, v in labels.items()) + "}"


class Exposition:
    """Builds Prometheus text format 0.0.4, one family at a time."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(
        self,
        name: str,
        kind: str,
        help_text: str,
        samples: Iterable[tuple[Mapping[str, str], float]],
    ) -> None:
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            self.lines.append(f"{name}{_labels(labels)} {_number(value)}")

    def scalar(self, name: str, kind: str, help_text: str, value: float) -> None:
        self.family(name, kind, help_text, [({}, value)])

    def extend(self, lines: Iterable[str]) -> None:
        self.lines.extend(lines)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _number(value: float) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    return f"{value:.9g}"


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

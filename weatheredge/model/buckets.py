"""Bucket labels, units and the rounding rules that turn a temperature into a settled integer.

A label such as ``44-45°F`` means the settled integer is 44 or 45; ``43°F or below`` means
``<= 43``; ``12°C`` means exactly 12. The settled integer comes from the resolution source's
rounding rule: half-up for whole-degree sources (``floor(x + 0.5)``, not Python's banker's
``round``), floor for one-decimal sources such as the Hong Kong Observatory.
"""

from __future__ import annotations

import enum
import itertools
import math
import re
from dataclasses import dataclass


class Unit(enum.StrEnum):
    F = "F"
    C = "C"


class Rounding(enum.StrEnum):
    HALF_UP = "half_up"
    FLOOR = "floor"


@dataclass(frozen=True, slots=True)
class Bucket:
    """Inclusive range of settled integers; ``None`` is an open tail."""

    lo: int | None
    hi: int | None
    unit: Unit

    def contains(self, value: int) -> bool:
        return (self.lo is None or value >= self.lo) and (self.hi is None or value <= self.hi)

    def preimage(self, rounding: Rounding) -> tuple[float, float]:
        """Continuous interval [a, b) of raw temperatures that settle inside this bucket."""
        shift = 0.5 if rounding is Rounding.HALF_UP else 0.0
        lo = -math.inf if self.lo is None else self.lo - shift
        hi = math.inf if self.hi is None else self.hi + 1 - shift
        return lo, hi

    def label(self) -> str:
        deg = f"°{self.unit.value}"
        if self.lo is None:
            return f"{self.hi}{deg} or below"
        if self.hi is None:
            return f"{self.lo}{deg} or higher"
        if self.lo == self.hi:
            return f"{self.lo}{deg}"
        return f"{self.lo}-{self.hi}{deg}"


_NUM = r"([-−–]?\d+)"
_UNIT = r"\s*°?\s*([FC])"
_RANGE = re.compile(rf"^{_NUM}\s*(?:-|–|—|to)\s*{_NUM}{_UNIT}$", re.IGNORECASE)
_SINGLE = re.compile(rf"^{_NUM}{_UNIT}$", re.IGNORECASE)
_BELOW = re.compile(rf"^{_NUM}{_UNIT}\s+or\s+(?:below|lower|less)$", re.IGNORECASE)
_ABOVE = re.compile(rf"^{_NUM}{_UNIT}\s+or\s+(?:above|higher|more)$", re.IGNORECASE)
_LE = re.compile(rf"^(?:≤|<=)\s*{_NUM}{_UNIT}$", re.IGNORECASE)
_GE = re.compile(rf"^(?:≥|>=)\s*{_NUM}{_UNIT}$", re.IGNORECASE)


# Bounds a settled temperature can physically take (Earth's records are about -128 °F and
# 134 °F): a label beyond them is garbage or hostile, and a 400-digit bound would overflow float
# arithmetic in the bucket preimage and the SQLite INTEGER columns further down.
PHYSICAL_RANGE: dict[Unit, tuple[int, int]] = {Unit.F: (-100, 150), Unit.C: (-73, 65)}


def _int(text: str) -> int:
    return int(text.replace("−", "-").replace("–", "-"))


def _short(value: int) -> str:
    text = str(value)
    return text if len(text) <= 12 else f"{text[:10]}…({len(text)} digits)"


def bounds_problem(bucket: Bucket) -> str | None:
    """Why a bucket bound lies outside :data:`PHYSICAL_RANGE`, or None."""
    low, high = PHYSICAL_RANGE[bucket.unit]
    for bound in (bucket.lo, bucket.hi):
        if bound is not None and not low <= bound <= high:
            unit = bucket.unit.value
            return f"bound {_short(bound)}°{unit} outside the physical range {low}…{high}°{unit}"
    return None


def parse_bucket_label(label: str) -> Bucket:
    """Parse a Gamma ``groupItemTitle`` such as ``44-45°F`` into a Bucket.

    Raises ValueError naming the label when it matches no known form or a bound lies outside
    :data:`PHYSICAL_RANGE`.
    """
    bucket = _parse(label)
    if problem := bounds_problem(bucket):
        raise ValueError(problem)
    return bucket


def _parse(label: str) -> Bucket:
    text = " ".join(label.strip().split())
    if m := _BELOW.match(text) or _LE.match(text):
        return Bucket(None, _int(m.group(1)), Unit(m.group(2).upper()))
    if m := _ABOVE.match(text) or _GE.match(text):
        return Bucket(_int(m.group(1)), None, Unit(m.group(2).upper()))
    if m := _RANGE.match(text):
        lo, hi = _int(m.group(1)), _int(m.group(2))
        if lo > hi:
            raise ValueError(f"bucket range upside down: {label!r}")
        return Bucket(lo, hi, Unit(m.group(3).upper()))
    if m := _SINGLE.match(text):
        value = _int(m.group(1))
        return Bucket(value, value, Unit(m.group(2).upper()))
    raise ValueError(f"unrecognised bucket label: {label!r}")


def half_up(x: float) -> int:
    """Round half toward +infinity, as the NOAA table (``Math.round``) and WU do."""
    return math.floor(x + 0.5)


def settle(value: float, rounding: Rounding) -> int:
    """Settled integer for a raw temperature already in the market's unit."""
    return half_up(value) if rounding is Rounding.HALF_UP else math.floor(value)


def c_to_f(celsius: float) -> float:
    return celsius * 9.0 / 5.0 + 32.0


def settle_from_celsius(celsius: float, unit: Unit, rounding: Rounding) -> int:
    """Settled integer from a METAR temperature in °C (tenths from the T-group when present).

    °F markets: tenths °C -> °F -> half-up (reproduces WU and the NOAA hourly table).
    °C markets: the value is rounded in °C by the market's own rule.
    """
    value = c_to_f(celsius) if unit is Unit.F else celsius
    # Guard binary noise such as 11.7 * 1.8 + 32 = 53.059999…: 6 decimals are far finer than any
    # source's precision, and without this a true .5 could round the wrong way.
    return settle(round(value, 6), rounding)


def validate_ladder(buckets: list[Bucket]) -> str | None:
    """Return why the buckets do not form one gap-free partition of the integers, or None."""
    if not buckets:
        return "no buckets"
    units = {b.unit for b in buckets}
    if len(units) != 1:
        return "mixed units"
    ordered = sorted(buckets, key=lambda b: -math.inf if b.lo is None else b.lo)
    if ordered[0].lo is not None or ordered[-1].hi is not None:
        return "ladder lacks an open tail"
    for prev, nxt in itertools.pairwise(ordered):
        if prev.hi is None or nxt.lo is None or nxt.lo != prev.hi + 1:
            return f"gap or overlap between {prev.label()} and {nxt.label()}"
    return None

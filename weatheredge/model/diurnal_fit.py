"""Each station's diurnal shape, learnt from its own reports and settled days (issue 10 §4).

For highs and lows separately: the hour the day's extreme is usually reported (the peak for
highs, the trough for lows) and its day-to-day spread, the day's range (max - min of the
reports) and its variability, and the share of days on which a report after hour ``h`` still
beat the running extreme at ``h`` ("how much of the day's extreme is still to come", one value
per local hour 0..24).

With little history everything is shrunk toward the global prior: a station with ``n`` usable
days gets weight ``n / (n + shrink_days)`` on its own figures. Pure, stdlib only.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace

from weatheredge.model.conditioning import still_open
from weatheredge.model.intraday import DEFAULT_DIURNAL, DiurnalPrior

MIN_REPORTS = 12  # a day with fewer reports says little about its shape
_MIN_SD = 0.5  # h: never claim the extreme comes at one exact hour


@dataclass(frozen=True, slots=True)
class DiurnalShape:
    extreme: str  # "max" | "min"
    hour: float  # usual local hour of the day's extreme report
    hour_sd: float
    amplitude_c: float  # mean max - min of the day's reports, °C
    amplitude_cv: float
    still_open: tuple[float, ...]  # P(a later report beats the running extreme), hours 0..24
    days: int  # station days behind the fit (0: the global prior)

    def open_at(self, local_hour: float) -> float:
        h = min(max(local_hour, 0.0), 24.0)
        i = min(int(h), 23)
        a, b = self.still_open[i], self.still_open[i + 1]
        return a + (b - a) * (h - i)

    def prior(self, base: DiurnalPrior = DEFAULT_DIURNAL) -> DiurnalPrior:
        """The intraday model's prior for highs, with this station's peak and range."""
        return replace(
            base,
            peak_hour=self.hour,
            peak_sd=self.hour_sd,
            amplitude_c=self.amplitude_c,
            amplitude_cv=self.amplitude_cv,
        )


def global_shape(extreme: str) -> DiurnalShape:
    """The prior every station starts from (the defaults the model used before learning)."""
    table = tuple(still_open(extreme, float(h)) for h in range(25))
    hour = DEFAULT_DIURNAL.peak_hour if extreme == "max" else DEFAULT_DIURNAL.trough_hour
    return DiurnalShape(
        extreme,
        hour,
        DEFAULT_DIURNAL.peak_sd,
        DEFAULT_DIURNAL.amplitude_c,
        DEFAULT_DIURNAL.amplitude_cv,
        table,
        0,
    )


def fit_shape(
    days: Sequence[Sequence[tuple[float, float]]],
    extreme: str,
    *,
    prior: DiurnalShape | None = None,
    shrink_days: float = 10.0,
) -> DiurnalShape:
    """Shape from settled days, each a list of ``(local hour, temperature °C)`` reports."""
    prior = prior or global_shape(extreme)
    usable = [sorted(d) for d in days if len(d) >= MIN_REPORTS]
    n = len(usable)
    if n == 0:
        return prior
    hours, ranges, opens = [], [], [0.0] * 25
    sign = 1.0 if extreme == "max" else -1.0
    for day in usable:
        best = max(day, key=lambda r: (sign * r[1], -r[0]))  # the first report to set it
        hours.append(best[0])
        temps = [t for _, t in day]
        ranges.append(max(temps) - min(temps))
        for h in range(25):
            before = [sign * t for hr, t in day if hr <= h]
            after = [sign * t for hr, t in day if hr > h]
            if after and (not before or max(after) > max(before)):
                opens[h] += 1.0
    w = n / (n + shrink_days)
    hour_var = statistics.pvariance(hours) if n > 1 else prior.hour_sd**2
    mean_range = statistics.fmean(ranges)
    cv = statistics.pstdev(ranges) / mean_range if n > 1 and mean_range > 0 else prior.amplitude_cv
    return DiurnalShape(
        extreme,
        w * statistics.fmean(hours) + (1 - w) * prior.hour,
        max(_MIN_SD, math.sqrt(w * hour_var + (1 - w) * prior.hour_sd**2)),
        max(0.5, w * mean_range + (1 - w) * prior.amplitude_c),
        max(0.05, w * cv + (1 - w) * prior.amplitude_cv),
        tuple(
            (opens[h] + shrink_days * prior.still_open[h]) / (n + shrink_days) for h in range(25)
        ),
        n,
    )

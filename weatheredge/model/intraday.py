"""The max still to come today, ``Z``, from the forecast and the latest report (weather.md §3.6).

A day's temperature is modelled as a smooth diurnal curve plus a report-level deviation::

    T(t) = X - A * s(t; P) + e        s = 0 at the peak hour P, 1 at the night-time trough

``X`` is the day's peak level (its prior is the calibrated forecast ``N(mu, sigma)`` of the
settled maximum), ``A`` the trough-to-peak amplitude (a prior ``N(A0, (cv*A0)^2)``), ``P`` the
peak hour (a prior ``N(P0, peak_sd^2)`` on a half-hour grid) and ``e ~ N(0, noise^2)``.

The latest report ``T(h)`` is one linear observation of ``(X, A)``: for each peak hour on the
grid the joint posterior is a two-dimensional Gaussian update (closed form), weighted by how
likely that peak hour makes the report. The remaining reports' maximum is then

    Z = X - A * s_min + e_z        s_min = min of s over the hours still to come

so ``Z`` is the (updated) forecast while the peak is still ahead and the falling curve after it.
``P(Z <= z)`` is a mixture of normals over the peak-hour grid. Its spread shrinks through the day
by itself: a warm morning shifts the whole distribution up, a report falling after the peak
pulls it below the running maximum. Before sunrise ``s = 1`` with an uncertain amplitude, so the
report barely moves the forecast.

The priors are deliberately simple: one global default (peak 15:00 local, amplitude 7 °C) with a
per-station override table (:data:`STATION_DIURNAL`), meant to be learnt from each station's own
reports later. Only the daily maximum is modelled; lows keep :func:`conditioning.still_open`.
Pure, stdlib only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from weatheredge.model.buckets import Unit


@dataclass(frozen=True, slots=True)
class DiurnalPrior:
    """A station's typical day, in local hours and °C (scaled to °F where needed)."""

    peak_hour: float = 15.0  # climatological hour of the daily maximum
    peak_sd: float = 1.5  # h, day-to-day spread of the peak hour
    trough_hour: float = 6.0  # ~sunrise: the curve starts rising here
    fall_hours: float = 14.0  # from the peak back down to the next trough
    amplitude_c: float = 7.0  # mean trough-to-peak range, °C (inland airports 6-9, coasts 4-6)
    amplitude_cv: float = 0.35  # day-to-day coefficient of variation of the range
    noise_c: float = 0.6  # °C, one report's deviation from the smooth curve (clouds, gusts)


DEFAULT_DIURNAL = DiurnalPrior()
# Per-station overrides; the peak hours are climatological (weather.md §3.6, Zeus cities.json).
STATION_DIURNAL: dict[str, DiurnalPrior] = {
    "KLGA": replace(DEFAULT_DIURNAL, peak_hour=15.8),
    "KATL": replace(DEFAULT_DIURNAL, peak_hour=17.6),
    "KSEA": replace(DEFAULT_DIURNAL, peak_hour=13.8),
}
_GRID_STEP = 0.5  # h
_GRID_HALF = 6  # grid points each side of the prior peak hour (±3 h)
_REPORT_CADENCE = 1.0  # h between routine reports


def diurnal_prior(icao: str | None) -> DiurnalPrior:
    """The station's override if there is one, else the global default."""
    return STATION_DIURNAL.get(icao or "", DEFAULT_DIURNAL)


def deficit(hour: float, peak: float, prior: DiurnalPrior) -> float:
    """``s(t)``: how far below the day's peak the smooth curve is, as a share of the amplitude."""
    trough = min(prior.trough_hour, peak - 1.0)
    if hour <= trough:
        return 1.0
    if hour <= peak:
        return 0.5 * (1.0 + math.cos(math.pi * (hour - trough) / (peak - trough)))
    after = min(hour - peak, prior.fall_hours)
    return 0.5 * (1.0 - math.cos(math.pi * after / prior.fall_hours))


def _phi(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


@dataclass(frozen=True, slots=True)
class RemainingMax:
    """``P(Z <= z)`` as a mixture of normals; ``Z = -inf`` when no report is left today."""

    components: tuple[tuple[float, float, float], ...]  # (weight, mean, sd)

    def cdf(self, z: float) -> float:
        if not self.components:
            return 1.0
        if z == math.inf:
            return 1.0
        if z == -math.inf:
            return 0.0
        return math.fsum(w * _phi((z - m) / s) for w, m, s in self.components)

    @property
    def mean(self) -> float:
        return math.fsum(w * m for w, m, _ in self.components)


def remaining_max(
    mu: float,
    sigma: float,
    reports: Sequence[tuple[float, float]],
    unit: Unit,
    prior: DiurnalPrior = DEFAULT_DIURNAL,
    *,
    window: float = 0.0,
) -> RemainingMax:
    """Distribution of the maximum of today's reports after the latest one.

    ``mu``/``sigma``: the forecast of the day's settled maximum (market unit). ``reports``:
    ``(local hour, temperature in the market unit, unrounded)`` of today's reports; those within
    ``window`` hours of the latest are used (older ones add little and their deviations from the
    curve are correlated with the recent ones). No report: the forecast itself.
    """
    scale = 1.8 if unit is Unit.F else 1.0
    a0 = prior.amplitude_c * scale
    var_a = (prior.amplitude_cv * a0) ** 2
    var_e = (prior.noise_c * scale) ** 2
    var_x = max(sigma, 1e-6) ** 2
    if not reports:
        return RemainingMax(((1.0, mu, math.sqrt(var_x)),))
    ordered = sorted(reports)
    latest_hour = ordered[-1][0]
    used = [(h, t) for h, t in ordered if h >= latest_hour - window]
    next_hour = latest_hour + _REPORT_CADENCE
    if next_hour >= 24.0:
        return RemainingMax(())
    parts: list[tuple[float, float, float]] = []
    for k in range(-_GRID_HALF, _GRID_HALF + 1):
        peak = prior.peak_hour + k * _GRID_STEP
        log_w = -0.5 * (k * _GRID_STEP / prior.peak_sd) ** 2
        # (X, A) ~ N((mx, ma), [[cxx, cxa], [cxa, caa]]); each report T = X - s*A + e.
        mx, ma, cxx, caa, cxa = mu, a0, var_x, var_a, 0.0
        for hour, value in used:
            s = deficit(hour, peak, prior)
            v = cxx + s * s * caa - 2.0 * s * cxa + var_e
            innov = value - (mx - s * ma)
            kx, ka = (cxx - s * cxa) / v, (cxa - s * caa) / v
            mx, ma = mx + kx * innov, ma + ka * innov
            cxx, caa, cxa = cxx - kx * kx * v, caa - ka * ka * v, cxa - kx * ka * v
            log_w += -0.5 * (innov * innov / v + math.log(v))
        # Z = X - s_min*A + e over the hours still to come (the peak, if it is still ahead).
        s_min = 0.0 if peak >= next_hour else deficit(next_hour, peak, prior)
        mean = mx - s_min * ma
        var = cxx + s_min * s_min * caa - 2.0 * s_min * cxa + var_e
        parts.append((log_w, mean, math.sqrt(max(var, 1e-12))))
    top = max(lw for lw, _, _ in parts)
    weights = [math.exp(lw - top) for lw, _, _ in parts]
    total = math.fsum(weights)
    return RemainingMax(
        tuple((w / total, m, s) for w, (_, m, s) in zip(weights, parts, strict=True))
    )


def remaining_cdf(
    mu: float,
    sigma: float,
    reports: Sequence[tuple[float, float]],
    unit: Unit,
    prior: DiurnalPrior = DEFAULT_DIURNAL,
    *,
    window: float = 0.0,
) -> Callable[[float], float]:
    """Shortcut: the CDF of :func:`remaining_max`."""
    return remaining_max(mu, sigma, reports, unit, prior, window=window).cdf

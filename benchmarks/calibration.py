"""Calibration benchmark: our probabilities vs raw member counting vs the oracle, synthetic days.

    .venv/bin/python benchmarks/calibration.py [--days 1200] [--seed 7]

The generator is known, so the oracle's probabilities are the truth:

* **day ahead** — each day has a predictable centre ``m`` (°F) and the station's reported
  maximum is ``X ~ N(m, 2.7 °F)``, settled half-up into an 11-leg ladder of 2 °F buckets. Three
  "models" forecast it with biases (+1.8, −0.9, +3.6 °F), small independent errors and
  under-dispersed members (spread 0.9 °F). The oracle prices ``N(m, 2.7)``; raw counting is the
  share of members settling in each bucket; ours is the production pipeline: walk-forward
  multi-model EMOS refitted every 30 days on the last 90 settled days, starting from the priors.
* **intraday** — six synthetic stations, each with its own peak hour (11-18 h, wandering ±1 h
  day to day) and diurnal range (7-18 °F); hourly reports follow the curve to the day's latent
  maximum, with noise; the settled value is the max of the reports. At 10, 13, 16 and 19 h
  local, "learnt" conditions on the running max and models the max still to come from the
  latest report against the station's own diurnal shape, fitted from 60 earlier days of its
  reports (``weatheredge.model.diurnal_fit``, shrunk toward the prior); "default curve" does
  the same with the global prior (peak 15:00, 7 °C); "old" is running max + a fixed still-open
  table by hour; the oracle is the exact posterior predictive under the generator
  (importance sampling).

Prints mean per-bucket Brier scores, our reliability per decile, and the gaps. Targets: ours
within 5 % of the oracle and clearly better than raw counting; reliability within ±0.05.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from weatheredge.model.buckets import Bucket, Rounding, Unit
from weatheredge.model.calibration import (
    TrainingCase,
    ensemble_summary,
    fit_emos,
    prior_params,
)
from weatheredge.model.conditioning import conditioned_probabilities, still_open
from weatheredge.model.diurnal_fit import fit_shape
from weatheredge.model.intraday import DEFAULT_DIURNAL, DiurnalPrior, remaining_cdf
from weatheredge.model.probability import Normal, probabilities_from_cdf
from weatheredge.model.scoring import brier, outcome_pairs, reliability

TRUE_SD = 2.7  # °F: the unpredictable part of the station's reported max (~1.5 °C)
BIASES = {"ecmwf": 1.8, "gfs": -0.9, "icon": 3.6}
MODEL_ERR = {"ecmwf": 0.4, "gfs": 0.6, "icon": 0.9}
MEMBERS = {"ecmwf": 51, "gfs": 31, "icon": 40}
MEMBER_SD = 0.9  # under-dispersed: the real uncertainty is ~3x wider
WINDOW, REFIT_EVERY = 90, 30
HALF_UP = Rounding.HALF_UP


def half_up(x: np.ndarray | float) -> np.ndarray:
    return np.floor(np.asarray(x) + 0.5)


def ladder_for(centre: float) -> list[Bucket]:
    lo = int(2 * math.floor(centre / 2)) - 9  # 9 inner 2 °F buckets around the centre
    inner = [Bucket(a, a + 1, Unit.F) for a in range(lo, lo + 18, 2)]
    return [Bucket(None, lo - 1, Unit.F), *inner, Bucket(lo + 18, None, Unit.F)]


def winner_of(buckets: list[Bucket], settled: int) -> int:
    return next(i for i, b in enumerate(buckets) if b.contains(settled))


def counting(members: np.ndarray, buckets: list[Bucket]) -> list[float]:
    settled = half_up(members).astype(int)
    return [float(np.mean([b.contains(int(s)) for s in settled])) for b in buckets]


def day_ahead(days: int, rng: np.random.Generator) -> dict[str, object]:
    centres = rng.normal(60.0, 12.0, days)
    truth = centres + rng.normal(0.0, TRUE_SD, days)
    history: list[TrainingCase] = []
    prior = prior_params(Unit.F, 1)
    params = prior
    scores: dict[str, list[float]] = {"oracle": [], "ours": [], "counting": []}
    ours_ladders = []
    for i in range(days):
        if i % REFIT_EVERY == 0 and history:
            params = fit_emos(history[-WINDOW:], prior)
        members, models = [], []
        for name, bias in BIASES.items():
            mean = centres[i] + bias + rng.normal(0.0, MODEL_ERR[name])
            draw = mean + rng.normal(0.0, MEMBER_SD, MEMBERS[name])
            members.extend(draw.tolist())
            models.append((name, MEMBERS[name]))
        means, spread = ensemble_summary(members, models)
        buckets = ladder_for(float(np.mean(members)))
        settled = int(half_up(truth[i]))
        won = winner_of(buckets, settled)
        oracle = probabilities_from_cdf(Normal(centres[i], TRUE_SD).cdf, buckets, HALF_UP, 0.0)
        ours = probabilities_from_cdf(params.predict(means, spread).cdf, buckets, HALF_UP)
        raw = counting(np.array(members), buckets)
        if i >= WINDOW:  # score once the first window has been learnt (walk-forward)
            scores["oracle"].append(brier(oracle, won))
            scores["ours"].append(brier(ours, won))
            scores["counting"].append(brier(raw, won))
            ours_ladders.append((ours, won))
        history.append(TrainingCase(means, spread, float(truth[i])))
    return {
        "brier": {k: float(np.mean(v)) for k, v in scores.items()},
        "reliability": reliability(outcome_pairs(ours_ladders)),
        "params": params,
        "scored": len(ours_ladders),
    }


# --- intraday --------------------------------------------------------------------------------

HOURS = np.arange(24)
AMPLITUDE = 12.0  # °F from the peak to the night-time low, on average (varies by day)
REPORT_NOISE = 0.8
WINDOW_H = 0.0  # hours of reports before the latest one the model reads (0: the latest only)


def day_path(xmax: np.ndarray, peak: np.ndarray, amp: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Hourly reports (…, 24): a diurnal curve peaking at ``peak`` at ``xmax``, plus noise."""
    d = (HOURS - peak[..., None]) / 6.0
    return xmax[..., None] - amp[..., None] * np.minimum(d * d, 1.0) + noise


def _inside(bucket: Bucket, values: np.ndarray) -> np.ndarray:
    lo = -np.inf if bucket.lo is None else bucket.lo
    hi = np.inf if bucket.hi is None else bucket.hi
    return (values >= lo) & (values <= hi)


# Synthetic stations (issue 10 §4): each its own peak hour and diurnal range (°F), so learning
# the shape matters; the model's default prior is peak 15:00, range 7 °C (12.6 °F).
STATIONS = ((11.0, 7.0), (12.5, 16.0), (14.0, 10.0), (15.5, 13.0), (17.0, 18.0), (18.0, 8.0))
TRAIN_DAYS = 60  # settled days of reports per station the shape is learnt from


def _station_days(
    rng: np.random.Generator, n: int, peak: float, amp: float, centre: np.ndarray | float
) -> tuple[np.ndarray, ...]:
    """(latent max, peak hour, range, reports) of ``n`` days: the peak wanders ±1 h."""
    xmax = np.asarray(centre) + rng.normal(0.0, TRUE_SD, n)
    peaks = peak + rng.integers(-1, 2, n).astype(float)
    amps = rng.gamma(9.0, amp / 9.0, n)
    return xmax, peaks, amps, day_path(xmax, peaks, amps, rng.normal(0.0, REPORT_NOISE, (n, 24)))


def learnt_prior(rng: np.random.Generator, peak: float, amp: float) -> DiurnalPrior:
    """The station's shape fitted from its own ``TRAIN_DAYS`` of reports (in °C, as stored)."""
    *_, reports = _station_days(rng, TRAIN_DAYS, peak, amp, rng.normal(60.0, 12.0, TRAIN_DAYS))
    days = [[(float(h), (float(t) - 32.0) / 1.8) for h, t in enumerate(day)] for day in reports]
    return fit_shape(days, "max").prior()


def intraday(days: int, rng: np.random.Generator, samples: int = 60000) -> dict[int, dict]:
    check_hours = (10, 13, 16, 19)
    kinds = ("oracle", "old", "ours", "learnt", "forecast")
    out = {h: {k: [] for k in kinds} for h in check_hours}
    per_station = max(1, days // len(STATIONS))
    for peak_s, amp_s in STATIONS:
        learnt = learnt_prior(rng, peak_s, amp_s)
        for _ in range(per_station):
            centre = rng.normal(60.0, 12.0)
            *_, paths = _station_days(rng, 1, peak_s, amp_s, centre)
            reports = paths[0]
            settled = int(half_up(reports.max()))
            buckets = ladder_for(centre)
            won = winner_of(buckets, settled)
            # Our forecast of the settled max: a calibrated Normal of the day's reported max
            # (as EMOS learns it from settled days), then conditioning on the running max.
            *_, sim_paths = _station_days(rng, samples, peak_s, amp_s, centre)
            sim_max = sim_paths.max(axis=1)
            forecast = Normal(float(sim_max.mean()), float(sim_max.std()))
            base = probabilities_from_cdf(forecast.cdf, buckets, HALF_UP)
            for h in check_hours:
                seen = reports[: h + 1]
                running = int(half_up(seen.max()))
                old = conditioned_probabilities(  # running max + a fixed still-open table
                    forecast.cdf,
                    buckets,
                    HALF_UP,
                    running,
                    "max",
                    open_weight=still_open("max", h + 0.5),
                    tail_sigma=forecast.sigma,
                )
                today = [(float(t), float(reports[t])) for t in range(h + 1)]
                # + the latest report against the default curve, then the station's own
                mine = {}
                for name, prior in (("ours", DEFAULT_DIURNAL), ("learnt", learnt)):
                    mine[name] = conditioned_probabilities(
                        forecast.cdf,
                        buckets,
                        HALF_UP,
                        running,
                        "max",
                        remaining=remaining_cdf(
                            forecast.mu, forecast.sigma, today, Unit.F, prior, window=WINDOW_H
                        ),
                    )
                # Oracle: the generator's posterior predictive given the reports so far.
                resid = sim_paths[:, : h + 1] - seen
                logw = -0.5 * np.sum(resid * resid, axis=1) / REPORT_NOISE**2
                w = np.exp(logw - logw.max())
                final = np.maximum(half_up(seen.max()), half_up(sim_paths[:, h + 1 :].max(axis=1)))
                oracle = [float(np.sum(w[_inside(b, final)])) for b in buckets]
                total = sum(oracle)
                oracle = [p / total for p in oracle]
                out[h]["oracle"].append(brier(oracle, won))
                out[h]["old"].append(brier(old, won))
                out[h]["ours"].append(brier(mine["ours"], won))
                out[h]["learnt"].append(brier(mine["learnt"], won))
                out[h]["forecast"].append(brier(base, won))
    return {h: {k: float(np.mean(v)) for k, v in d.items()} for h, d in out.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=1200)
    parser.add_argument("--intraday-days", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()

    result = day_ahead(args.days, rng)
    b = result["brier"]
    params = result["params"]
    print(
        f"day-ahead, {result['scored']} synthetic days scored walk-forward (mean per-bucket Brier)"
    )
    print(f"  oracle (true distribution)   {b['oracle']:.5f}")
    for name, key in (("ours (multi-model EMOS)", "ours"), ("raw member counting", "counting")):
        gap = 100 * (b[key] / b["oracle"] - 1)
        print(f"  {name:<28} {b[key]:.5f}   {gap:+.1f} % vs oracle")
    print(
        f"  last fit: a={params.a:+.2f} b={params.b:.2f} c={params.c:.2f} d={params.d:.2f} "
        f"weights={ {k: round(v, 2) for k, v in params.weights.items()} } n={params.n}"
    )
    print("  reliability of ours (decile: mean forecast -> observed frequency, n)")
    worst = 0.0
    for bin_ in result["reliability"]:
        flag = ""
        if bin_.count >= 100:
            worst = max(worst, abs(bin_.gap))
        else:
            flag = "  (few)"
        print(
            f"    [{bin_.lo:.1f},{bin_.hi:.1f})  {bin_.mean_prob:.3f} -> {bin_.frequency:.3f}"
            f"  n={bin_.count}{flag}"
        )
    print(f"  worst |gap| over deciles with n>=100: {worst:.3f}")

    print(f"\nintraday, {args.intraday_days} synthetic days (mean per-bucket Brier)")
    print(f"  {len(STATIONS)} stations, peaks {[p for p, _ in STATIONS]} h; shapes learnt from")
    print(f"  {TRAIN_DAYS} days of each station's reports (weatheredge.model.diurnal_fit)")
    print("  local hour  oracle    learnt    default-curve  old(running max only)  forecast-only")
    for hour, s in intraday(args.intraday_days, rng).items():
        print(
            f"  {hour:>5}:00   {s['oracle']:.5f}   {s['learnt']:.5f}   {s['ours']:.5f}"
            f"        {s['old']:.5f}                {s['forecast']:.5f}"
        )
    print(f"\n({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

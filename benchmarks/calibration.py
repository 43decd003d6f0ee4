"""Calibration benchmark: our probabilities vs raw member counting vs the oracle, synthetic days.

    .venv/bin/python benchmarks/calibration.py [--days 1200] [--seed 7]

The generator is known, so the oracle's probabilities are the truth:

* **day ahead** — each day has a predictable centre ``m`` (°F) and the station's reported
  maximum is ``X ~ N(m, 2.7 °F)``, settled half-up into an 11-leg ladder of 2 °F buckets. Three
  "models" forecast it with biases (+1.8, −0.9, +3.6 °F), small independent errors and
  under-dispersed members (spread 0.9 °F). The oracle prices ``N(m, 2.7)``; raw counting is the
  share of members settling in each bucket; ours is the production pipeline: walk-forward
  multi-model EMOS refitted every 30 days on the last 90 settled days, starting from the priors.
* **intraday** — hourly reports follow a diurnal curve peaking at a random hour (13-17 h) at the
  day's latent maximum, with noise; the settled value is the max of the reports. At 10, 13, 16
  and 19 h local, "ours" conditions on the running max and models the max still to come from
  the latest report against a prior diurnal curve (``weatheredge.model.intraday``, default
  priors, nothing fitted to this generator); "old" is the previous method (running max + a
  fixed still-open table by hour); the oracle is the exact posterior predictive under the
  generator (importance sampling). The generator is unchanged by the new model.

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
from weatheredge.model.intraday import remaining_cdf
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


def intraday(days: int, rng: np.random.Generator, samples: int = 60000) -> dict[int, dict]:
    check_hours = (10, 13, 16, 19)
    out = {h: {"oracle": [], "old": [], "ours": [], "forecast": []} for h in check_hours}
    sd = TRUE_SD
    for _ in range(days):
        centre = rng.normal(60.0, 12.0)
        xmax = np.array(centre + rng.normal(0.0, sd))
        peak = np.array(float(rng.integers(13, 18)))
        amp = np.array(rng.gamma(9.0, AMPLITUDE / 9.0))
        reports = day_path(xmax, peak, amp, rng.normal(0.0, REPORT_NOISE, 24))
        settled = int(half_up(reports.max()))
        buckets = ladder_for(centre)
        won = winner_of(buckets, settled)
        # Our forecast of the settled max: a calibrated Normal of the day's reported max
        # (as EMOS learns it from settled days), then conditioning on the running max.
        sim_x = centre + rng.normal(0.0, sd, samples)
        sim_p = rng.integers(13, 18, samples).astype(float)
        sim_a = rng.gamma(9.0, AMPLITUDE / 9.0, samples)
        sim_paths = day_path(sim_x, sim_p, sim_a, rng.normal(0.0, REPORT_NOISE, (samples, 24)))
        sim_max = sim_paths.max(axis=1)
        forecast = Normal(float(sim_max.mean()), float(sim_max.std()))
        base = probabilities_from_cdf(forecast.cdf, buckets, HALF_UP)
        for h in check_hours:
            seen = reports[: h + 1]
            running = int(half_up(seen.max()))
            old = conditioned_probabilities(  # running max + a fixed still-open table by hour
                forecast.cdf,
                buckets,
                HALF_UP,
                running,
                "max",
                open_weight=still_open("max", h + 0.5),
                tail_sigma=forecast.sigma,
            )
            # + the latest report's level and hour against the station's usual diurnal curve
            ours = conditioned_probabilities(
                forecast.cdf,
                buckets,
                HALF_UP,
                running,
                "max",
                remaining=remaining_cdf(
                    forecast.mu,
                    forecast.sigma,
                    [(float(t), float(reports[t])) for t in range(h + 1)],
                    Unit.F,
                    window=WINDOW_H,
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
            out[h]["ours"].append(brier(ours, won))
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
    print("  local hour  oracle    ours(new)  old(running max only)  forecast-only")
    for hour, s in intraday(args.intraday_days, rng).items():
        print(
            f"  {hour:>5}:00   {s['oracle']:.5f}   {s['ours']:.5f}    {s['old']:.5f}"
            f"                {s['forecast']:.5f}"
        )
    print(f"\n({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Multi-model EMOS / NGR: bias and spread correction fitted by minimum CRPS (weather.md §3.3-3.4).

For one station, extreme and lead time the day's latent reported extreme ``X`` (market unit) is

    X ~ N(mu, sigma^2)
    mu      = xbar + a + (b - 1) * (xbar - x_ref)      xbar = sum_m w_m * mean_m
    sigma^2 = c^2 + d^2 * S^2                            S = pooled member standard deviation

``a`` is the station's bias (grid cell vs the airport's reports), ``b`` corrects a forecast that
over- or under-reacts, ``c``/``d`` fix the ensemble's under-dispersion, ``w_m`` weigh the models
by their past error. ``x_ref`` centres the slope on the training data so ``a`` and ``b`` shrink
independently.

**Shrinkage.** With ``n`` settled days every fitted number is pulled toward its prior by
``lambda = n / (n + k)`` (``k`` = ``shrink_days``; 0.15 k for the bias, which a few days pin
down, and the total predicted variance is blended the same way): with no history the prior itself
is used (``a = 0, b = 1, d = 1`` and a ``c`` wide enough for a typical airport's day-ahead
error, so a fresh install is never overconfident); after a few months the data dominate. Model
weights likewise shrink toward equal.

Fitting uses numpy/scipy and runs in the scheduled refit job only; :meth:`EmosParams.predict`
is plain Python so pricing never imports them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from weatheredge.model.buckets import Unit
from weatheredge.model.probability import Normal

# Prior sigma floor (c) at lead 0 and its growth per day of lead, in °C; ×1.8 for °F. With a
# typical day-ahead ensemble spread of ~1 °C this gives sigma ~1.5 °C, the calibrated value for
# NYC (weather.md §3.9: CRPS 0.92 °C day-ahead ~ sigma 1.4-1.6 °C).
PRIOR_C_CELSIUS = 1.0
PRIOR_C_PER_LEAD_DAY = 0.2
DEFAULT_SHRINK_DAYS = 20.0  # lambda = n / (n + k): half data, half prior at k settled days
# The bias is the best-determined number (its standard error is sigma/sqrt(n)) and the costliest
# to leave uncorrected, so it is shrunk over fewer days than the slope and the spread.
BIAS_SHRINK_FRACTION = 0.15
MIN_FIT_DAYS = 5
_SIGMA_MIN = 0.05


def _unit_scale(unit: Unit) -> float:
    return 1.8 if unit is Unit.F else 1.0


@dataclass(frozen=True, slots=True)
class EmosParams:
    a: float = 0.0
    b: float = 1.0
    c: float = PRIOR_C_CELSIUS
    d: float = 1.0
    x_ref: float = 0.0
    weights: Mapping[str, float] = field(default_factory=dict)  # empty: equal weights
    n: int = 0  # settled days behind the fit (0 = prior)
    crps: float | None = None  # mean CRPS of the shrunk fit on its window
    crps_raw: float | None = None  # mean CRPS of the uncorrected ensemble on the same window

    def mean_of(self, model_means: Mapping[str, float]) -> float:
        """Weighted multi-model mean; models without a weight share the average weight."""
        if not model_means:
            raise ValueError("no model means")
        default = (sum(self.weights.values()) / len(self.weights)) if self.weights else 1.0
        ws = {m: max(self.weights.get(m, default), 0.0) for m in model_means}
        total = math.fsum(ws.values())
        if not total > 0:
            return math.fsum(model_means.values()) / len(model_means)
        return math.fsum(ws[m] * x for m, x in model_means.items()) / total

    def predict(self, model_means: Mapping[str, float], spread: float) -> Normal:
        xbar = self.mean_of(model_means)
        mu = xbar + self.a + (self.b - 1.0) * (xbar - self.x_ref)
        sigma = math.sqrt(self.c**2 + (self.d * spread) ** 2)
        return Normal(mu, max(sigma, _SIGMA_MIN))


def prior_params(unit: Unit, lead_days: int) -> EmosParams:
    scale = _unit_scale(unit)
    c = (PRIOR_C_CELSIUS + PRIOR_C_PER_LEAD_DAY * max(lead_days, 0)) * scale
    return EmosParams(c=c)


@dataclass(frozen=True, slots=True)
class TrainingCase:
    """One settled day: what the ensemble said at this lead, and what the station reported."""

    model_means: Mapping[str, float]
    spread: float  # pooled member standard deviation
    observed: float  # the latent reported extreme (tenths converted), market unit


def ensemble_summary(
    members: Sequence[float], models: Sequence[tuple[str, int]]
) -> tuple[dict[str, float], float]:
    """Per-model means and the pooled standard deviation of members listed model by model.

    ``models`` are ``(name, count)`` in the order the members were appended (as
    ``EnsembleForecast`` keeps them). Raises ValueError on a count mismatch or a bad member.
    """
    if not members:
        raise ValueError("empty ensemble")
    if not all(math.isfinite(m) for m in members):
        raise ValueError("non-finite ensemble member")
    counts = sum(n for _, n in models)
    if models and counts != len(members):
        raise ValueError(f"member counts {counts} != {len(members)} members")
    means: dict[str, float] = {}
    i = 0
    for name, n in models or (("ensemble", len(members)),):
        chunk = members[i : i + n]
        i += n
        if chunk:
            means[name] = math.fsum(chunk) / len(chunk)
    mean = math.fsum(members) / len(members)
    n = len(members)
    var = math.fsum((m - mean) ** 2 for m in members) / (n - 1) if n > 1 else 0.0
    return means, math.sqrt(var)


# --- fitting (numpy / scipy) ---------------------------------------------------------------------


def crps_normal(y: Any, mu: Any, sigma: Any) -> Any:
    """CRPS of N(mu, sigma^2) at y (Gneiting et al. 2005 closed form); numpy-vectorised."""
    import numpy as np
    from scipy.special import ndtr

    z = (np.asarray(y) - mu) / sigma
    pdf = np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    return sigma * (z * (2 * ndtr(z) - 1) + 2 * pdf - 1 / math.sqrt(math.pi))


def model_weights(
    cases: Sequence[TrainingCase], shrink_days: float = DEFAULT_SHRINK_DAYS
) -> dict[str, float]:
    """Inverse de-biased error variance per model, shrunk toward equal weights."""
    import numpy as np

    models = sorted({m for c in cases for m in c.model_means})
    if not models:
        return {}
    equal = 1.0 / len(models)
    inverse = {}
    counts = {}
    for m in models:
        errs = np.array([c.model_means[m] - c.observed for c in cases if m in c.model_means])
        counts[m] = len(errs)
        var = float(np.var(errs, ddof=1)) if len(errs) > 2 else float("nan")
        inverse[m] = 1.0 / max(var, 1e-3) if math.isfinite(var) else float("nan")
    known = [v for v in inverse.values() if math.isfinite(v)]
    fallback = float(np.mean(known)) if known else 1.0
    raw = {m: (v if math.isfinite(v) else fallback) for m, v in inverse.items()}
    total = math.fsum(raw.values())
    out = {}
    for m in models:
        lam = counts[m] / (counts[m] + shrink_days)
        out[m] = lam * raw[m] / total + (1 - lam) * equal
    s = math.fsum(out.values())
    return {m: w / s for m, w in out.items()}


def fit_emos(
    cases: Sequence[TrainingCase],
    prior: EmosParams,
    *,
    shrink_days: float = DEFAULT_SHRINK_DAYS,
    min_days: int = MIN_FIT_DAYS,
) -> EmosParams:
    """Minimum-CRPS fit on ``cases``, shrunk toward ``prior``; the prior when too few cases."""
    import numpy as np
    from scipy.optimize import minimize

    usable = [c for c in cases if c.model_means and math.isfinite(c.observed)]
    n = len(usable)
    if n < min_days:
        return replace(prior, n=n)
    weights = model_weights(usable, shrink_days)
    tmp = EmosParams(weights=weights)
    x = np.array([tmp.mean_of(c.model_means) for c in usable])
    s = np.array([c.spread for c in usable])
    y = np.array([c.observed for c in usable])
    x_ref = float(x.mean())

    def loss(theta: Any) -> float:
        a, b, c, d = theta
        mu = x + a + (b - 1.0) * (x - x_ref)
        sigma = np.sqrt(c * c + d * d * s * s) + 1e-9
        return float(np.mean(crps_normal(y, mu, sigma)))

    start = np.array([float(np.mean(y - x)), 1.0, max(prior.c, 0.1), prior.d])
    result = minimize(
        loss,
        start,
        method="L-BFGS-B",
        bounds=[(-30.0, 30.0), (0.3, 1.7), (_SIGMA_MIN, 30.0), (0.0, 5.0)],
    )
    a, b, c, d = (float(v) for v in result.x)
    lam = n / (n + shrink_days)
    lam_a = n / (n + BIAS_SHRINK_FRACTION * shrink_days)
    fitted = EmosParams(
        a=prior.a + lam_a * (a - prior.a),
        b=prior.b + lam * (b - prior.b),
        c=prior.c + lam * (c - prior.c),
        d=prior.d + lam * (abs(d) - prior.d),
        x_ref=x_ref,
        weights=weights,
        n=n,
    )
    # Shrinking c and d one by one can shrink the total variance by accident; keep the mean
    # predicted variance on the window at the same blend of fitted and prior variance.
    var_fit = float(np.mean(c * c + d * d * s * s))
    var_prior = float(np.mean(prior.c**2 + prior.d**2 * s * s))
    var_now = float(np.mean(fitted.c**2 + fitted.d**2 * s * s))
    if var_now > 0:
        k = math.sqrt((lam * var_fit + (1 - lam) * var_prior) / var_now)
        fitted = replace(fitted, c=fitted.c * k, d=fitted.d * k)
    mus = np.array([fitted.predict(cs.model_means, cs.spread).mu for cs in usable])
    sig = np.array([fitted.predict(cs.model_means, cs.spread).sigma for cs in usable])
    raw_mu = np.array([math.fsum(cs.model_means.values()) / len(cs.model_means) for cs in usable])
    return replace(
        fitted,
        crps=float(np.mean(crps_normal(y, mus, sig))),
        crps_raw=float(np.mean(crps_normal(y, raw_mu, np.maximum(s, _SIGMA_MIN)))),
    )

"""Refit the EMOS parameters per station × extreme × unit × lead from settled days.

Runs at startup (so saved parameters are in use from the first forecast) and every
``model.refit_interval`` seconds. Training cases are the last ensemble forecast issued at each
lead for every event settled in the last ``model.training_days`` days, paired with the reported
extreme; the fit is shrunk toward the priors by ``model.shrink_days``. Fitting runs in a thread
(numpy/scipy), parameters go to ``calibration_params`` and straight into the live state.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections import defaultdict
from typing import Any

from weatheredge.context import JobContext
from weatheredge.model.buckets import Unit
from weatheredge.model.calibration import EmosParams, TrainingCase, fit_emos, prior_params
from weatheredge.model.live import ParamKey
from weatheredge.store import CalibrationSaved, saved_calibration, training_rows

logger = logging.getLogger(__name__)


async def run(ctx: JobContext) -> None:
    now = ctx.engine.clock.now()
    path = ctx.store.path
    model = ctx.settings.model
    if not ctx.live.params:
        for row in await asyncio.to_thread(saved_calibration, path):
            ctx.live.params[_key(row)] = params_from_row(row)
    since = now.date() - dt.timedelta(days=model.training_days)
    rows = await asyncio.to_thread(training_rows, path, since)
    fitted = await asyncio.to_thread(fit_all, rows, model.shrink_days)
    for key, params in fitted.items():
        ctx.live.params[key] = params
        station, extreme, unit, lead = key
        ctx.store.submit(CalibrationSaved(station, extreme, unit, lead, params, now))
    if fitted:
        logger.info("refitted EMOS for %d station/lead keys", len(fitted))


def _key(row: dict[str, Any]) -> ParamKey:
    extreme = {"high": "max", "low": "min"}.get(row["extreme"], row["extreme"])
    return (row["station"], extreme, row["unit"], int(row["lead_days"]))


def params_from_row(row: dict[str, Any]) -> EmosParams:
    return EmosParams(
        a=row["a"],
        b=row["b"],
        c=row["c"],
        d=row["d"],
        x_ref=row["x_ref"],
        weights=json.loads(row["weights"]),
        n=row["n"],
        crps=row["crps"],
        crps_raw=row["crps_raw"],
    )


def fit_all(rows: list[dict[str, Any]], shrink_days: float) -> dict[ParamKey, EmosParams]:
    cases: dict[ParamKey, list[TrainingCase]] = defaultdict(list)
    for row in rows:
        try:
            means = {k: float(v) for k, v in json.loads(row["model_means"]).items()}
        except (TypeError, ValueError):
            continue
        cases[_key(row)].append(
            TrainingCase(means, float(row["spread"] or 0.0), row["observed_value"])
        )
    out = {}
    for key, items in cases.items():
        prior = prior_params(Unit(key[2]), key[3])
        out[key] = fit_emos(items, prior, shrink_days=shrink_days)
    return out

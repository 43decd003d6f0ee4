"""Refit the EMOS parameters per station × extreme × unit × lead from settled days.

Runs at startup (so saved parameters are in use from the first forecast) and every
``model.refit_interval`` seconds. Training cases are the last ensemble forecast issued at each
lead for every event settled in the last ``model.training_days`` days, paired with the reported
extreme; the fit is shrunk toward the priors by ``model.shrink_days``. Fitting runs in a thread
(numpy/scipy), parameters go to ``calibration_params`` and straight into the live state.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import logging
from collections import defaultdict
from zoneinfo import ZoneInfo

from weatheredge.context import JobContext
from weatheredge.model.buckets import Unit
from weatheredge.model.calibration import EmosParams, TrainingCase, fit_emos, prior_params
from weatheredge.model.diurnal_fit import DiurnalShape, fit_shape, global_shape
from weatheredge.model.intraday import diurnal_prior
from weatheredge.model.live import ParamKey
from weatheredge.pricing.event import station_for
from weatheredge.store import (
    CalibrationRow,
    CalibrationSaved,
    DiurnalReport,
    DiurnalSaved,
    DiurnalShapeRow,
    TrainingRow,
    diurnal_training,
    saved_calibration,
    saved_diurnal,
    training_rows,
)

logger = logging.getLogger(__name__)


async def run(ctx: JobContext) -> None:
    now = ctx.engine.clock.now()
    path = ctx.store.path
    model = ctx.settings.model
    if not ctx.live.params:
        for row in await asyncio.to_thread(saved_calibration, path):
            ctx.live.params[_key(row)] = params_from_row(row)
    since = now.date() - dt.timedelta(days=model.training_days)
    rows = await asyncio.to_thread(training_rows, path, since, now)  # never a later fact
    fitted = await asyncio.to_thread(fit_all, rows, model.shrink_days)
    for key, params in fitted.items():
        ctx.live.params[key] = params
        station, extreme, unit, lead = key
        ctx.store.submit(CalibrationSaved(station, extreme, unit, lead, params, now))
    if fitted:
        logger.info("refitted EMOS for %d station/lead keys", len(fitted))
    await _refit_diurnal(ctx, since, now)


async def _refit_diurnal(ctx: JobContext, since: dt.date, now: dt.datetime) -> None:
    """Each station's diurnal shape from its settled days' reports (issue 10 §4)."""
    path, shrink = ctx.store.path, ctx.settings.model.diurnal_shrink_days
    if not ctx.live.shapes:
        for row in await asyncio.to_thread(saved_diurnal, path):
            ctx.live.shapes[(row.station, row.extreme)] = shape_from_row(row)
    rows = await asyncio.to_thread(diurnal_training, path, since, now)
    zones = {}
    for icao in {r.station for r in rows}:
        station = station_for(ctx, icao)
        if station is not None:
            zones[icao] = station.timezone
    shapes = await asyncio.to_thread(fit_diurnal, rows, zones, shrink)
    for (icao, extreme), shape in shapes.items():
        ctx.live.shapes[(icao, extreme)] = shape
        ctx.store.submit(DiurnalSaved(icao, shape, now))
    if shapes:
        logger.info("refitted diurnal shapes for %d station/extreme keys", len(shapes))


def fit_diurnal(
    rows: list[DiurnalReport], zones: dict[str, str], shrink_days: float
) -> dict[tuple[str, str], DiurnalShape]:
    """(station, extreme) -> shape, from ``diurnal_training`` rows; stations without a known
    time zone are skipped (their local day cannot be told)."""
    days: dict[str, dict[str, list[tuple[float, float]]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        zone = zones.get(row.station)
        if zone is None:
            continue
        at = dt.datetime.fromisoformat(row.observed_at).astimezone(ZoneInfo(zone))
        if at.date().isoformat() == row.date:
            days[row.station][row.date].append((at.hour + at.minute / 60, row.temp_c))
    out = {}
    for icao, by_day in days.items():
        for extreme in ("max", "min"):
            prior = global_shape(extreme)
            if extreme == "max":  # shrink toward the station's climatological peak if known
                prior = dataclasses.replace(prior, hour=diurnal_prior(icao).peak_hour)
            shape = fit_shape(list(by_day.values()), extreme, prior=prior, shrink_days=shrink_days)
            if shape.days:
                out[(icao, extreme)] = shape
    return out


def shape_from_row(row: DiurnalShapeRow) -> DiurnalShape:
    return DiurnalShape(
        extreme=row.extreme,
        hour=row.hour,
        hour_sd=row.hour_sd,
        amplitude_c=row.amplitude_c,
        amplitude_cv=row.amplitude_cv,
        still_open=tuple(json.loads(row.still_open)),
        days=row.days,
    )


def _key(row: TrainingRow | CalibrationRow) -> ParamKey:
    extreme = {"high": "max", "low": "min"}.get(row.extreme, row.extreme)
    return (row.station, extreme, row.unit, int(row.lead_days))


def params_from_row(row: CalibrationRow) -> EmosParams:
    return EmosParams(
        a=row.a,
        b=row.b,
        c=row.c,
        d=row.d,
        x_ref=row.x_ref,
        weights=json.loads(row.weights),
        n=row.n,
        crps=row.crps,
        crps_raw=row.crps_raw,
    )


def fit_all(rows: list[TrainingRow], shrink_days: float) -> dict[ParamKey, EmosParams]:
    cases: dict[ParamKey, list[TrainingCase]] = defaultdict(list)
    for row in rows:
        if row.model_means is None:
            continue
        try:
            means = {k: float(v) for k, v in json.loads(row.model_means).items()}
        except (TypeError, ValueError):
            continue
        cases[_key(row)].append(TrainingCase(means, float(row.spread or 0.0), row.observed_value))
    out = {}
    for key, items in cases.items():
        prior = prior_params(Unit(key[2]), key[3])
        out[key] = fit_emos(items, prior, shrink_days=shrink_days)
    return out

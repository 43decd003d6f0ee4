"""Fetch the live stations' reports, each from the official feed of its resolution source.

Airports: aviationweather (one request for all), with the NWS API as second source for US
stations when aviationweather fails or lags (``weather.second_source``). The Hong Kong
Observatory and CWA stations: their own open-data feeds. Every delivery goes through the
``SourceLedger`` (``ctx.live.sources``), so a report two feeds relay is applied once, a
disagreement is flagged, and the feed that delivered it first is recorded.

One feed failing never stops the others: it is noted under ``/status`` → degraded, and only
when every feed asked failed does this raise (the job then counts a failure).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
from collections.abc import Mapping

from weatheredge.context import JobContext
from weatheredge.model.observations import Observation
from weatheredge.model.rules import ObservationFeed
from weatheredge.weather.cwa import fetch_cwa
from weatheredge.weather.errors import WeatherError
from weatheredge.weather.hko import fetch_hko
from weatheredge.weather.metar import fetch_metars
from weatheredge.weather.nws import fetch_nws_observations

logger = logging.getLogger(__name__)

PRIMARY = "aviationweather"
_METAR_HOURS = 30  # covers any station's whole local day
_NWS_FIRST = dt.timedelta(hours=26)  # how far back the first NWS request of a station reaches
_NWS_OVERLAP = dt.timedelta(hours=2)  # later requests resume here before the newest report
_KEEP = dt.timedelta(days=2)
_NEVER = dt.datetime.min.replace(tzinfo=dt.UTC)


def nws_covers(icao: str) -> bool:
    """The NWS API serves US stations only (contiguous K…, Alaska/Hawaii/Pacific P…, TJ…)."""
    return icao.startswith(("K", "P", "TJ"))


async def fetch_reports(
    ctx: JobContext,
    feeds: Mapping[str, ObservationFeed],
    now: dt.datetime,
    *,
    metar_hours: float = _METAR_HOURS,
) -> list[Observation]:
    """The reports to apply for ``feeds`` (station code -> its feed), merged across sources;
    aviationweather is asked for the last ``metar_hours``."""
    by_feed: dict[ObservationFeed, list[str]] = {}
    for code, feed in sorted(feeds.items()):
        by_feed.setdefault(feed, []).append(code)
    calls = {
        ObservationFeed.METAR: functools.partial(_metar, hours=metar_hours),
        ObservationFeed.HKO: _hko,
        ObservationFeed.CWA: _cwa,
    }
    results = await asyncio.gather(
        *(calls[feed](ctx, codes, now) for feed, codes in by_feed.items()),
        return_exceptions=True,
    )
    apply: list[Observation] = []
    errors: list[str] = []
    for result in results:
        if isinstance(result, WeatherError):
            errors.append(str(result))
        elif isinstance(result, BaseException):
            raise result
        else:
            apply.extend(result)
    ctx.live.sources.prune(now - _KEEP)
    if errors and len(errors) == len(results):
        raise WeatherError("; ".join(errors))
    return apply


def _note(ctx: JobContext, source: str, problem: str | None) -> None:
    ledger = ctx.live.sources
    if problem is not None:
        ledger.failures[source] += 1
    ctx.health.note(f"observations:{source}", problem)


async def _metar(
    ctx: JobContext, icaos: list[str], now: dt.datetime, *, hours: float = _METAR_HOURS
) -> list[Observation]:
    weather, ledger = ctx.settings.weather, ctx.live.sources
    apply: list[Observation] = []
    failed: str | None = None
    try:
        reports = await fetch_metars(ctx.session, weather.metar_url, icaos, hours)
    except WeatherError as err:
        failed = str(err)
    else:
        apply.extend(ledger.merge(PRIMARY, reports, ctx.engine.clock.now()))
    mode = weather.second_source
    second = [i for i in icaos if nws_covers(i)] if mode != "off" else []
    if mode == "fallback" and failed is None:
        # Lagging: aviationweather's newest report of the station is older than metar_lag.
        stale = now - dt.timedelta(seconds=weather.metar_lag)
        second = [i for i in second if (ledger.cursors.get((PRIMARY, i)) or _NEVER) < stale]
    if failed is not None:
        cover = f"; NWS API filling in for {len(second)} station(s)" if second else ""
        _note(ctx, PRIMARY, f"failing: {failed}{cover}")
    else:
        _note(ctx, PRIMARY, None)
    if not second:
        if failed is not None:
            raise WeatherError(failed)
        return apply
    if mode == "fallback":
        ledger.fallbacks += 1
        logger.info("asking the NWS API for %s (aviationweather %s)", second, failed or "lags")
    try:
        apply.extend(await _nws(ctx, second, now))
    except WeatherError as err:
        if failed is not None:
            raise WeatherError(f"{failed}; {err}") from None
    return apply


async def _nws(ctx: JobContext, icaos: list[str], now: dt.datetime) -> list[Observation]:
    weather, ledger = ctx.settings.weather, ctx.live.sources

    async def one(icao: str) -> list[Observation]:
        cursor = ledger.cursors.get(("nws", icao))
        start = now - _NWS_FIRST if cursor is None else cursor - _NWS_OVERLAP
        return await fetch_nws_observations(
            ctx.session, weather.nws_url, icao, start=start, user_agent=weather.nws_user_agent
        )

    results = await asyncio.gather(*(one(i) for i in icaos), return_exceptions=True)
    apply: list[Observation] = []
    errors = []
    for icao, result in zip(icaos, results, strict=True):
        if isinstance(result, WeatherError):
            errors.append(f"{icao}: {result}")
        elif isinstance(result, BaseException):
            raise result
        else:
            apply.extend(ledger.merge("nws", result, ctx.engine.clock.now()))
    _note(ctx, "nws", f"failing: {'; '.join(errors[:3])}" if errors else None)
    if errors and len(errors) == len(icaos):
        raise WeatherError(f"nws: {'; '.join(errors[:3])}")
    return apply


async def _hko(ctx: JobContext, codes: list[str], now: dt.datetime) -> list[Observation]:
    try:
        reports = await fetch_hko(ctx.session, ctx.settings.weather.hko_url, codes)
    except WeatherError as err:
        _note(ctx, "hko", f"failing: {err}")
        raise
    _note(ctx, "hko", None)
    return ctx.live.sources.merge("hko", reports, ctx.engine.clock.now())


async def _cwa(ctx: JobContext, codes: list[str], now: dt.datetime) -> list[Observation]:
    weather = ctx.settings.weather
    try:
        reports = await fetch_cwa(ctx.session, weather.cwa_url, weather.cwa_api_key, codes)
    except WeatherError as err:
        _note(ctx, "cwa", f"failing: {err}")
        raise
    _note(ctx, "cwa", None)
    return ctx.live.sources.merge("cwa", reports, ctx.engine.clock.now())

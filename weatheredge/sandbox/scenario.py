"""The scripted day the sandbox plays: a few temperature events whose books move.

Markets are quoted around the fair probability of the weather the sandbox itself forecasts, with
a spread wide enough that no edge exists. Then, on a fixed cycle, a careless seller dumps YES on
NYC's most likely bucket and a careless buyer bids up an unlikely London bucket (a NO edge);
both are gone a few seconds later. So every cycle opens and closes real edges, and a 30-second
demo sees at least one (the moves are ``moves``'s). Other traders' orders on the other buckets
are ``flow``'s.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from weatheredge.model.buckets import Rounding, Unit, c_to_f, parse_bucket_label
from weatheredge.model.probability import DEFAULT_MIN_SIGMA
from weatheredge.sandbox.venue import Venue
from weatheredge.sandbox.weather import WeatherState

NYC = (40.777242, -73.872606, "America/New_York")
LONDON = (51.5053, 0.05528, "Europe/London")

NOAA_RULES = (
    "This market will resolve to the temperature range that contains the {extreme} temperature "
    "recorded by NOAA at the {station_name} in degrees {unit_name} on {day}. The resolution "
    "source for this market will be information from NOAA, specifically the {extreme} reading "
    'under the "Temp" column for all times on this day, available here: {url}. This market will '
    'resolve off of the Hourly Data provided using the "Show Hourly Data" button. The resolution '
    "source for this market measures temperatures to whole degrees {unit_name} (eg, 21°{u})."
)
HKO_RULES = (
    "This market will resolve to the temperature range that contains the highest temperature "
    "recorded by the Hong Kong Observatory in degrees Celsius on {day}, as published in its Daily "
    "Extract at {url}. The Hong Kong Observatory measures temperatures in Celsius to one decimal "
    "place; a bucket such as 21°C covers 21.0-21.9°C."
)


def token_id(name: str) -> str:
    """A 77-digit decimal id, stable per name (real ids are uint256 in decimal)."""
    digest = hashlib.sha256(name.encode()).digest()
    return str(int.from_bytes(digest, "big"))[:77].rjust(77, "1")


@dataclass(frozen=True)
class EventSpec:
    slug_city: str
    title_city: str
    question_city: str
    extreme: str  # "highest" / "lowest"
    unit: Unit
    lat: float
    lon: float
    tz: str
    mean_c: float
    spread_c: float
    labels: tuple[str, ...]
    rules: str
    url: str
    station_name: str
    version: str = "v1"
    tick: float = 0.01


def _ladder_f(lo: int) -> tuple[str, ...]:
    inner = [f"{a}-{a + 1}°F" for a in range(lo + 1, lo + 19, 2)]
    return (f"{lo}°F or below", *inner, f"{lo + 19}°F or higher")


def _ladder_c(lo: int) -> tuple[str, ...]:
    return (
        f"{lo}°C or below",
        *[f"{c}°C" for c in range(lo + 1, lo + 10)],
        f"{lo + 10}°C or higher",
    )


def event_specs() -> list[EventSpec]:
    return [
        EventSpec(
            "nyc",
            "NYC",
            "New York City",
            "highest",
            Unit.F,
            *NYC,
            8.0,
            1.0,
            _ladder_f(37),
            NOAA_RULES,
            "https://www.weather.gov/wrh/timeseries?site=klga",
            "LaGuardia Airport Station",
        ),
        EventSpec(
            "nyc",
            "NYC",
            "New York City",
            "lowest",
            Unit.F,
            *NYC,
            1.0,
            1.2,
            _ladder_f(24),
            NOAA_RULES,
            "https://www.weather.gov/wrh/timeseries?site=klga",
            "LaGuardia Airport Station",
        ),
        EventSpec(
            "london",
            "London",
            "London",
            "highest",
            Unit.C,
            *LONDON,
            10.0,
            0.8,
            _ladder_c(5),
            NOAA_RULES,
            "https://www.weather.gov/wrh/timeseries?site=eglc",
            "London City Airport Station",
            version="v2",
            tick=0.001,
        ),
        EventSpec(
            "hong-kong",
            "Hong Kong",
            "Hong Kong",
            "highest",
            Unit.C,
            22.3,
            114.17,
            "Asia/Hong_Kong",
            21.0,
            0.8,
            _ladder_c(16),
            HKO_RULES,
            "https://www.weather.gov.hk/en/cis/climat.htm",
            "Hong Kong Observatory",
        ),
    ]


def local_tomorrow(tz: str, now: dt.datetime) -> dt.date:
    return (now.astimezone(ZoneInfo(tz)) + dt.timedelta(days=1)).date()


def fair_probs(spec: EventSpec) -> list[float]:
    """What a well-calibrated model would say, from the same distribution the weather serves."""
    unit = spec.unit
    mean = c_to_f(spec.mean_c) if unit is Unit.F else spec.mean_c
    spread = spec.spread_c * (1.8 if unit is Unit.F else 1.0)
    sd = math.sqrt(spread**2 + DEFAULT_MIN_SIGMA[unit] ** 2)
    rounding = Rounding.FLOOR if spec.rules is HKO_RULES else Rounding.HALF_UP
    out = []
    for label in spec.labels:
        lo, hi = parse_bucket_label(label).preimage(rounding)
        out.append(max(0.002, _cdf(hi, mean, sd) - _cdf(lo, mean, sd)))
    total = sum(out)
    return [p / total for p in out]


def _cdf(x: float, mean: float, sd: float) -> float:
    if math.isinf(x):
        return 1.0 if x > 0 else 0.0
    return 0.5 * (1 + math.erf((x - mean) / (sd * math.sqrt(2))))


def gamma_event(spec: EventSpec, day: dt.date, event_id: int) -> dict[str, Any]:
    month = day.strftime("%B")
    slug = f"{spec.extreme}-temperature-in-{spec.slug_city}-on-{month.lower()}-{day.day}-{day.year}"
    rules = spec.rules.format(
        extreme=spec.extreme,
        station_name=spec.station_name,
        day=day.strftime("%d %b '%y"),
        url=spec.url,
        unit_name="Fahrenheit" if spec.unit is Unit.F else "Celsius",
        u=spec.unit.value,
    )
    markets = [
        _gamma_market(spec, slug, label, i, p, rules, day, event_id)
        for i, (label, p) in enumerate(zip(spec.labels, fair_probs(spec), strict=True))
    ]
    return {
        "id": str(event_id),
        "ticker": slug,
        "slug": slug,
        "title": f"{spec.extreme.capitalize()} temperature in {spec.title_city} "
        f"on {month} {day.day}?",
        "description": rules,
        "resolutionSource": spec.url,
        "startDate": f"{day - dt.timedelta(days=2)}T10:00:00Z",
        "endDate": f"{day}T12:00:00Z",
        "eventDate": day.isoformat(),
        "active": True,
        "closed": False,
        "archived": False,
        "enableOrderBook": True,
        "negRisk": True,
        "enableNegRisk": True,
        "seriesSlug": f"{spec.slug_city}-daily-weather",
        "tags": [
            {"id": "84", "label": "Weather", "slug": "weather"},
            {"id": "103040", "label": "Daily Temperature", "slug": "daily-temperature"},
            {
                "id": "104596",
                "label": f"{spec.extreme.capitalize()} temperature",
                "slug": f"{spec.extreme}-temperature",
            },
        ],
        "markets": markets,
    }


def _gamma_market(
    spec: EventSpec,
    slug: str,
    label: str,
    index: int,
    p: float,
    rules: str,
    day: dt.date,
    event_id: int,
) -> dict[str, Any]:
    yes, no = token_id(f"{slug}/{label}/yes"), token_id(f"{slug}/{label}/no")
    price = round(p, 3 if spec.tick < 0.01 else 2)
    market: dict[str, Any] = {
        "id": str(event_id * 100 + index),
        "question": f"Will the {spec.extreme} temperature in {spec.question_city} be {label} "
        f"on {day.strftime('%B')} {day.day}?",
        "conditionId": "0x" + hashlib.sha256(f"{slug}/{label}".encode()).hexdigest(),
        "slug": f"{slug}-{index}",
        "groupItemTitle": label,
        "groupItemThreshold": str(index),
        "resolutionSource": spec.url,
        "description": rules,
        "outcomes": json.dumps(["Yes", "No"]),
        "outcomePrices": json.dumps([str(price), str(round(1 - price, 3))]),
        "version": spec.version,
        "active": True,
        "closed": False,
        "archived": False,
        "acceptingOrders": True,
        "enableOrderBook": True,
        "negRisk": True,
        "orderPriceMinTickSize": spec.tick,
        "orderMinSize": 5,
        "feesEnabled": True,
        "feeType": "weather_fees",
        "feeSchedule": {"rate": "0.05", "exponent": 1, "takerOnly": True, "rebateRate": "0.25"},
    }
    if spec.version == "v2":
        market["positionIds"] = [yes, no]
        market["clobTokenIds"] = None
    else:
        market["clobTokenIds"] = json.dumps([yes, no])
    return market


def stale_event(day: dt.date) -> dict[str, Any]:
    """Gamma still lists some long-gone events as active, without token ids (polymarket.md §6.3)."""
    return {
        "id": "199999",
        "slug": "highest-temperature-in-nyc-on-may-17-2026",
        "title": "Highest temperature in NYC on May 17?",
        "eventDate": "2026-05-17",
        "active": True,
        "closed": False,
        "description": "",
        "resolutionSource": "",
        "tags": [{"id": "103040", "label": "Daily Temperature", "slug": "daily-temperature"}],
        "markets": [
            {
                "id": "1999990",
                "groupItemTitle": "70-71°F",
                "outcomes": '["Yes", "No"]',
                "active": True,
                "closed": False,
                "enableOrderBook": True,
            }
        ],
    }


@dataclass
class Quoted:
    spec: EventSpec
    event: dict[str, Any]
    probs: list[float]

    def tokens(self, index: int) -> tuple[str, str]:
        market = self.event["markets"][index]
        ids = market.get("positionIds") or json.loads(market["clobTokenIds"])
        return ids[0], ids[1]

    def price(self, p: float) -> str:
        decimals = 3 if self.spec.tick < 0.01 else 2
        tick = self.spec.tick
        clamped = min(max(p, tick), 1 - tick)
        return f"{clamped:.{decimals}f}"


def install(venue: Venue, weather: WeatherState, now: dt.datetime) -> list[Quoted]:
    """Publish the events, their weather and fair, edge-free books."""
    quoted = []
    for n, spec in enumerate(event_specs()):
        day = local_tomorrow(spec.tz, now)
        weather.set_daily(
            spec.lat,
            spec.lon,
            day,
            spec.mean_c,
            spec.spread_c,
            "max" if spec.extreme == "highest" else "min",
        )
        event = gamma_event(spec, day, 250000 + n)
        venue.add_event(event)
        q = Quoted(spec, event, fair_probs(spec))
        for i, p in enumerate(q.probs):
            quote_fair(venue, q, i, p)
        quoted.append(q)
    venue.add_event(stale_event(now.date()))
    _seed_metars(weather, now)
    return quoted


def quote_fair(venue: Venue, q: Quoted, index: int, p: float) -> None:
    yes, _ = q.tokens(index)
    bids, asks = fair_levels(q, p)
    venue.set_book(yes, bids=bids, asks=asks)


def fair_levels(q: Quoted, p: float) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """A bucket's edge-free YES book around ``p``: (bids, asks), best level last."""
    bid, ask = q.price(p - 0.03), q.price(p + 0.03)
    if bid >= ask:
        bid = q.price(float(ask) - 2 * q.spec.tick)
    return [(q.price(p - 0.05), "400"), (bid, "150")], [(q.price(p + 0.05), "400"), (ask, "150")]


def _seed_metars(weather: WeatherState, now: dt.datetime) -> None:
    for hours in range(6, 0, -1):
        at = now.replace(minute=51, second=0, microsecond=0) - dt.timedelta(hours=hours)
        weather.add_metar("KLGA", at, 5.0 + 0.4 * (6 - hours))
        weather.add_metar("EGLC", at.replace(minute=20), 9.0 + 0.3 * (6 - hours))

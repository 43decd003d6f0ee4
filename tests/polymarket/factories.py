"""Gamma event dicts shaped exactly as the venue serves them (JSON-string fields included)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

NOAA_RULES = (
    "This market will resolve to the temperature range that contains the {extreme} temperature "
    "recorded by NOAA at the LaGuardia Airport Station in degrees Fahrenheit on {day}. "
    "The resolution source is https://www.weather.gov/wrh/timeseries?site=klga (Show Hourly "
    "Data), whole degrees Fahrenheit."
)
WU_C_RULES = (
    "This market will resolve to the temperature range that contains the {extreme} temperature "
    "recorded at the London City Airport Station in degrees Celsius on {day}, as reported by "
    "https://www.wunderground.com/history/daily/gb/london/EGLC"
)


def token_id(*parts: object) -> str:
    """A deterministic 77-digit decimal id, like the CLOB's."""
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()
    return str(int(digest, 16))[:77]


def f_labels(low: int = 39, middles: int = 9) -> list[str]:
    """``39°F or below``, 2 °F buckets, ``NN°F or higher``: the usual 11-bucket ladder."""
    labels = [f"{low}°F or below"]
    edge = low + 1
    for _ in range(middles):
        labels.append(f"{edge}-{edge + 1}°F")
        edge += 2
    labels.append(f"{edge}°F or higher")
    return labels


def c_labels(low: int = 10, middles: int = 9) -> list[str]:
    return [
        f"{low}°C or below",
        *(f"{low + 1 + i}°C" for i in range(middles)),
        f"{low + middles + 1}°C or higher",
    ]


def make_market(
    slug: str, index: int, label: str, *, version: str = "v1", **overrides: Any
) -> dict[str, Any]:
    yes, no = token_id(slug, label, "yes"), token_id(slug, label, "no")
    market: dict[str, Any] = {
        # Gamma market ids are unique across events, like the tokens.
        "id": str(int(hashlib.sha256(f"{slug}#{index}".encode()).hexdigest()[:12], 16)),
        "question": f"Will the temperature be {label}?",
        "conditionId": "0x" + hashlib.sha256(f"{slug}{label}".encode()).hexdigest(),
        "slug": f"{slug}-{index}",
        "groupItemTitle": label,
        "groupItemThreshold": str(index),
        "outcomes": json.dumps(["Yes", "No"]),
        "outcomePrices": json.dumps(["0.1", "0.9"]),
        "version": version,
        "active": True,
        "closed": False,
        "archived": False,
        "acceptingOrders": True,
        "enableOrderBook": True,
        "negRisk": True,
        "orderPriceMinTickSize": 0.01,
        "orderMinSize": 5,
        "feesEnabled": True,
        "feeType": "weather_fees",
        "feeSchedule": {"rate": "0.05", "exponent": 1, "takerOnly": True, "rebateRate": "0.25"},
        "endDate": "2026-11-26T12:00:00Z",
    }
    if version == "v2":
        market["positionIds"] = [yes, no]
        market["clobTokenIds"] = json.dumps([token_id(slug, label, "ctf-yes"), "1"])
    else:
        market["clobTokenIds"] = json.dumps([yes, no])
    market.update(overrides)
    return market


def make_event(
    city: str = "NYC",
    day: dt.date = dt.date(2026, 11, 25),
    *,
    extreme: str = "highest",
    labels: list[str] | None = None,
    rules: str = NOAA_RULES,
    source: str = "https://www.weather.gov/wrh/timeseries?site=klga",
    version: str = "v1",
    event_id: str = "250000",
    tags: tuple[str, ...] = ("weather", "daily-temperature"),
    **overrides: Any,
) -> dict[str, Any]:
    slug = f"{extreme}-temperature-in-{city.lower().replace(' ', '-')}-on-" + (
        f"{day.strftime('%B').lower()}-{day.day}-{day.year}"
    )
    labels = labels or f_labels()
    event: dict[str, Any] = {
        "id": event_id,
        "ticker": slug,
        "slug": slug,
        "title": f"{extreme.capitalize()} temperature in {city} on {day.strftime('%B')} {day.day}?",
        "description": rules.format(extreme=extreme, day=day.isoformat()),
        "resolutionSource": source,
        "startDate": (day - dt.timedelta(days=2)).isoformat() + "T10:00:00Z",
        "creationDate": (day - dt.timedelta(days=2)).isoformat() + "T10:00:00Z",
        "endDate": (day + dt.timedelta(days=1)).isoformat() + "T12:00:00Z",
        "eventDate": day.isoformat(),
        "active": True,
        "closed": False,
        "archived": False,
        "enableOrderBook": True,
        "negRisk": True,
        "enableNegRisk": True,
        "negRiskMarketID": "0x6e1f00",
        "tags": [{"id": str(i), "label": t.title(), "slug": t} for i, t in enumerate(tags)],
        "markets": [make_market(slug, i, label, version=version) for i, label in enumerate(labels)],
    }
    event.update(overrides)
    return event

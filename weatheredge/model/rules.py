"""Resolution rules read from an event's own text: which station, which unit, which source.

Never from a hard-coded city table: stations and sources change per city and per date
(NYC moved from Weather Underground to NOAA's hourly table on 2026-08-23).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from weatheredge.model.buckets import Rounding, Unit


class Extreme(enum.StrEnum):
    HIGH = "high"
    LOW = "low"


class SourceKind(enum.StrEnum):
    NOAA_WRH = "noaa_wrh"
    WUNDERGROUND = "wunderground"
    HKO = "hko"
    CWA = "cwa"
    OTHER = "other"


class ObservationFeed(enum.StrEnum):
    """Which official feed reports the resolving station's readings during the day."""

    METAR = "metar"  # aviationweather (the NWS API as second source for US stations)
    HKO = "hko"  # Hong Kong Observatory open data
    CWA = "cwa"  # Taiwan Central Weather Administration open data


@dataclass(frozen=True, slots=True)
class ResolutionRule:
    extreme: Extreme
    unit: Unit
    source: SourceKind
    rounding: Rounding
    # ICAO code, upper case. Sources without one use their own code ("HKO"), which the
    # airport table lacks: such a station is priced only once weather.stations supplies it.
    station: str | None
    hourly_only: bool

    @property
    def from_metar(self) -> bool:
        """True when airport reports (METAR/SPECI) reproduce the resolution value."""
        return self.source not in (SourceKind.HKO, SourceKind.CWA)

    @property
    def observation_feed(self) -> ObservationFeed:
        if self.source is SourceKind.HKO:
            return ObservationFeed.HKO
        if self.source is SourceKind.CWA and self.station is not None and self.station.isdigit():
            return ObservationFeed.CWA
        return ObservationFeed.METAR  # an airport named in CWA-era rules still files METARs


_TITLE = re.compile(
    r"^(highest|lowest)\s+temperature\s+in\s+(.+?)\s+on\s+([A-Za-z]+\s+\d{1,2})\??$", re.I
)
_STATION_PARAM = re.compile(r"(?:site|stid|ids|station)=([A-Za-z]{4})(?![A-Za-z0-9])", re.I)
_STATION_SEGMENT = re.compile(r"/([A-Za-z]{4})(?=$|[/?#])")
_STATION_IN_TEXT = re.compile(r"\b(?i:station|airport)\b[^.]*?\(([A-Z]{4})\)")
# CWA manned stations are 46xxx0 (the WMO number 46692 is CWA 466920, Taipei).
_CWA_STATION = re.compile(r"(?<![\d.])(46\d{3})0?(?![\d.])")
_URL = re.compile(r"https?://[^\s\"'<>)]+?(?=[.,;:]?(?:\s|$|[\"'<>)]))")


@dataclass(frozen=True, slots=True)
class EventTitle:
    extreme: Extreme
    city: str


def parse_title(title: str) -> EventTitle | None:
    """``Highest temperature in NYC on November 25?`` -> (HIGH, "NYC"); None if not one."""
    m = _TITLE.match(title.strip())
    if not m:
        return None
    extreme = Extreme.HIGH if m.group(1).lower() == "highest" else Extreme.LOW
    return EventTitle(extreme, m.group(2).strip())


def _source_kind(text: str) -> SourceKind:
    lower = text.lower()
    if "weather.gov/wrh" in lower or "noaa" in lower:
        return SourceKind.NOAA_WRH
    if "wunderground" in lower:
        return SourceKind.WUNDERGROUND
    if "weather.gov.hk" in lower or "hong kong observatory" in lower:
        return SourceKind.HKO
    if "cwa.gov.tw" in lower or "central weather" in lower:
        return SourceKind.CWA
    return SourceKind.OTHER


def _unit(text: str) -> Unit | None:
    lower = text.lower()
    if "degrees fahrenheit" in lower or "°f" in lower:
        return Unit.F
    if "degrees celsius" in lower or "°c" in lower:
        return Unit.C
    return None


def find_station(resolution_source: str, description: str) -> str | None:
    """ICAO code from the resolution URL, else from URLs or a '(KLGA)' mention in the rules."""
    for text in (resolution_source, *_URL.findall(description)):
        path = re.sub(r"^https?://[^/]+", "", text or "")
        if m := _STATION_PARAM.search(path):
            return m.group(1).upper()
        # WU history URLs end with the code (…/new-york-city/KLGA); a city such as "doha" can be
        # a 4-letter segment too, so only the last segment counts.
        segments = _STATION_SEGMENT.findall(path)
        if segments:
            return segments[-1].upper()
    if m := _STATION_IN_TEXT.search(description):
        return m.group(1)
    return None


def parse_rule(
    title: str, description: str, resolution_source: str, label_unit: Unit | None = None
) -> ResolutionRule:
    """Read the resolution rule from the event's text. Raises ValueError saying what is missing.

    The unit comes from the rules text, falling back to the bucket labels' unit.
    One-decimal sources (HKO, CWA, or rules saying "one decimal place") settle by floor.
    """
    head = parse_title(title)
    if head is None:
        raise ValueError(f"not a daily temperature title: {title!r}")
    source = _source_kind(f"{resolution_source} {description}")
    unit = _unit(description) or label_unit
    if unit is None:
        raise ValueError("unit not stated in rules or labels")
    if label_unit is not None and unit is not label_unit:
        unit = label_unit  # the labels are what is traded; the prose sometimes mentions both
    one_decimal = "one decimal" in description.lower() or source in (SourceKind.HKO, SourceKind.CWA)
    station = find_station(resolution_source, description)
    if station is None and source is SourceKind.HKO:
        station = "HKO"
    if station is None and source is SourceKind.CWA:
        if m := _CWA_STATION.search(f"{resolution_source} {description}"):
            station = f"{m.group(1)}0"
    if station is None:
        raise ValueError("no station (ICAO) in resolutionSource or rules")
    return ResolutionRule(
        extreme=head.extreme,
        unit=unit,
        source=source,
        rounding=Rounding.FLOOR if one_decimal else Rounding.HALF_UP,
        station=station,
        hourly_only="hourly data" in description.lower(),
    )

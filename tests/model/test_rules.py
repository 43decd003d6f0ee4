"""Resolution rules from title, description, resolutionSource.

See weather.md §1.3 and polymarket.md §3.4-3.5.
"""

from __future__ import annotations

import pytest

from weatheredge.model.buckets import Rounding, Unit
from weatheredge.model.rules import (
    EventTitle,
    Extreme,
    ObservationFeed,
    ResolutionRule,
    SourceKind,
    find_station,
    parse_rule,
    parse_title,
)

# Verbatim (weather.md §1.3), NOAA era, NYC 2026-09-15.
NOAA_NYC = (
    "This market will resolve to the temperature range that contains the highest temperature "
    "recorded by NOAA at the LaGuardia Airport Station in degrees Fahrenheit on 15 Sep '26. The "
    "resolution source for this market will be information from NOAA, specifically the highest "
    'reading under the "Temp" column for all times on this day, available here: '
    "https://www.weather.gov/wrh/timeseries?site=klga. This market will resolve off of the Hourly "
    'Data provided using the "Show Hourly Data" button. If NOAA data for the observation date is '
    "unavailable by 11:59 PM ET on the day following the observation date, the Weather Underground "
    "Daily Observations table will be used as the resolution source. In the event that there is no "
    "data for the observation date by 11:59 PM ET on the day following the observation date, this "
    "market will resolve to the lowest bracket. This market will resolve once the first data point "
    "for the following date has been published on the resolution source, or by 11:59 PM ET on the "
    "day following the observation date, whichever comes first. Revisions … considered until the "
    "first data point for the following date has been published …"
)
NOAA_NYC_SOURCE = "https://www.weather.gov/wrh/timeseries?site=klga"

# Verbatim (weather.md §1.3), WU era, NYC 2026-07-21.
WU_NYC = (
    "This market will resolve to the temperature range that contains the highest temperature "
    "recorded at the LaGuardia Airport Station in degrees Fahrenheit on 21 Jul '26. The resolution "
    "source for this market will be information from Wunderground, specifically the highest "
    "temperature recorded for all times on this day for the LaGuardia Airport Station, available "
    "here: https://www.wunderground.com/history/daily/us/ny/new-york-city/KLGA. The resolution "
    "source for this market measures temperatures to whole degrees Fahrenheit (eg, 21°F). … "
    "Revisions to temperatures recorded within this market's timeframe will be considered until "
    "the first datapoint for the following date has been published, after which any alterations "
    "will not be considered."
)
WU_NYC_SOURCE = "https://www.wunderground.com/history/daily/us/ny/new-york-city/KLGA"

# London, °C, NOAA era (shape per weather.md §1.3: non-US adds the metric toggle, no hourly clause).
NOAA_LONDON = (
    "This market will resolve to the temperature range that contains the highest temperature "
    "recorded by NOAA at the London City Airport Station in degrees Celsius on 15 Sep '26. The "
    "resolution source for this market will be information from NOAA, specifically the highest "
    'reading under the "Temp" column for all times on this day, available here: '
    "https://www.weather.gov/wrh/timeseries?site=EGLC. To toggle between Fahrenheit and Celsius, "
    'click the "Switch to Metric Units" button. The resolution source for this market measures '
    "temperatures to whole degrees Celsius (eg, 9°C)."
)
NOAA_LONDON_SOURCE = "https://www.weather.gov/wrh/timeseries?site=EGLC"

WU_LONDON = (
    "This market will resolve to the temperature range that contains the highest temperature "
    "recorded at the London City Airport Station in degrees Celsius on 14 Dec '25. The resolution "
    "source for this market will be information from Wunderground, available here: "
    "https://www.wunderground.com/history/daily/gb/london/EGLC. The resolution source for this "
    "market measures temperatures to whole degrees Celsius (eg, 9°C)."
)

HKO_HK = (
    "This market will resolve to the temperature range that contains the highest temperature "
    "recorded by the Hong Kong Observatory in degrees Celsius on 15 Sep '26. The resolution source "
    "for this market will be information from the Hong Kong Observatory, specifically the "
    '"Absolute Daily Max (deg. C)" in the Daily Extract, available here: '
    "https://www.weather.gov.hk/en/cis/climat.htm. The resolution source for this market measures "
    "temperatures in Celsius to one decimal place (eg, 33.9°C); if a market's title indicates "
    "33°C, all temperatures within the range 33.0-33.9°C will qualify."
)
HKO_SOURCE = "https://www.weather.gov.hk/en/cis/climat.htm"


# --- titles --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Highest temperature in NYC on November 25?", EventTitle(Extreme.HIGH, "NYC")),
        ("Highest temperature in NYC on November 25", EventTitle(Extreme.HIGH, "NYC")),
        ("Lowest temperature in NYC on June 4?", EventTitle(Extreme.LOW, "NYC")),
        ("Highest temperature in London on September 15?", EventTitle(Extreme.HIGH, "London")),
        ("Highest temperature in Hong Kong on May 3?", EventTitle(Extreme.HIGH, "Hong Kong")),
        (
            "Highest temperature in Seoul (Incheon) on May 13?",
            EventTitle(Extreme.HIGH, "Seoul (Incheon)"),
        ),
        (
            "Lowest temperature in Buenos Aires on July 1?",
            EventTitle(Extreme.LOW, "Buenos Aires"),
        ),
        ("highest TEMPERATURE in nyc on november 25?", EventTitle(Extreme.HIGH, "nyc")),
        ("  Highest temperature in NYC on November 25?  ", EventTitle(Extreme.HIGH, "NYC")),
    ],
)
def test_parse_title(title: str, expected: EventTitle) -> None:
    assert parse_title(title) == expected


@pytest.mark.parametrize(
    "title",
    [
        "Will Bitcoin reach $150k in November?",
        "Highest temperature in NYC?",
        "How hot will NYC get on November 25?",
        "Highest rainfall in NYC on November 25?",
        "Temperature in NYC on November 25?",
        "",
    ],
)
def test_parse_title_rejects_non_temperature(title: str) -> None:
    assert parse_title(title) is None


# --- stations ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "description", "expected"),
    [
        (NOAA_NYC_SOURCE, "", "KLGA"),  # lower-case site= is upper-cased
        (WU_NYC_SOURCE, "", "KLGA"),
        (NOAA_LONDON_SOURCE, "", "EGLC"),
        ("https://www.wunderground.com/history/daily/gb/london/EGLC", "", "EGLC"),
        ("https://www.wunderground.com/weather/KLGA", "", "KLGA"),  # Dec 2025 form
        ("https://www.wunderground.com/history/daily/kr/incheon/RKSI", "", "RKSI"),
        ("https://www.wunderground.com/history/daily/us/co/aurora/KBKF", "", "KBKF"),
        ("", NOAA_NYC, "KLGA"),  # URL inside the rules text
        ("", WU_NYC, "KLGA"),
        ("", NOAA_LONDON, "EGLC"),
        (None, NOAA_NYC, "KLGA"),
        # resolutionSource wins over the description
        ("https://www.weather.gov/wrh/timeseries?site=kord", NOAA_NYC, "KORD"),
        # a '(KLGA)' mention in prose, no URL
        ("", "recorded at the LaGuardia Airport Station (KLGA) in degrees Fahrenheit.", "KLGA"),
        ("", "recorded at the LaGuardia airport station (KLGA) in degrees Fahrenheit.", "KLGA"),
        (HKO_SOURCE, HKO_HK, None),
        ("", "no station here at all.", None),
    ],
)
def test_find_station(source: str | None, description: str, expected: str | None) -> None:
    assert find_station(source, description) == expected  # type: ignore[arg-type]


def test_station_regex_does_not_take_longer_words() -> None:
    # "/timeseries", "/history" and "/daily" start with four letters but are not 4-letter codes.
    assert find_station("https://www.weather.gov/wrh/timeseries?site=kmia", "") == "KMIA"
    assert find_station("https://www.wunderground.com/history/daily/us/fl/miami/KMIA", "") == "KMIA"
    assert find_station("https://example.com/KLGAX", "") is None


# --- full rules ----------------------------------------------------------------------------------


def test_noaa_era_nyc() -> None:
    rule = parse_rule("Highest temperature in NYC on September 15?", NOAA_NYC, NOAA_NYC_SOURCE)
    assert rule == ResolutionRule(
        extreme=Extreme.HIGH,
        unit=Unit.F,
        source=SourceKind.NOAA_WRH,
        rounding=Rounding.HALF_UP,
        station="KLGA",
        hourly_only=True,
    )


def test_noaa_era_without_resolution_source_field() -> None:
    rule = parse_rule("Highest temperature in NYC on September 15?", NOAA_NYC, "")
    assert rule.source is SourceKind.NOAA_WRH
    assert rule.station == "KLGA"


def test_noaa_wins_over_wunderground_fallback_mention() -> None:
    # The NOAA-era text names Weather Underground as the fallback; the primary is NOAA.
    assert "Weather Underground" in NOAA_NYC
    rule = parse_rule("Highest temperature in NYC on September 15?", NOAA_NYC, NOAA_NYC_SOURCE)
    assert rule.source is SourceKind.NOAA_WRH


def test_wu_era_nyc() -> None:
    rule = parse_rule("Highest temperature in NYC on July 21?", WU_NYC, WU_NYC_SOURCE)
    assert rule == ResolutionRule(
        extreme=Extreme.HIGH,
        unit=Unit.F,
        source=SourceKind.WUNDERGROUND,
        rounding=Rounding.HALF_UP,
        station="KLGA",
        hourly_only=False,
    )


def test_london_celsius_noaa() -> None:
    rule = parse_rule(
        "Highest temperature in London on September 15?",
        NOAA_LONDON,
        NOAA_LONDON_SOURCE,
        label_unit=Unit.C,
    )
    assert rule == ResolutionRule(
        extreme=Extreme.HIGH,
        unit=Unit.C,
        source=SourceKind.NOAA_WRH,
        rounding=Rounding.HALF_UP,
        station="EGLC",
        hourly_only=False,
    )


def test_london_celsius_from_prose_alone() -> None:
    # The toggle sentence mentions "Fahrenheit" but not "degrees Fahrenheit" or "°F".
    rule = parse_rule("Highest temperature in London on September 15?", NOAA_LONDON, "")
    assert rule.unit is Unit.C


def test_london_wu_era() -> None:
    rule = parse_rule("Highest temperature in London on December 14?", WU_LONDON, "")
    assert (rule.source, rule.station, rule.unit, rule.rounding) == (
        SourceKind.WUNDERGROUND,
        "EGLC",
        Unit.C,
        Rounding.HALF_UP,
    )


def test_hong_kong_hko_floor_observatory_code() -> None:
    rule = parse_rule("Highest temperature in Hong Kong on September 15?", HKO_HK, HKO_SOURCE)
    assert rule == ResolutionRule(
        extreme=Extreme.HIGH,
        unit=Unit.C,
        source=SourceKind.HKO,
        rounding=Rounding.FLOOR,
        station="HKO",
        hourly_only=False,
    )


def test_hko_source_detected_from_name_only() -> None:
    text = "recorded by the Hong Kong Observatory in degrees Celsius."
    rule = parse_rule("Highest temperature in Hong Kong on May 3?", text, "")
    assert rule.source is SourceKind.HKO
    assert rule.rounding is Rounding.FLOOR
    assert rule.station == "HKO"


def test_one_decimal_phrase_means_floor() -> None:
    text = (
        "recorded at the Taipei Songshan Airport Station in degrees Celsius, available here: "
        "https://www.wunderground.com/history/daily/tw/taipei/RCSS. The resolution source for "
        "this market measures temperatures in Celsius to one decimal place."
    )
    rule = parse_rule("Highest temperature in Taipei on March 22?", text, "")
    assert rule.rounding is Rounding.FLOOR
    assert rule.station == "RCSS"


def test_cwa_source_floor() -> None:
    text = (
        "recorded by the Central Weather Administration at Taipei Songshan Airport (RCSS) in "
        "degrees Celsius."
    )
    rule = parse_rule("Highest temperature in Taipei on March 22?", text, "")
    assert rule.source is SourceKind.CWA
    assert rule.rounding is Rounding.FLOOR
    assert rule.station == "RCSS"


@pytest.mark.parametrize(
    ("description", "source"),
    [(NOAA_NYC.replace("highest", "lowest"), NOAA_NYC_SOURCE), (WU_NYC, WU_NYC_SOURCE)],
)
def test_lowest_temperature_title(description: str, source: str) -> None:
    rule = parse_rule("Lowest temperature in NYC on June 4?", description, source)
    assert rule.extreme is Extreme.LOW
    assert rule.unit is Unit.F
    assert rule.station == "KLGA"


@pytest.mark.parametrize(
    "title",
    ["Will it rain in NYC on November 25?", "NYC weather", "Highest temperature in NYC in 2026?"],
)
def test_non_temperature_title_raises(title: str) -> None:
    with pytest.raises(ValueError, match="not a daily temperature title"):
        parse_rule(title, NOAA_NYC, NOAA_NYC_SOURCE)


def test_missing_unit_raises() -> None:
    text = "recorded at https://www.weather.gov/wrh/timeseries?site=klga."
    with pytest.raises(ValueError, match="unit"):
        parse_rule("Highest temperature in NYC on November 25?", text, "")


def test_unit_falls_back_to_labels() -> None:
    text = "recorded at https://www.weather.gov/wrh/timeseries?site=klga."
    rule = parse_rule("Highest temperature in NYC on November 25?", text, "", label_unit=Unit.F)
    assert rule.unit is Unit.F


def test_label_unit_wins_over_prose() -> None:
    # London traded °C ladders while old prose could still mention °F.
    text = WU_LONDON.replace("degrees Celsius", "degrees Fahrenheit")
    rule = parse_rule("Highest temperature in London on December 14?", text, "", label_unit=Unit.C)
    assert rule.unit is Unit.C


def test_missing_station_raises() -> None:
    text = "recorded by NOAA in degrees Fahrenheit."
    with pytest.raises(ValueError, match="station"):
        parse_rule("Highest temperature in NYC on November 25?", text, "")


def test_other_source_kind() -> None:
    text = "recorded at https://example.org/obs/KLGA in degrees Fahrenheit."
    rule = parse_rule("Highest temperature in NYC on November 25?", text, "")
    assert rule.source is SourceKind.OTHER
    assert rule.station == "KLGA"


@pytest.mark.parametrize(
    ("text", "source"),
    [
        (
            "recorded by the Central Weather Administration at its Taipei station (46692) in "
            "degrees Celsius. The resolution source measures temperatures to one decimal place.",
            "",
        ),
        (
            "recorded by the Central Weather Administration in degrees Celsius.",
            "https://www.cwa.gov.tw/V8/E/W/OBS_Station.html?ID=466920",
        ),
    ],
)
def test_cwa_station_number_selects_the_cwa_feed(text: str, source: str) -> None:
    rule = parse_rule("Highest temperature in Taipei on March 22?", text, source)
    assert rule.source is SourceKind.CWA and rule.station == "466920"
    assert rule.rounding is Rounding.FLOOR
    assert rule.observation_feed is ObservationFeed.CWA


def test_observation_feed_by_source() -> None:
    hk = parse_rule("Highest temperature in Hong Kong on September 15?", HKO_HK, HKO_SOURCE)
    assert hk.observation_feed is ObservationFeed.HKO
    nyc = parse_rule("Highest temperature in NYC on June 4?", NOAA_NYC, NOAA_NYC_SOURCE)
    assert nyc.observation_feed is ObservationFeed.METAR
    text = "recorded by the Central Weather Administration at Taipei Songshan Airport (RCSS) in °C."
    songshan = parse_rule("Highest temperature in Taipei on March 22?", text, "")
    assert songshan.observation_feed is ObservationFeed.METAR  # an airport: its METARs

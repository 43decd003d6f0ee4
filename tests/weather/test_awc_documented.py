"""aviationweather JSON records in the documented forms (weather.md §2.5 and public captures).

Values worked by hand: the T-group wins over ``temp`` (tenths °C), a body-only report is whole
°C, ``receiptTime``/``reportTime`` may be either capture's format, and one odd record never
loses the others.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from weatheredge.model.buckets import Rounding, Unit, settle_from_celsius
from weatheredge.model.day_extreme import read_day
from weatheredge.model.rules import SourceKind
from weatheredge.model.settling import SettlingRule
from weatheredge.weather.errors import WeatherError
from weatheredge.weather.metar import decode_metars

# weather.md §2.5, verbatim.
KLGA_2351 = {
    "icaoId": "KLGA",
    "receiptTime": "2025-11-25 23:54:12",
    "obsTime": 1764114660,
    "reportTime": "2025-11-26 00:00:00",
    "temp": 11.7,
    "dewp": -1.1,
    "wdir": 310,
    "wspd": 12,
    "wgst": None,
    "visib": "10+",
    "altim": 1019.2,
    "slp": 1019.1,
    "maxT": 15.6,
    "minT": 11.1,
    "maxT24": None,
    "minT24": None,
    "metarType": "METAR",
    "rawOb": (
        "KLGA 252351Z 31012KT 10SM FEW250 12/M01 A3010 RMK AO2 SLP191 T01171011 10156 20111 53012"
    ),
    "lat": 40.7794,
    "lon": -73.8803,
    "elev": 3,
    "name": "New York/LaGuardia Arpt, NY, US",
    "clouds": [{"cover": "FEW", "base": 25000}],
    "fltCat": "VFR",
}
# Older public capture: metar_id/mostRecent/prior present, whole °C, no T-group, no fltCat.
LEJR = json.loads(
    '{"metar_id":438274397,"icaoId":"LEJR","receiptTime":"2023-10-27 15:25:34",'
    '"obsTime":1698420600,"reportTime":"2023-10-27 15:30:00","temp":22,"dewp":13,"wdir":240,'
    '"wspd":11,"wgst":null,"visib":"6+","altim":1015,"slp":null,"qcField":0,"wxString":null,'
    '"presTend":null,"maxT":null,"minT":null,"maxT24":null,"minT24":null,"precip":null,'
    '"pcp3hr":null,"pcp6hr":null,"pcp24hr":null,"snow":null,"vertVis":null,"metarType":"METAR",'
    '"rawOb":"LEJR 271530Z 24011KT 220V280 9999 FEW050 22\\/13 Q1015","mostRecent":1,'
    '"lat":36.751,"lon":-6.056,"elev":25,"prior":4,"name":"Jerez Arpt, AN, ES",'
    '"clouds":[{"cover":"FEW","base":5000}]}'
)
# Newer capture: ISO times with milliseconds, "METAR " prefix in rawOb, wdir "VRB", visib a
# number, the maintenance flag "$" at the end.
KMCI = {
    "icaoId": "KMCI",
    "receiptTime": "2025-12-03T13:56:35.001Z",
    "obsTime": 1764769860,
    "reportTime": "2025-12-03T14:00:00.000Z",
    "temp": -0.6,
    "dewp": -2.2,
    "wdir": "VRB",
    "wspd": 3,
    "visib": 7,
    "altim": 1016.3,
    "slp": 1021.2,
    "qcField": 12,
    "metarType": "METAR",
    "rawOb": "METAR KMCI 031351Z VRB03KT 7SM BKN010 M01/M02 A3001 RMK AO2 SLP212 T10061022 $",
    "lat": 39.2976,
    "lon": -94.7139,
    "elev": 313,
    "name": "Kansas City Intl, MO, US",
    "clouds": [{"cover": "BKN", "base": 1000}],
    "fltCat": "MVFR",
}


def _decode(*records: object) -> tuple[list, int]:
    return decode_metars(json.dumps(list(records)).encode())


def test_documented_us_report_reads_the_t_group() -> None:
    (obs,), skipped = _decode(KLGA_2351)
    assert skipped == 0
    assert obs.observed_at == dt.datetime(2025, 11, 25, 23, 51, tzinfo=dt.UTC)
    assert (obs.temp_c, obs.tenths, obs.body_c, obs.slp, obs.kind) == (
        11.7,
        True,
        12,
        True,
        "METAR",
    )
    # 11.7 °C = 53.06 °F -> 53 °F; the 6-h max group 10156 (15.6 °C) is ignored.
    assert settle_from_celsius(obs.temp_c, Unit.F, Rounding.HALF_UP) == 53


def test_older_capture_whole_celsius() -> None:
    (obs,), skipped = _decode(LEJR)
    assert skipped == 0
    assert (obs.icao, obs.temp_c, obs.tenths, obs.slp) == ("LEJR", 22.0, False, False)
    assert obs.observed_at == dt.datetime(2023, 10, 27, 15, 30, tzinfo=dt.UTC)


def test_newer_capture_iso_times_prefix_and_vrb() -> None:
    (obs,), skipped = _decode(KMCI)
    assert skipped == 0
    assert obs.observed_at == dt.datetime(2025, 12, 3, 13, 51, tzinfo=dt.UTC)
    assert (obs.kind, obs.temp_c, obs.tenths, obs.body_c, obs.slp) == (
        "METAR",
        -0.6,
        True,
        -1,
        True,
    )
    # -0.6 °C = 30.92 °F -> 31 °F; in a °C market the body M01 is -1 and the tenths -0.6 -> -1.
    assert settle_from_celsius(obs.temp_c, Unit.F, Rounding.HALF_UP) == 31
    assert settle_from_celsius(obs.temp_c, Unit.C, Rounding.HALF_UP) == -1


def test_speci_from_metar_type_and_from_text() -> None:
    speci = dict(KLGA_2351, obsTime=1764113400, metarType="SPECI")
    speci["rawOb"] = "SPECI KLGA 252330Z 31012KT 10SM FEW250 12/M01 A3010 RMK AO2 T01221011"
    text_only = dict(speci, obsTime=1764112800, metarType=None)
    text_only["rawOb"] = speci["rawOb"].replace("252330Z", "252320Z")
    observations, skipped = _decode(speci, text_only)
    assert skipped == 0
    assert [(o.kind, o.temp_c, o.slp) for o in observations] == [
        ("SPECI", 12.2, False),
        ("SPECI", 12.2, False),
    ]


def test_nulls_nil_and_mistyped_records_are_skipped_one_by_one() -> None:
    sensor_out = dict(KLGA_2351, obsTime=1764111060, temp=None)
    sensor_out["rawOb"] = "KLGA 252251Z 31012KT 10SM FEW250 ///M01 A3010 RMK AO2 SLP191"
    nil = dict(LEJR, obsTime=1698418800, temp=None, rawOb="LEJR 271500Z NIL")
    mistyped = dict(KLGA_2351, obsTime="yesterday")
    no_station = dict(KLGA_2351, icaoId="")
    observations, skipped = _decode(sensor_out, nil, mistyped, no_station, KLGA_2351, LEJR)
    assert skipped == 4
    assert [o.icao for o in observations] == ["KLGA", "LEJR"]


def test_duplicate_listing_of_one_report_is_kept_once() -> None:
    observations, skipped = _decode(KLGA_2351, KLGA_2351)
    assert (len(observations), skipped) == (1, 0)


def test_2351_local_report_filed_as_next_hour_belongs_to_its_observation_day() -> None:
    # 04:51Z on 26 Nov = 23:51 EST on the 25th; AWC files it as reportTime 05:00Z (00:00 EST on
    # the 26th). The NOAA table and WU list it at its observation time: the 25th's last report.
    late = dict(KLGA_2351, obsTime=1764132660, reportTime="2025-11-26 05:00:00")
    late["rawOb"] = late["rawOb"].replace("252351Z", "260451Z")
    (obs,), _ = _decode(late)
    assert obs.observed_at == dt.datetime(2025, 11, 26, 4, 51, tzinfo=dt.UTC)
    rule = SettlingRule(SourceKind.NOAA_WRH, True, Unit.F, Rounding.HALF_UP, "max")
    ny = "America/New_York"
    day = read_day(rule, [obs], ny, dt.date(2025, 11, 25))
    assert day is not None and day.settled == 53  # 11.7 °C -> 53.06 °F
    assert read_day(rule, [obs], ny, dt.date(2025, 11, 26)) is None


@pytest.mark.parametrize("cor_first", [True, False])
def test_a_correction_replaces_its_original_whatever_the_listing_order(cor_first: bool) -> None:
    # The COR says 12.2 °C (54 °F) where the original said 11.7 °C (53 °F): the COR settles.
    cor = dict(KLGA_2351, receiptTime="2025-11-25 23:58:40", temp=12.2)
    cor["rawOb"] = (
        KLGA_2351["rawOb"]
        .replace("KLGA 252351Z", "KLGA 252351Z COR")
        .replace("T01171011", "T01221011")
    )
    records = (cor, KLGA_2351) if cor_first else (KLGA_2351, cor)
    (obs,), skipped = _decode(*records)
    assert skipped == 0 and obs.cor is True and obs.temp_c == 12.2
    assert settle_from_celsius(obs.temp_c, Unit.F, Rounding.HALF_UP) == 54  # 53.96 -> 54


def test_hostile_nesting_and_impossible_times() -> None:
    impossible = dict(KLGA_2351, obsTime=10**18)
    (obs,), skipped = _decode(impossible, LEJR)
    assert skipped == 1 and obs.icao == "LEJR"
    deep = b"[" + b'{"a":' * 5000 + b"1" + b"}" * 5000 + b"]"
    try:
        outcome: object = decode_metars(deep)
    except WeatherError:
        outcome = "refused"  # worded, never a RecursionError
    assert outcome in ("refused", ([], 1))

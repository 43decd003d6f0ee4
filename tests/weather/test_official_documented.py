"""NWS API, CWA and HKO payloads in their documented/captured forms, and the sandbox as strict.

Payload shapes follow the services' own documentation and public captures (weather.md §2.4,
§2.7; CWA's O-A0003-001 swagger; HKO's open-data CSV); the value of each is worked by hand.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from tests.weather.conftest import NOW
from weatheredge.sandbox.weather import WeatherState
from weatheredge.weather.cwa import decode_cwa, fetch_cwa
from weatheredge.weather.hko import decode_hko_csv
from weatheredge.weather.nws import decode_nws_observations, fetch_nws_observations

UA = "weatheredge-tests (ops@example.invalid)"
CWA_PATH = "/api/v1/rest/datastore/O-A0003-001"


def _nws_feature(stamp: str, raw: str | None, temperature: dict[str, Any] | None) -> dict:
    props: dict[str, Any] = {
        "@id": f"https://api.weather.gov/stations/KPWM/observations/{stamp}",
        "@type": "wx:ObservationStation",
        "elevation": {"unitCode": "wmoUnit:m", "value": 19},
        "station": "https://api.weather.gov/stations/KPWM",
        "timestamp": stamp,
        "rawMessage": raw,
        "textDescription": "Partly Cloudy",
        "presentWeather": [],
        "maxTemperatureLast24Hours": {"unitCode": "wmoUnit:degC", "value": None},
    }
    if temperature is not None:
        props["temperature"] = temperature
    return {"id": props["@id"], "type": "Feature", "properties": props}


def test_nws_documented_feature_variants() -> None:
    features = [
        # 2019 capture: "unit:degC", "qc:V", value with float noise; the T-group gives 15.6.
        _nws_feature(
            "2019-08-21T09:51:00+00:00",
            "KPWM 210951Z 00000KT 10SM SCT250 16/14 A3000 RMK AO2 SLP158 T01560139",
            {"value": 15.600000000000023, "unitCode": "unit:degC", "qualityControl": "qc:V"},
        ),
        # A special: no SPECI word in rawMessage, no SLP; the body-less AWOS style is whole °C.
        _nws_feature(
            "2019-08-21T10:05:00+00:00",
            "KPWM 211005Z 34012G21KT 10SM FEW075 21/11 A2998",
            {"unitCode": "wmoUnit:degC", "value": 21, "qualityControl": "V"},
        ),
        # Sensor out: value null, qualityControl "Z", no temperature in the text.
        _nws_feature(
            "2019-08-21T10:51:00+00:00",
            "KPWM 211051Z 00000KT 10SM CLR A3000 RMK AO2 SLP158 TSNO",
            {"unitCode": "wmoUnit:degC", "value": None, "qualityControl": "Z"},
        ),
        # No report text at all (a non-METAR platform), and a naive timestamp: skipped.
        _nws_feature("2019-08-21T11:00:00+00:00", None, None),
        _nws_feature(
            "2019-08-21T11:51:00",
            "KPWM 211151Z 00000KT 10SM CLR 17/14 A3000 RMK AO2 SLP158 T01720139",
            None,
        ),
        # A mistyped feature is skipped alone.
        {"type": "Feature", "properties": {"timestamp": 7}},
    ]
    body = json.dumps({"type": "FeatureCollection", "features": features[::-1]}).encode()
    observations, skipped = decode_nws_observations(body, "KPWM")
    assert skipped == 4
    assert [(o.observed_at.minute, o.temp_c, o.tenths, o.kind, o.slp) for o in observations] == [
        (51, 15.6, True, "METAR", True),
        (5, 21.0, False, "METAR", False),
    ]


async def test_nws_request_shape_and_sandbox_strictness(
    state: WeatherState, server: TestServer, session: aiohttp.ClientSession
) -> None:
    base = f"http://127.0.0.1:{server.port}"
    at = NOW - dt.timedelta(minutes=30)
    state.add_metar("KLGA", at, 12.2, kind="SPECI", receipt_delay=dt.timedelta(0))
    async with session.get(
        f"{base}/stations/KLGA/observations", params={"start": "yesterday"}
    ) as response:
        assert response.status == 400  # as live: start must be an ISO time
    async with session.get(
        f"{base}/stations/KLGA/observations", params={"start": "2026-11-25T12:00:00Z"}
    ) as response:
        feature = (await response.json())["features"][0]["properties"]
    assert feature["rawMessage"].startswith("KLGA 251430Z ")  # no SPECI word, as live
    assert feature["temperature"]["unitCode"] == "wmoUnit:degC"
    assert feature["temperature"]["value"] != 12.2  # float noise, as live
    (obs,) = await fetch_nws_observations(
        session, base, "klga", start=NOW - dt.timedelta(hours=2), user_agent=UA
    )
    assert (obs.temp_c, obs.tenths, obs.kind, obs.slp) == (12.2, True, "METAR", False)
    (path, query) = state.requests[-1]
    assert path == "/stations/KLGA/observations" and query["start"] == "2026-11-25T13:00:00Z"


def _cwa_station(station_id: str, temp: object, when: str = "2026-03-22T14:00:00+08:00") -> dict:
    return {
        "StationName": "臺北",
        "StationId": station_id,
        "ObsTime": {"DateTime": when},
        "GeoInfo": {"CountyName": "臺北市", "TownName": "中正區", "StationAltitude": "6.3"},
        "WeatherElement": {
            "Weather": "晴",
            "Now": {"Precipitation": 0.0},
            "AirTemperature": temp,
            "RelativeHumidity": 70,
            "DailyExtreme": {
                "DailyHigh": {"TemperatureInfo": {"AirTemperature": 25.1}},
                "DailyLow": {"TemperatureInfo": {"AirTemperature": "17.3"}},
            },
        },
    }


def test_cwa_documented_values_and_missing_markers() -> None:
    stations = [
        _cwa_station("466920", 21.3),
        _cwa_station("466910", "21.9"),  # numbers as text
        _cwa_station("466930", -99),
        _cwa_station("466940", "-99.0"),
        _cwa_station("466950", -990),
        _cwa_station("466960", ""),
        _cwa_station("466970", None),
        _cwa_station("466980", "X"),
        _cwa_station("466990", 20.0, when="2026-03-22T14:00:00"),  # no offset: unusable
    ]
    body = {
        "success": "true",
        "result": {"resource_id": "O-A0003-001", "fields": []},
        "records": {"Station": stations},
    }
    observations, skipped = decode_cwa(json.dumps(body, ensure_ascii=False).encode())
    assert skipped == 7
    assert [(o.icao, o.temp_c) for o in observations] == [("466910", 21.9), ("466920", 21.3)]
    # 14:00 Taipei time is 06:00 UTC.
    assert observations[1].observed_at == dt.datetime(2026, 3, 22, 6, 0, tzinfo=dt.UTC)


def _extreme(value: object, local_time: str) -> dict[str, Any]:
    occurred = {"DateTime": f"2026-03-22T{local_time}:00+08:00"}
    return {"TemperatureInfo": {"AirTemperature": value, "Occurred_at": occurred}}


def test_cwa_daily_extremes_are_readings_at_the_time_they_occurred() -> None:
    station = _cwa_station("466920", 21.3)
    station["WeatherElement"]["DailyExtreme"] = {
        "DailyHigh": _extreme(23.7, "12:40"),
        "DailyLow": _extreme("16.2", "05:50"),
    }
    # A station whose high is the current reading (same time: not twice), and one whose
    # extreme block is malformed (the reading is kept).
    same = _cwa_station("466940", 19.0)
    same["WeatherElement"]["DailyExtreme"] = {"DailyHigh": _extreme(19.0, "14:00")}
    broken = _cwa_station("466950", 18.0)
    broken["WeatherElement"]["DailyExtreme"] = {"DailyHigh": {"TemperatureInfo": "n/a"}}
    body = {"success": "true", "records": {"Station": [station, same, broken]}}
    observations, skipped = decode_cwa(json.dumps(body, ensure_ascii=False).encode())
    assert skipped == 0
    utc = dt.UTC
    assert [(o.icao, o.observed_at, o.temp_c) for o in observations] == [
        ("466920", dt.datetime(2026, 3, 21, 21, 50, tzinfo=utc), 16.2),  # 05:50 +08
        ("466920", dt.datetime(2026, 3, 22, 4, 40, tzinfo=utc), 23.7),  # 12:40 +08
        ("466920", dt.datetime(2026, 3, 22, 6, 0, tzinfo=utc), 21.3),
        ("466940", dt.datetime(2026, 3, 22, 6, 0, tzinfo=utc), 19.0),
        ("466950", dt.datetime(2026, 3, 22, 6, 0, tzinfo=utc), 18.0),
    ]
    # Taipei's CWA-era rule floors one decimal: the 23.7 peak between polls settles 23.
    assert math.floor(observations[1].temp_c) == 23


async def test_cwa_sandbox_serves_the_day_extremes_a_poll_would_miss(
    state: WeatherState, server: TestServer, session: aiohttp.ClientSession
) -> None:
    # NOW = 23:00 Taipei: readings at 13:10 (the peak) and 22:50 (the latest).
    peak = NOW - dt.timedelta(hours=9, minutes=50)
    state.feeds.add_reading("466920", NOW - dt.timedelta(days=1), 30.0)  # yesterday: not today's
    state.feeds.add_reading("466920", peak, 24.6)
    state.feeds.add_reading("466920", NOW - dt.timedelta(minutes=10), 18.4)
    base = f"http://127.0.0.1:{server.port}{CWA_PATH}"
    observations = await fetch_cwa(session, base, "any-key", ["466920"])
    assert [(o.observed_at, o.temp_c) for o in observations] == [
        (peak, 24.6),
        (NOW - dt.timedelta(minutes=10), 18.4),  # the latest and also the low so far
    ]


async def test_cwa_key_in_the_header_is_accepted_by_the_sandbox(
    state: WeatherState, server: TestServer, session: aiohttp.ClientSession
) -> None:
    state.feeds.cwa_key = "right-key"
    state.feeds.add_reading("466920", NOW - dt.timedelta(minutes=10), 18.4)
    base = f"http://127.0.0.1:{server.port}{CWA_PATH}"
    async with session.get(
        base, params={"StationId": "466920"}, headers={"Authorization": "right-key"}
    ) as response:
        assert response.status == 200
        (station,) = (await response.json())["records"]["Station"]
    assert station["WeatherElement"]["AirTemperature"] == 18.4
    (obs,) = await fetch_cwa(session, base, "right-key", ["466920"])
    assert obs.temp_c == 18.4


def test_hko_documented_csv_with_crlf_bom_and_other_stations() -> None:
    body = (
        "\ufeffDate time,Automatic Weather Station,Air Temperature(degree Celsius)\r\n"
        "202607132350,Chek Lap Kok,34.3\r\n"
        "202607132350,HK Observatory,33.8\r\n"
        "202607132350,King's Park,N/A\r\n"
    ).encode()
    (obs,), skipped = decode_hko_csv(body, {"HK Observatory": "HKO"})
    assert skipped == []
    # 23:50 HKT is 15:50 UTC; one decimal kept as read (floor happens in the settling rule).
    assert (obs.icao, obs.temp_c, obs.kind) == ("HKO", 33.8, "OBS")
    assert obs.observed_at == dt.datetime(2026, 7, 13, 15, 50, tzinfo=dt.UTC)

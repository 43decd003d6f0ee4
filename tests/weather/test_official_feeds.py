"""Non-METAR and second-source adapters against the sandbox's feeds, served on 127.0.0.1."""

from __future__ import annotations

import datetime as dt

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from tests.weather.conftest import NOW, SettableClock
from weatheredge.sandbox.weather import WeatherState
from weatheredge.weather.cwa import decode_cwa, fetch_cwa
from weatheredge.weather.errors import WeatherError
from weatheredge.weather.hko import decode_hko_csv, fetch_hko
from weatheredge.weather.metar import fetch_metars
from weatheredge.weather.nws import decode_nws_observations, fetch_nws_observations

HKO_PATH = "/weatherAPI/hko_data/regional-weather/latest_1min_temperature.csv"
CWA_PATH = "/api/v1/rest/datastore/O-A0003-001"
UA = "weatheredge-tests (ops@example.invalid)"


def url(server: TestServer, path: str = "") -> str:
    return f"http://127.0.0.1:{server.port}{path}"


async def test_hko_one_decimal_reading_in_hong_kong_time(
    state: WeatherState, server: TestServer, session: aiohttp.ClientSession
) -> None:
    state.feeds.add_reading("HKO", NOW - dt.timedelta(minutes=1), 23.7)
    state.feeds.add_reading("HKO", NOW - dt.timedelta(minutes=11), 23.1)
    (obs,) = await fetch_hko(session, url(server, HKO_PATH), ["HKO"])
    assert (obs.icao, obs.temp_c, obs.tenths) == ("HKO", 23.7, True)
    assert obs.observed_at == NOW - dt.timedelta(minutes=1)
    assert obs.observed_at.tzinfo is not None


async def test_hko_unscripted_station_gets_a_plausible_reading(
    server: TestServer, session: aiohttp.ClientSession
) -> None:
    (obs,) = await fetch_hko(session, url(server, HKO_PATH), ["HKO"])
    assert 0 < obs.temp_c < 40 and obs.observed_at == NOW


def test_hko_csv_bad_rows_are_skipped_with_reasons() -> None:
    body = (
        "\ufeffDate time,Automatic Weather Station,Air Temperature(degree Celsius)\r\n"
        "202611252230,HK Observatory,N/A\r\n"
        "2026112522,HK Observatory,21.0\r\n"
        "202611252230,Sha Tin,19.9\r\n"
    ).encode()
    observations, skipped = decode_hko_csv(body, {"HK Observatory": "HKO"})
    assert observations == [] and len(skipped) == 2
    with pytest.raises(WeatherError, match="not the temperature CSV"):
        decode_hko_csv(b"<html>maintenance</html>", {"HK Observatory": "HKO"})


async def test_cwa_needs_a_key_and_never_leaks_it(
    state: WeatherState, server: TestServer, session: aiohttp.ClientSession
) -> None:
    state.feeds.add_reading("466920", NOW - dt.timedelta(minutes=10), 18.4)
    with pytest.raises(WeatherError, match="no API key"):
        await fetch_cwa(session, url(server, CWA_PATH), None, ["466920"])
    state.feeds.cwa_key = "right-key"
    with pytest.raises(WeatherError, match="HTTP 401") as err:
        await fetch_cwa(session, url(server, CWA_PATH), "wrong-key-123", ["466920"])
    assert "wrong-key-123" not in str(err.value)
    (obs,) = await fetch_cwa(session, url(server, CWA_PATH), "right-key", ["466920"])
    assert (obs.icao, obs.temp_c) == ("466920", 18.4)
    assert obs.observed_at == NOW - dt.timedelta(minutes=10)


def test_cwa_missing_value_is_skipped_and_counted() -> None:
    body = (
        b'{"success":"true","records":{"Station":[{"StationId":"466920",'
        b'"ObsTime":{"DateTime":"2026-11-25T22:00:00+08:00"},'
        b'"WeatherElement":{"AirTemperature":-99}},{"StationId":"466940",'
        b'"ObsTime":{"DateTime":"2026-11-25T22:00:00+08:00"},'
        b'"WeatherElement":{"AirTemperature":"17.2"}}]}}'
    )
    observations, skipped = decode_cwa(body)
    assert [(o.icao, o.temp_c) for o in observations] == [("466940", 17.2)] and skipped == 1
    # A station of the wrong shape is skipped and counted; the body's other stations are read.
    assert decode_cwa(b'{"success":"true","records":{"Station":[{"StationId":1}]}}') == ([], 1)
    with pytest.raises(WeatherError, match="malformed"):
        decode_cwa(b'{"success":"true","records":{"Station":{"StationId":"466920"}}}')


async def test_nws_relays_the_same_report_as_aviationweather(
    state: WeatherState, clock: SettableClock, server: TestServer, session: aiohttp.ClientSession
) -> None:
    at = NOW - dt.timedelta(minutes=9)
    state.add_metar("KLGA", at, 11.7, receipt_delay=dt.timedelta(minutes=2))
    state.add_metar("KLGA", at - dt.timedelta(hours=1), -0.6, receipt_delay=dt.timedelta(0))
    (awc_new, awc_old) = sorted(
        await fetch_metars(session, url(server, "/api/data/metar"), ["KLGA"]),
        key=lambda o: -o.observed_at.timestamp(),
    )
    start = NOW - dt.timedelta(hours=3)
    nws = await fetch_nws_observations(session, url(server), "KLGA", start=start, user_agent=UA)
    assert nws == [awc_old, awc_new]  # same station, time, tenths, kind and text
    state.feeds.nws_delay = dt.timedelta(minutes=10)  # NWS later than aviationweather
    nws = await fetch_nws_observations(session, url(server), "KLGA", start=start, user_agent=UA)
    assert nws == [awc_old]


async def test_nws_foreign_station_and_missing_temperature(
    server: TestServer, session: aiohttp.ClientSession
) -> None:
    with pytest.raises(WeatherError, match="HTTP 404"):
        await fetch_nws_observations(
            session, url(server), "EGLC", start=NOW - dt.timedelta(hours=1), user_agent=UA
        )
    body = (
        b'{"features":[{"properties":{"timestamp":"2026-11-25T14:51:00+00:00",'
        b'"rawMessage":"KLGA 251451Z 31008KT 10SM M/M A3010",'
        b'"temperature":{"unitCode":"wmoUnit:degC","value":null}}},'
        b'{"properties":{"timestamp":"2026-11-25T13:51:00+00:00",'
        b'"rawMessage":"KLGA 251351Z 12/M01",'
        b'"temperature":{"unitCode":"wmoUnit:degC","value":12}}}]}'
    )
    observations, skipped = decode_nws_observations(body, "KLGA")
    assert skipped == 1 and [(o.temp_c, o.tenths) for o in observations] == [(12.0, False)]

"""Hostile weather services (issue 13, breaks 1 and 7 on the weather side): deep JSON, oversize
CSV fields, impossible times and temperatures are refused as a WeatherError or a skipped report,
never an unexpected exception (which used to abort the whole observation job) nor a reading."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.weather.conftest import KLGA
from weatheredge.model.buckets import Unit
from weatheredge.weather.cwa import fetch_cwa
from weatheredge.weather.errors import WeatherError
from weatheredge.weather.hko import fetch_hko
from weatheredge.weather.metar import fetch_metars
from weatheredge.weather.nws import fetch_nws_observations
from weatheredge.weather.openmeteo import fetch_ensemble

DEEP = b"[" * 100_000 + b"]" * 100_000  # under an unknown key: msgspec recurses to skip it
HKO_HEAD = b"Date time,Automatic Weather Station,Air Temperature(degree Celsius)\n"
RAW = "KLGA 251451Z 00000KT 10SM CLR {t}/M01 A3000"


@pytest.fixture
async def feed() -> AsyncIterator[tuple[Callable[[bytes], None], str]]:
    """A loopback server answering every path with the body last set."""
    body = [b""]

    async def answer(request: web.Request) -> web.Response:
        return web.Response(body=body[0], content_type="application/json")

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", answer)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    yield (lambda b: body.__setitem__(0, b)), str(server.make_url("/"))
    await server.close()


def _metar(temp: str, obs_time: str = "1764082800", raw: str = "") -> bytes:
    return f'[{{"icaoId":"KLGA","obsTime":{obs_time},"temp":{temp},"rawOb":"{raw}"}}]'.encode()


def _nws(value: str) -> bytes:
    props = (
        '{"timestamp":"2026-11-25T14:51:00+00:00","rawMessage":"KLGA 251451Z CLR",'
        f'"temperature":{{"value":{value},"unitCode":"wmoUnit:degC"}}}}'
    )
    return f'{{"features":[{{"properties":{props}}}]}}'.encode()


def _cwa(value: str) -> bytes:
    station = (
        '{"StationId":"466920","ObsTime":{"DateTime":"2026-11-25T22:00:00+08:00"},'
        f'"WeatherElement":{{"AirTemperature":{value}}}}}'
    )
    return f'{{"success":"true","records":{{"Station":[{station}]}}}}'.encode()


async def test_deep_json_from_every_weather_feed_is_a_weather_error(feed) -> None:
    serve, url = feed
    start = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)
    async with aiohttp.ClientSession() as http:
        calls = {
            b'[{"icaoId":"KLGA","obsTime":1,"x":%s}]': lambda: fetch_metars(http, url, ["KLGA"]),
            b'{"features":[],"x":%s}': lambda: fetch_nws_observations(
                http, url, "KLGA", start=start, user_agent="t"
            ),
            b'{"success":"true","x":%s}': lambda: fetch_cwa(http, url, "key", ["466920"]),
            b'{"daily":{"time":["2026-11-25"]},"x":%s}': lambda: fetch_ensemble(
                http, url, KLGA, unit=Unit.F, extreme="max", models=["gfs025"]
            ),
        }
        for shape, call in calls.items():
            serve(shape % DEEP)
            with pytest.raises(WeatherError, match="malformed body"):
                await call()
        serve(HKO_HEAD + b"202611252200,HK Observatory," + b"9" * 200_000 + b"\n")
        with pytest.raises(WeatherError, match="hko"):
            await fetch_hko(http, url, ["HKO"])


async def test_impossible_readings_and_times_are_skipped_never_applied(feed) -> None:
    serve, url = feed
    start = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)
    async with aiohttp.ClientSession() as http:
        for body in (
            _metar("1e300"),
            _metar("-1e300"),
            _metar("5", raw=RAW.format(t="99")),  # a 99 °C body group
            _metar("5", obs_time="99999999999999999"),
            _metar("5", obs_time="-99999999999999"),
        ):
            serve(body)
            assert await fetch_metars(http, url, ["KLGA"]) == [], body
        serve(_metar("5", raw=RAW.format(t="05")))
        assert [o.temp_c for o in await fetch_metars(http, url, ["KLGA"])] == [5.0]
        for value in ("1e308", "-500", "66"):
            serve(_nws(value))
            kw = {"start": start, "user_agent": "t"}
            assert await fetch_nws_observations(http, url, "KLGA", **kw) == [], value
        for value in ('"nan"', '"inf"', "1e300", "99.5"):
            serve(_cwa(value))
            assert await fetch_cwa(http, url, "key", ["466920"]) == [], value
        for value in (b"nan", b"-inf", b"500", b"1e300"):
            serve(HKO_HEAD + b"202611252200,HK Observatory," + value + b"\n")
            assert await fetch_hko(http, url, ["HKO"]) == [], value
        serve(HKO_HEAD + b"202611252200,HK Observatory,12.3\n")
        assert [o.temp_c for o in await fetch_hko(http, url, ["HKO"])] == [12.3]


async def test_absurd_forecast_members_are_dropped(feed) -> None:
    serve, url = feed
    serve(
        b'{"daily":{"time":["2026-11-25"],'
        b'"temperature_2m_max_member01":[1e300],"temperature_2m_max_member02":[-1e300],'
        b'"temperature_2m_max_member03":[51.5]},"daily_units":{}}'
    )
    async with aiohttp.ClientSession() as http:
        days = await fetch_ensemble(http, url, KLGA, unit=Unit.F, extreme="max", models=["gfs025"])
    assert [f.members for f in days.values()] == [(51.5,)]

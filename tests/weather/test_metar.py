from __future__ import annotations

import datetime as dt

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from tests.weather.conftest import NOW, SettableClock
from weatheredge.model.buckets import Rounding, Unit
from weatheredge.model.day_extreme import running_extreme
from weatheredge.sandbox.weather import WeatherState
from weatheredge.weather.errors import WeatherError
from weatheredge.weather.metar import decode_metars, fetch_metars, parse_t_group


def _url(server: TestServer) -> str:
    return str(server.make_url("/api/data/metar"))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("KLGA 252351Z 31012KT 10SM FEW250 12/M01 A3010 RMK AO2 SLP191 T01171011 10156", 11.7),
        ("KORD 251451Z 27010KT 10SM CLR M02/M03 A3020 RMK AO2 SLP240 T10221033", -2.2),
        ("KJFK 251451Z 27010KT 10SM CLR 00/M03 A3020 RMK AO2 T1004", -0.4),
        ("KBOS 251451Z 27010KT 10SM CLR 00/M03 A3020 RMK AO2 T00001033", 0.0),
        ("EGLC 251450Z 24008KT 9999 FEW030 12/06 Q1019 NOSIG", None),
        ("KLGA 251451Z 31012KT 10SM FEW250 12/M01 A3010 RMK AO2 SLPNO", None),
        # A T-looking token in the body, before RMK, is not a T-group.
        ("XXXX 251450Z T01171011 12/06 Q1019", None),
    ],
)
def test_t_group(raw: str, expected: float | None) -> None:
    assert parse_t_group(raw) == expected


async def test_us_report_carries_tenths_from_the_t_group(
    state: WeatherState, server: TestServer, session: aiohttp.ClientSession
) -> None:
    obs_time = NOW - dt.timedelta(minutes=9)  # 14:51Z
    record = state.add_metar("KLGA", obs_time, 11.7)
    assert record["rawOb"].startswith("KLGA 251451Z ")
    assert "12/07 " in record["rawOb"] and " T01170067" in record["rawOb"]
    assert record["obsTime"] == int(obs_time.timestamp())
    assert record["reportTime"] == "2026-11-25 15:00:00"

    [obs] = await fetch_metars(session, _url(server), ["klga"])
    assert obs.icao == "KLGA" and obs.kind == "METAR" and obs.tenths is True
    assert obs.temp_c == 11.7 and obs.observed_at == obs_time and obs.raw == record["rawOb"]


async def test_negative_t_group_and_speci(
    state: WeatherState, server: TestServer, session: aiohttp.ClientSession
) -> None:
    state.add_metar("KORD", NOW - dt.timedelta(minutes=30), -2.2, kind="SPECI")
    [obs] = await fetch_metars(session, _url(server), ["KORD"])
    assert obs.kind == "SPECI" and obs.raw.startswith("SPECI KORD ")
    assert obs.temp_c == -2.2 and obs.tenths is True and " M02/" in obs.raw


async def test_non_us_report_is_whole_celsius(
    state: WeatherState, server: TestServer, session: aiohttp.ClientSession
) -> None:
    state.add_metar("EGLC", NOW - dt.timedelta(minutes=10), 12.4)
    [obs] = await fetch_metars(session, _url(server), ["EGLC"])
    assert obs.tenths is False and obs.temp_c == 12.0 and "T0" not in obs.raw


async def test_window_receipt_and_many_stations(
    state: WeatherState, clock: SettableClock, server: TestServer, session: aiohttp.ClientSession
) -> None:
    state.add_metar("KLGA", NOW - dt.timedelta(hours=30), 5.0)  # older than hours=24
    state.add_metar("KLGA", NOW - dt.timedelta(hours=2), 6.0)
    state.add_metar("EGLC", NOW - dt.timedelta(hours=1), 9.0)
    state.add_metar("KLGA", NOW - dt.timedelta(minutes=1), 7.0)  # not received yet
    out = await fetch_metars(session, _url(server), ["KLGA", "EGLC"], hours=24)
    assert [(o.icao, o.temp_c) for o in out] == [("EGLC", 9.0), ("KLGA", 6.0)]
    clock.now = NOW + dt.timedelta(minutes=5)
    out = await fetch_metars(session, _url(server), ["KLGA"], hours=24)
    assert [o.temp_c for o in out] == [6.0, 7.0]  # oldest first


async def test_null_temperature_is_skipped_and_counted(
    state: WeatherState, server: TestServer, session: aiohttp.ClientSession
) -> None:
    state.add_metar("KLGA", NOW - dt.timedelta(hours=2), 6.0)
    broken = state.add_metar("KLGA", NOW - dt.timedelta(hours=1), 7.0)
    broken["temp"] = None  # a sensor outage: AWC sends null
    out = await fetch_metars(session, _url(server), ["KLGA"])
    assert [o.temp_c for o in out] == [6.0]
    async with session.get(
        _url(server), params={"ids": "KLGA", "format": "json", "hours": "24"}
    ) as response:
        observations, skipped = decode_metars(await response.read())
    assert (len(observations), skipped) == (1, 1)


async def test_station_without_reports_is_empty(
    server: TestServer, session: aiohttp.ClientSession
) -> None:
    assert await fetch_metars(session, _url(server), ["EDDT"]) == []
    assert await fetch_metars(session, _url(server), []) == []
    assert decode_metars(b"  \n") == ([], 0)


async def test_http_error_and_malformed_body_raise(
    state: WeatherState, server: TestServer, session: aiohttp.ClientSession
) -> None:
    state.inject_error("/api/data/metar", 502, "Bad Gateway")
    with pytest.raises(WeatherError, match="HTTP 502"):
        await fetch_metars(session, _url(server), ["KLGA"])
    state.inject_error("/api/data/metar", 200, '{"not": "a list"}')
    with pytest.raises(WeatherError, match="malformed"):
        await fetch_metars(session, _url(server), ["KLGA"])


async def test_sandbox_reports_settle_end_to_end(
    state: WeatherState, server: TestServer, session: aiohttp.ClientSession
) -> None:
    # New York, 25 Nov (EST): 23.3 °C = 73.94 °F -> 74; a later 22.5 °C SPECI = 72.5 -> 73.
    state.add_metar("KLGA", dt.datetime(2026, 11, 25, 13, 51, tzinfo=dt.UTC), 23.3)
    state.add_metar("KLGA", dt.datetime(2026, 11, 25, 14, 20, tzinfo=dt.UTC), 22.5, "SPECI")
    state.add_metar("KLGA", dt.datetime(2026, 11, 25, 4, 51, tzinfo=dt.UTC), 30.0)  # 24 Nov local
    out = await fetch_metars(session, _url(server), ["KLGA"])
    day = dt.date(2026, 11, 25)
    tz = "America/New_York"
    assert running_extreme(out, tz, day, Unit.F, Rounding.HALF_UP, "max") == 74
    assert running_extreme(out, tz, day, Unit.F, Rounding.HALF_UP, "min") == 73


async def test_sandbox_serves_real_report_texts_and_slp_less_metars(
    state: WeatherState, server: TestServer, session: aiohttp.ClientSession
) -> None:
    real = "SPECI KLGA 251412Z COR 19012G20KT 10SM FEW040 12/05 A3002 RMK AO2 T01220050"
    state.add_metar("KLGA", NOW - dt.timedelta(minutes=48), 12.2, "SPECI", raw=real)
    state.add_metar("KLGA", NOW - dt.timedelta(minutes=55), 11.0, slp=False)
    state.add_metar("KLGA", NOW - dt.timedelta(minutes=69), 10.0)
    routine, auxiliary, speci = await fetch_metars(session, _url(server), ["KLGA"])
    assert routine.observed_at < auxiliary.observed_at < speci.observed_at
    assert (speci.kind, speci.cor, speci.slp, speci.body_c, speci.temp_c) == (
        "SPECI",
        True,
        False,
        12,
        12.2,
    )
    assert auxiliary.kind == "METAR" and not auxiliary.slp and "SLP" not in auxiliary.raw
    assert routine.slp and routine.minute == 51 and not routine.auto

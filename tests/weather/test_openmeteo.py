from __future__ import annotations

import datetime as dt
import json
import socket
import statistics

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from tests.weather.conftest import EGLC, KLGA, NOW, SettableClock
from weatheredge.model.buckets import Unit, c_to_f
from weatheredge.model.market import Station
from weatheredge.sandbox.weather import WeatherState
from weatheredge.weather.errors import WeatherError
from weatheredge.weather.openmeteo import fetch_deterministic, fetch_ensemble, parse_ensemble

FOUR = ["ecmwf_ifs025", "gfs_seamless", "icon_seamless", "gem_global"]
TODAY_NY = dt.date(2026, 11, 25)


def _url(server: TestServer, path: str = "/v1/ensemble") -> str:
    return str(server.make_url(path))


async def test_single_model_counts_members_and_uses_local_dates(
    server: TestServer, session: aiohttp.ClientSession
) -> None:
    out = await fetch_ensemble(
        session, _url(server), KLGA, unit=Unit.F, extreme="max", models=["gfs_seamless"]
    )
    assert list(out) == [TODAY_NY + dt.timedelta(days=i) for i in range(3)]
    for day, forecast in out.items():
        assert forecast.station == "KLGA" and forecast.date == day
        assert len(forecast.members) == 31
        assert forecast.models == (("gfs_seamless", 31),)


async def test_multi_model_keys_are_domain_suffixed_and_mapped_back(
    server: TestServer, session: aiohttp.ClientSession
) -> None:
    params = {
        "latitude": "40.78",
        "longitude": "-73.87",
        "daily": "temperature_2m_max",
        "models": ",".join(FOUR),
        "timezone": "America/New_York",
        "temperature_unit": "fahrenheit",
        "forecast_days": "3",
    }
    async with session.get(_url(server), params=params) as response:
        daily = (await response.json())["daily"]
    assert "temperature_2m_max_ecmwf_ifs025_ensemble" in daily  # control: no _memberNN
    assert "temperature_2m_max_member50_ecmwf_ifs025_ensemble" in daily
    assert "temperature_2m_max_member30_ncep_gefs_seamless" in daily
    assert "temperature_2m_max_member39_icon_seamless_eps" in daily
    assert "temperature_2m_max_member20_gem_global_ensemble" in daily
    assert "temperature_2m_max_member31_ncep_gefs_seamless" not in daily

    out = await fetch_ensemble(session, _url(server), KLGA, unit=Unit.F, extreme="max", models=FOUR)
    expected = (
        ("ecmwf_ifs025", 51),
        ("gfs_seamless", 31),
        ("icon_seamless", 40),
        ("gem_global", 21),
    )
    assert all(f.models == expected and len(f.members) == 143 for f in out.values())


async def test_members_follow_the_scenario_in_the_requested_unit(
    state: WeatherState, server: TestServer, session: aiohttp.ClientSession
) -> None:
    state.set_daily(KLGA.latitude + 0.01, KLGA.longitude, TODAY_NY, mean_c=20.0, spread_c=1.0)
    fahrenheit = await fetch_ensemble(
        session, _url(server), KLGA, unit=Unit.F, extreme="max", models=["ecmwf_ifs025"]
    )
    celsius = await fetch_ensemble(
        session, _url(server), KLGA, unit=Unit.C, extreme="max", models=["ecmwf_ifs025"]
    )
    members_f, members_c = fahrenheit[TODAY_NY].members, celsius[TODAY_NY].members
    assert statistics.mean(members_c) == pytest.approx(20.0, abs=0.5)
    assert 0.6 < statistics.stdev(members_c) < 1.4
    assert statistics.mean(members_f) == pytest.approx(c_to_f(statistics.mean(members_c)), abs=0.1)
    # Deterministic: the same request gives the same members.
    again = await fetch_ensemble(
        session, _url(server), KLGA, unit=Unit.C, extreme="max", models=["ecmwf_ifs025"]
    )
    assert again[TODAY_NY].members == members_c


async def test_min_extreme(
    state: WeatherState, server: TestServer, session: aiohttp.ClientSession
) -> None:
    state.set_daily(EGLC.latitude, EGLC.longitude, NOW.date(), 3.0, 0.5, extreme="min")
    out = await fetch_ensemble(
        session, _url(server), EGLC, unit=Unit.C, extreme="min", models=["icon_seamless"]
    )
    assert statistics.mean(out[NOW.date()].members) == pytest.approx(3.0, abs=0.4)
    assert out[NOW.date()].models == (("icon_seamless", 40),)


async def test_local_date_differs_from_utc_date(
    clock: SettableClock, server: TestServer, session: aiohttp.ClientSession
) -> None:
    clock.now = dt.datetime(2026, 11, 26, 3, 0, tzinfo=dt.UTC)  # still the 25th in New York
    out = await fetch_ensemble(
        session, _url(server), KLGA, unit=Unit.F, extreme="max", models=["gem_global"]
    )
    assert min(out) == TODAY_NY


async def test_members_past_a_models_horizon_are_dropped(
    server: TestServer, session: aiohttp.ClientSession
) -> None:
    # ICON-EPS stops after 7 days: its nulls are dropped, ECMWF carries on alone.
    out = await fetch_ensemble(
        session,
        _url(server),
        KLGA,
        unit=Unit.F,
        extreme="max",
        models=["ecmwf_ifs025", "icon_seamless"],
        forecast_days=9,
    )
    assert out[TODAY_NY].models == (("ecmwf_ifs025", 51), ("icon_seamless", 40))
    assert out[TODAY_NY + dt.timedelta(days=8)].models == (("ecmwf_ifs025", 51),)
    only_icon = await fetch_ensemble(
        session,
        _url(server),
        KLGA,
        unit=Unit.F,
        extreme="max",
        models=["icon_seamless"],
        forecast_days=9,
    )
    assert len(only_icon) == 7  # days without any finite member are omitted


async def test_unknown_model_raises_with_the_servers_reason(
    server: TestServer, session: aiohttp.ClientSession
) -> None:
    with pytest.raises(WeatherError, match="Cannot initialize MultiDomains"):
        await fetch_ensemble(
            session, _url(server), KLGA, unit=Unit.F, extreme="max", models=["gfs025x"]
        )


async def test_daily_without_timezone_is_rejected_by_the_sandbox(
    server: TestServer, session: aiohttp.ClientSession
) -> None:
    params = {"latitude": "40.78", "longitude": "-73.87", "daily": "temperature_2m_max"}
    async with session.get(_url(server), params=params) as response:
        assert response.status == 400
        body = await response.json()
    assert body["error"] is True and "imezone" in body["reason"]


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (503, "upstream down", "HTTP 503"),
        (200, '{"error":true,"reason":"Too many requests"}', "Too many requests"),
        (200, "<html>oops</html>", "malformed"),
        (200, '{"latitude": 1.0}', "no 'daily'"),
    ],
)
async def test_error_bodies_raise(
    state: WeatherState,
    server: TestServer,
    session: aiohttp.ClientSession,
    status: int,
    body: str,
    message: str,
) -> None:
    state.inject_error("/v1/ensemble", status, body)
    with pytest.raises(WeatherError, match=message):
        await fetch_ensemble(session, _url(server), KLGA, unit=Unit.F, extreme="max", models=FOUR)


async def test_unreachable_server_raises_weather_error(session: aiohttp.ClientSession) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(
        WeatherError, match=r"cannot reach open-meteo .*\(connection refused by 127\.0\.0\.1:"
    ):
        await fetch_ensemble(
            session,
            f"http://127.0.0.1:{port}/v1/ensemble",
            KLGA,
            unit=Unit.F,
            extreme="max",
            models=FOUR,
        )


def _body(daily: dict[str, object], units: dict[str, str] | None = None) -> bytes:
    return json.dumps({"daily_units": units or {}, "daily": daily}).encode()


def test_parse_counts_members_from_the_response_and_drops_nulls() -> None:
    # GEFS has been seen live with 30 members and no control: count, never assume.
    daily: dict[str, object] = {"time": ["2026-11-25", "2026-11-26", "2026-11-27"]}
    for i in range(1, 31):
        daily[f"temperature_2m_max_member{i:02d}"] = [50.0 + i / 10, None if i <= 3 else 51.0, None]
    daily["temperature_2m_min_member01"] = [1.0, 2.0, 3.0]  # other variables are ignored
    out = parse_ensemble(
        _body(daily), "KLGA", unit=Unit.F, extreme="max", models=["gfs_seamless"], issued_at=NOW
    )
    assert list(out) == [dt.date(2026, 11, 25), dt.date(2026, 11, 26)]
    assert out[dt.date(2026, 11, 25)].models == (("gfs_seamless", 30),)
    assert out[dt.date(2026, 11, 26)].models == (("gfs_seamless", 27),)
    assert out[dt.date(2026, 11, 25)].members[0] == pytest.approx(50.1)
    assert out[dt.date(2026, 11, 25)].issued_at == NOW


def test_parse_keeps_an_unknown_domain_suffix_verbatim() -> None:
    daily = {
        "time": ["2026-11-25"],
        "temperature_2m_max_ukmo_global_ensemble_20km": [50.0],
        "temperature_2m_max_member01_ukmo_global_ensemble_20km": [51.0],
        "temperature_2m_max_member01_ncep_gefs_seamless": [52.0],
    }
    out = parse_ensemble(
        _body(daily),
        "KLGA",
        unit=Unit.F,
        extreme="max",
        models=["ukmo_global_ensemble_20km", "gfs_seamless"],
        issued_at=NOW,
    )
    assert out[dt.date(2026, 11, 25)].models == (
        ("ukmo_global_ensemble_20km", 2),
        ("gfs_seamless", 1),
    )


@pytest.mark.parametrize(
    ("daily", "units", "message"),
    [
        ({"time": ["2026-11-25"], "temperature_2m_max": [50.0, 51.0]}, None, "not 1 numbers"),
        (
            {"time": ["2026-11-25"], "temperature_2m_max": [10.0]},
            {"temperature_2m_max": "°C"},
            "°C",
        ),
        ({"time": ["2026-11-25"], "temperature_2m_min": [10.0]}, None, "no temperature_2m_max"),
        ({"time": ["yesterday"], "temperature_2m_max": [10.0]}, None, "bad date"),
    ],
)
def test_parse_rejects_malformed_bodies(
    daily: dict[str, object], units: dict[str, str] | None, message: str
) -> None:
    with pytest.raises(WeatherError, match=message):
        parse_ensemble(
            _body(daily, units), "KLGA", unit=Unit.F, extreme="max", models=["x"], issued_at=NOW
        )


async def test_deterministic_forecast_by_model(
    state: WeatherState, server: TestServer, session: aiohttp.ClientSession
) -> None:
    state.set_daily(KLGA.latitude, KLGA.longitude, TODAY_NY, 10.0, 0.0)
    url = _url(server, "/v1/forecast")
    out = await fetch_deterministic(
        session, url, KLGA, unit=Unit.C, models=["ecmwf_ifs025", "icon_seamless"], forecast_days=9
    )
    assert set(out[TODAY_NY]) == {"ecmwf_ifs025", "icon_seamless"}
    assert out[TODAY_NY]["ecmwf_ifs025"] == pytest.approx(10.0, abs=0.05)
    assert set(out[TODAY_NY + dt.timedelta(days=8)]) == {"ecmwf_ifs025"}  # ICON ends at day 7
    single = await fetch_deterministic(session, url, KLGA, unit=Unit.F, models=["gfs_seamless"])
    assert set(single[TODAY_NY]) == {"gfs_seamless"} and len(single) == 3


async def test_sandbox_is_exact_at_zero_spread_and_seeded_elsewhere(
    state: WeatherState, server: TestServer, session: aiohttp.ClientSession
) -> None:
    state.set_daily(KLGA.latitude, KLGA.longitude, TODAY_NY, 25.0, 0.0)
    out = await fetch_ensemble(session, _url(server), KLGA, unit=Unit.C, extreme="max", models=FOUR)
    assert set(out[TODAY_NY].members) == {25.0}
    # An unscripted place gets a plausible seeded default, identical for nearby requests.
    seoul = Station("RKSI", 37.4691, 126.451, 7.0, "Asia/Seoul")
    nearby = Station("RKSI", 37.49, 126.43, 7.0, "Asia/Seoul")
    first = await fetch_ensemble(
        session, _url(server), seoul, unit=Unit.C, extreme="max", models=FOUR
    )
    second = await fetch_ensemble(
        session, _url(server), nearby, unit=Unit.C, extreme="max", models=FOUR
    )
    day = min(first)
    assert day == dt.date(2026, 11, 26)  # already tomorrow in Seoul at 15:00Z
    assert -10.0 < statistics.mean(first[day].members) < 25.0
    assert first[day].members == second[day].members

from __future__ import annotations

import pytest

from weatheredge.model.market import Station
from weatheredge.weather.stations import resolve_station

HKO = Station("VHHO", 22.3019, 114.1742, 32.0, "Asia/Hong_Kong")


def test_airport_from_airportsdata_with_elevation_in_metres() -> None:
    station = resolve_station("KLGA")
    assert station is not None
    assert station.icao == "KLGA"
    assert station.latitude == pytest.approx(40.777, abs=0.01)
    assert station.longitude == pytest.approx(-73.873, abs=0.01)
    assert station.timezone == "America/New_York"
    # airportsdata says 20.7 ft.
    assert station.elevation_m == pytest.approx(20.7 * 0.3048, abs=0.1)


def test_code_is_normalised() -> None:
    assert resolve_station(" eglc ") == resolve_station("EGLC")


def test_override_wins_over_airportsdata() -> None:
    moved = Station("KLGA", 40.0, -74.0, 1.0, "America/New_York")
    assert resolve_station("KLGA", {"klga": moved}) is moved


def test_override_supplies_a_station_airportsdata_lacks() -> None:
    assert resolve_station("VHHO") is None
    assert resolve_station("vhho", {"VHHO": HKO}) is HKO


def test_unknown_station_is_none() -> None:
    assert resolve_station("ZZZZ") is None
    assert resolve_station("ZZZZ", {"VHHO": HKO}) is None


@pytest.mark.parametrize(
    ("code", "timezone", "lat"),
    [("HKO", "Asia/Hong_Kong", 22.30), ("466920", "Asia/Taipei", 25.04)],
)
def test_official_non_airport_sources_ship_with_the_package(
    code: str, timezone: str, lat: float
) -> None:
    station = resolve_station(code.lower())
    assert station is not None and station.icao == code
    assert station.timezone == timezone
    assert station.latitude == pytest.approx(lat, abs=0.01)
    moved = Station(code, 0.0, 0.0, 0.0, "UTC")
    assert resolve_station(code, {code: moved}) is moved  # config still wins


# Every city Polymarket listed (weather.md §1.4, live list 2026-09-15) by its resolution
# station; HKO and CWA 466920 are the non-airport sources. Jinan's rules named no station.
LISTED = {
    "NYC": "KLGA", "Chicago": "KORD", "Dallas": "KDAL", "Miami": "KMIA", "Atlanta": "KATL",
    "Seattle": "KSEA", "Houston": "KHOU", "Austin": "KAUS", "Denver": "KBKF",
    "Los Angeles": "KLAX", "San Francisco": "KSFO", "London": "EGLC", "Paris": "LFPB",
    "Amsterdam": "EHAM", "Munich": "EDDM", "Milan": "LIMC", "Madrid": "LEMD", "Warsaw": "EPWA",
    "Helsinki": "EFHK", "Ankara": "LTAC", "Istanbul": "LTFM", "Moscow": "UUWW",
    "Tel Aviv": "LLBG", "Toronto": "CYYZ", "Buenos Aires": "SAEZ", "São Paulo": "SBGR",
    "Mexico City": "MMMX", "Panama City": "MPMG", "Seoul": "RKSI", "Busan": "RKPK",
    "Tokyo": "RJTT", "Beijing": "ZBAA", "Shanghai": "ZSPD", "Shenzhen": "ZGSZ",
    "Guangzhou": "ZGGG", "Wuhan": "ZHHH", "Chengdu": "ZUUU", "Chongqing": "ZUCK",
    "Qingdao": "ZSQD", "Zhengzhou": "ZHCC", "Hong Kong": "HKO", "Taipei": "RCSS",
    "Taipei (CWA era)": "466920", "Singapore": "WSSS", "Kuala Lumpur": "WMKK", "Manila": "RPLL",
    "Jakarta": "WIHH", "Lucknow": "VILK", "Karachi": "OPKC", "Jeddah": "OEJN",
    "Cape Town": "FACT", "Lagos": "DNMM", "Wellington": "NZWN", "Auckland": "NZAA",
}  # fmt: skip


@pytest.mark.parametrize(("city", "code"), sorted(LISTED.items()))
def test_every_listed_city_has_a_station_without_configuration(city: str, code: str) -> None:
    station = resolve_station(code)
    assert station is not None, city
    assert station.timezone.count("/") >= 1

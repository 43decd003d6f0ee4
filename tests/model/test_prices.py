"""Exact micro-unit parsing and rendering of Polymarket decimal strings."""

from __future__ import annotations

import pytest

from weatheredge.model.prices import MICRO, from_micros, on_tick_grid, to_micros


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.41", 410_000),
        (".48", 480_000),
        ("55.5", 55_500_000),
        ("5", 5 * MICRO),
        ("0", 0),
        ("0.0", 0),
        ("1", MICRO),
        ("1.0", MICRO),
        ("0.001", 1_000),
        ("0.0001", 100),
        ("0.000001", 1),
        ("0.999", 999_000),
        ("00.5", 500_000),
        ("120", 120 * MICRO),
        ("1234567.123456", 1_234_567_123_456),
        # trailing zeros beyond 6 decimals are harmless
        ("0.4100000", 410_000),
        ("0.10000000000", 100_000),
    ],
)
def test_to_micros_parses_exactly(text: str, expected: int) -> None:
    assert to_micros(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        ".",
        "1.",
        "-0.5",
        "+0.5",
        "1e-3",
        "1E3",
        " 0.5",
        "0.5 ",
        "nan",
        "NaN",
        "inf",
        "Infinity",
        "1.2.3",
        "0,5",
        "1_000",
        "abc",
        "0x10",
        "١",  # Arabic-Indic digit: int() would accept it, a price string must not
        "0.1234567",  # 7 significant decimals
        "0.0000001",
    ],
)
def test_to_micros_rejects_non_plain_decimals(text: str) -> None:
    with pytest.raises(ValueError):
        to_micros(text)


def test_to_micros_is_exact_where_float_is_not() -> None:
    # 0.1 + 0.2 != 0.3 in floats; in micros it is exact.
    assert to_micros("0.1") + to_micros("0.2") == to_micros("0.3")
    assert to_micros("0.29") == 290_000  # float(0.29) * 1e6 == 290000.00000000006


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (410_000, "0.41"),
        (5 * MICRO, "5"),
        (1_000, "0.001"),
        (100, "0.0001"),
        (1, "0.000001"),
        (0, "0"),
        (55_500_000, "55.5"),
        (MICRO, "1"),
        (999_000, "0.999"),
        (-410_000, "-0.41"),
        (-1, "-0.000001"),
        (-5 * MICRO, "-5"),
        (-55_500_000, "-55.5"),
    ],
)
def test_from_micros_renders_shortest_exact(value: int, expected: str) -> None:
    assert from_micros(value) == expected


@pytest.mark.parametrize(
    "text", ["0.41", "0.001", "0.999", "55.5", "5", "0", "1234.000001", "0.1", "0.0001"]
)
def test_round_trip_text(text: str) -> None:
    assert from_micros(to_micros(text)) == text


@pytest.mark.parametrize("value", [0, 1, 7, 999_999, 1_000_000, 1_000_001, 123_456_789])
def test_round_trip_micros(value: int) -> None:
    assert to_micros(from_micros(value)) == value


def test_from_micros_negative_round_trips_magnitude() -> None:
    for value in (1, 410_000, 1_500_000, 999_999):
        assert from_micros(-value) == "-" + from_micros(value)


@pytest.mark.parametrize(
    ("price", "tick", "expected"),
    [
        (10_000, 10_000, True),  # 0.01 is the lowest legal price at tick 0.01
        (990_000, 10_000, True),  # 0.99 the highest
        (410_000, 10_000, True),
        (415_000, 10_000, False),  # off grid
        (0, 10_000, False),
        (MICRO, 10_000, False),
        (1_000_000 - 1_000, 10_000, False),  # 0.999 is off the 0.01 grid
        (1_000, 1_000, True),  # 0.001 at tick 0.001
        (999_000, 1_000, True),
        (965_000, 1_000, True),
        (1_000_000, 1_000, False),
        (500, 1_000, False),
        (100, 100, True),  # tick 0.0001
        (5_000, 5_000, True),  # tick 0.005
        (7_500, 5_000, False),
        (100_000, 100_000, True),  # tick 0.1
        (900_000, 100_000, True),
        (950_000, 100_000, False),
        (410_000, 0, False),  # a zero tick is never valid
        (410_000, -10_000, False),
    ],
)
def test_on_tick_grid(price: int, tick: int, expected: bool) -> None:
    assert on_tick_grid(price, tick) is expected

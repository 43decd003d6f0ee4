"""Bucket labels, rounding preimages, settlement, ladders (weather.md §1.2, §1.5, §3.1)."""

from __future__ import annotations

import math

import pytest

from weatheredge.model.buckets import (
    Bucket,
    Rounding,
    Unit,
    c_to_f,
    half_up,
    parse_bucket_label,
    settle,
    settle_from_celsius,
    validate_ladder,
)

F, C = Unit.F, Unit.C
HALF_UP, FLOOR = Rounding.HALF_UP, Rounding.FLOOR


# --- label parsing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        # US °F ladder forms
        ("43°F or below", Bucket(None, 43, F)),
        ("44-45°F", Bucket(44, 45, F)),
        ("56°F or higher", Bucket(56, None, F)),
        ("39°F or below", Bucket(None, 39, F)),
        ("82-83°F", Bucket(82, 83, F)),
        # °C ladder forms
        ("12°C", Bucket(12, 12, C)),
        ("9°C or below", Bucket(None, 9, C)),
        ("27°C or higher", Bucket(27, None, C)),
        ("0°C", Bucket(0, 0, C)),
        # synonyms for the tails
        ("43°F or lower", Bucket(None, 43, F)),
        ("43°F or less", Bucket(None, 43, F)),
        ("56°F or above", Bucket(56, None, F)),
        ("56°F or more", Bucket(56, None, F)),
        # ≥ / ≤ / >= / <= with and without spaces
        ("≥56°F", Bucket(56, None, F)),
        ("≥ 56°F", Bucket(56, None, F)),
        ("≤43°F", Bucket(None, 43, F)),
        ("≤ 43°F", Bucket(None, 43, F)),
        (">=56°F", Bucket(56, None, F)),
        (">= 56°F", Bucket(56, None, F)),
        ("<=43°F", Bucket(None, 43, F)),
        ("<= 43°F", Bucket(None, 43, F)),
        ("≥27°C", Bucket(27, None, C)),
        ("≤ 17°C", Bucket(None, 17, C)),
        # negative °C, ASCII and unicode minus
        ("-3°C", Bucket(-3, -3, C)),
        ("−2°C", Bucket(-2, -2, C)),
        ("-5--3°C", Bucket(-5, -3, C)),
        ("−5-−3°C", Bucket(-5, -3, C)),
        ("-1-0°C", Bucket(-1, 0, C)),
        ("-10°C or below", Bucket(None, -10, C)),
        ("−10°C or below", Bucket(None, -10, C)),
        ("≤ -10°C", Bucket(None, -10, C)),
        ("≥−1°C", Bucket(-1, None, C)),
        ("-2°F or higher", Bucket(-2, None, F)),
        # dash and spacing variants
        ("44–45°F", Bucket(44, 45, F)),  # en dash
        ("44—45°F", Bucket(44, 45, F)),  # em dash
        ("44 - 45°F", Bucket(44, 45, F)),
        ("44 to 45°F", Bucket(44, 45, F)),
        ("44-45 °F", Bucket(44, 45, F)),
        ("44-45° F", Bucket(44, 45, F)),
        ("44-45F", Bucket(44, 45, F)),
        ("12 C", Bucket(12, 12, C)),
        ("12c", Bucket(12, 12, C)),
        ("  12°C  ", Bucket(12, 12, C)),
        ("43°F  or\tbelow", Bucket(None, 43, F)),
        ("56°F OR HIGHER", Bucket(56, None, F)),
        ("44-44°F", Bucket(44, 44, F)),
    ],
)
def test_parse_bucket_label(label: str, expected: Bucket) -> None:
    assert parse_bucket_label(label) == expected


@pytest.mark.parametrize(
    "label",
    [
        "",
        "   ",
        "garbage",
        "44-45",  # no unit
        "44-45°K",
        "44.5°F",  # decimals are not a bucket form
        "44-45°F or higher",
        "or below",
        "°F",
        "≥°F",
        "between 44 and 45°F",
        "44°F-45°F",
        "44-45-46°F",
        "Yes",
        "45°F or",
        "≥≥45°F",
        "1e2°F",
    ],
)
def test_parse_bucket_label_garbage_raises_naming_label(label: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_bucket_label(label)
    assert repr(label) in str(info.value)


@pytest.mark.parametrize("label", ["45-44°F", "-3--5°C", "13-12°C"])
def test_parse_bucket_label_upside_down_range(label: str) -> None:
    with pytest.raises(ValueError, match="upside down") as info:
        parse_bucket_label(label)
    assert repr(label) in str(info.value)


@pytest.mark.parametrize(
    "label", ["43°F or below", "44-45°F", "56°F or higher", "12°C", "-3°C", "-5--3°C"]
)
def test_label_round_trip(label: str) -> None:
    assert parse_bucket_label(label).label() == label


@pytest.mark.parametrize(
    ("label", "canonical"),
    [
        ("≥ 56°F", "56°F or higher"),
        ("<=43°F", "43°F or below"),
        ("−2°C", "-2°C"),
        ("44 to 45°F", "44-45°F"),
        ("56°F or above", "56°F or higher"),
    ],
)
def test_label_canonicalises(label: str, canonical: str) -> None:
    assert parse_bucket_label(label).label() == canonical


# --- contains ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bucket", "inside", "outside"),
    [
        (Bucket(44, 45, F), [44, 45], [43, 46]),
        (Bucket(None, 43, F), [43, 0, -100], [44]),
        (Bucket(56, None, F), [56, 130], [55]),
        (Bucket(12, 12, C), [12], [11, 13]),
        (Bucket(-5, -3, C), [-5, -4, -3], [-6, -2]),
    ],
)
def test_contains(bucket: Bucket, inside: list[int], outside: list[int]) -> None:
    assert all(bucket.contains(v) for v in inside)
    assert not any(bucket.contains(v) for v in outside)


# --- preimages (weather.md §3.1) -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "rounding", "expected"),
    [
        ("44-45°F", HALF_UP, (43.5, 45.5)),
        ("43°F or below", HALF_UP, (-math.inf, 43.5)),
        ("56°F or higher", HALF_UP, (55.5, math.inf)),
        ("12°C", HALF_UP, (11.5, 12.5)),
        ("-3°C", HALF_UP, (-3.5, -2.5)),
        ("-5--3°C", HALF_UP, (-5.5, -2.5)),
        ("9°C or below", HALF_UP, (-math.inf, 9.5)),
        # HKO floor rule: "33°C" covers 33.0-33.9
        ("33°C", FLOOR, (33.0, 34.0)),
        ("33-34°C", FLOOR, (33.0, 35.0)),
        ("29°C or below", FLOOR, (-math.inf, 30.0)),
        ("36°C or higher", FLOOR, (36.0, math.inf)),
        ("-3°C", FLOOR, (-3.0, -2.0)),
    ],
)
def test_preimage(label: str, rounding: Rounding, expected: tuple[float, float]) -> None:
    assert parse_bucket_label(label).preimage(rounding) == expected


@pytest.mark.parametrize("rounding", [HALF_UP, FLOOR])
@pytest.mark.parametrize("label", ["44-45°F", "12°C", "-3°C", "-5--3°C", "0°C"])
def test_preimage_is_exactly_the_set_that_settles_inside(label: str, rounding: Rounding) -> None:
    """Every tenth inside [a, b) settles into the bucket; the edges behave half-open."""
    bucket = parse_bucket_label(label)
    lo, hi = bucket.preimage(rounding)
    tenths = range(round(lo * 10) - 20, round(hi * 10) + 20)
    for t in tenths:
        x = t / 10
        assert bucket.contains(settle(x, rounding)) == (lo <= x < hi), (x, settle(x, rounding))


# --- rounding and settlement (weather.md §1.5) ---------------------------------------------------


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (0.5, 1),  # round() would give 0
        (1.5, 2),
        (2.5, 3),  # round() would give 2
        (72.5, 73),
        (-0.5, 0),
        (-1.5, -1),  # toward +inf, R(-1.5) = -1
        (-2.5, -2),
        (-0.6, -1),
        (44.49, 44),
        (44.5, 45),
        (0.0, 0),
        (-0.4, 0),
    ],
)
def test_half_up(x: float, expected: int) -> None:
    assert half_up(x) == expected


def test_half_up_differs_from_bankers_round() -> None:
    assert round(2.5) == 2 and half_up(2.5) == 3
    assert round(-1.5) == -2 and half_up(-1.5) == -1


@pytest.mark.parametrize(
    ("x", "rounding", "expected"),
    [
        (33.9, FLOOR, 33),
        (33.0, FLOOR, 33),
        (33.99, FLOOR, 33),
        (-0.1, FLOOR, -1),
        (33.9, HALF_UP, 34),
        (33.4, HALF_UP, 33),
    ],
)
def test_settle(x: float, rounding: Rounding, expected: int) -> None:
    assert settle(x, rounding) == expected


@pytest.mark.parametrize(
    ("celsius", "unit", "rounding", "expected"),
    [
        (22.5, F, HALF_UP, 73),  # 72.5 °F -> 73
        (23.3, F, HALF_UP, 74),  # 73.94 °F -> 74
        (30.6, F, HALF_UP, 87),  # KORD example: 87.08 °F
        (11.7, F, HALF_UP, 53),  # 53.06 °F, binary noise must not matter
        (2.5, F, HALF_UP, 37),  # exactly 36.5 °F
        (7.5, F, HALF_UP, 46),  # exactly 45.5 °F
        (-17.5, F, HALF_UP, 1),  # exactly 0.5 °F
        (-22.5, F, HALF_UP, -8),  # exactly -8.5 °F -> -8 (toward +inf)
        (0.0, F, HALF_UP, 32),
        (-40.0, F, HALF_UP, -40),
        (-0.5, C, HALF_UP, 0),  # half-up in °C
        (-1.5, C, HALF_UP, -1),
        (0.5, C, HALF_UP, 1),
        (12.5, C, HALF_UP, 13),
        (12.4, C, HALF_UP, 12),
        (33.9, C, FLOOR, 33),  # HKO floor
        (33.0, C, FLOOR, 33),
        (-0.1, C, FLOOR, -1),
    ],
)
def test_settle_from_celsius(celsius: float, unit: Unit, rounding: Rounding, expected: int) -> None:
    assert settle_from_celsius(celsius, unit, rounding) == expected


def test_settle_from_celsius_matches_exact_arithmetic_for_every_tenth() -> None:
    """Tenths °C -> °F -> half-up, checked against rational arithmetic from -60.0 to 60.0 °C."""
    from fractions import Fraction

    for t in range(-600, 601):
        exact_f = Fraction(t, 10) * Fraction(9, 5) + 32
        want_f = math.floor(exact_f + Fraction(1, 2))
        assert settle_from_celsius(t / 10, F, HALF_UP) == want_f, t / 10
        want_c_half = math.floor(Fraction(t, 10) + Fraction(1, 2))
        assert settle_from_celsius(t / 10, C, HALF_UP) == want_c_half, t / 10
        assert settle_from_celsius(t / 10, C, FLOOR) == math.floor(Fraction(t, 10)), t / 10


@pytest.mark.parametrize(("c", "f"), [(0.0, 32.0), (100.0, 212.0), (-40.0, -40.0), (22.5, 72.5)])
def test_c_to_f(c: float, f: float) -> None:
    assert c_to_f(c) == pytest.approx(f)


# --- ladder validation ---------------------------------------------------------------------------


def _ladder(*labels: str) -> list[Bucket]:
    return [parse_bucket_label(x) for x in labels]


NYC = _ladder(
    "65°F or below",
    "66-67°F",
    "68-69°F",
    "70-71°F",
    "72-73°F",
    "74-75°F",
    "76-77°F",
    "78-79°F",
    "80-81°F",
    "82-83°F",
    "84°F or higher",
)
LONDON = _ladder("17°C or below", *(f"{k}°C" for k in range(18, 27)), "27°C or higher")


@pytest.mark.parametrize("ladder", [NYC, LONDON], ids=["nyc-11-legs", "london-11-legs"])
def test_valid_ladders(ladder: list[Bucket]) -> None:
    assert len(ladder) == 11
    assert validate_ladder(ladder) is None


def test_valid_ladder_in_any_order() -> None:
    assert validate_ladder(list(reversed(NYC))) is None
    assert validate_ladder([NYC[5], NYC[0], NYC[10], *NYC[1:5], *NYC[6:10]]) is None


@pytest.mark.parametrize(
    "labels",
    [
        ("43°F or below", "44°F or higher"),
        ("-4°C or below", "-3°C", "-2--1°C", "0°C or higher"),
        ("≤ 9°C", "≥10°C"),
    ],
)
def test_valid_small_ladders(labels: tuple[str, ...]) -> None:
    assert validate_ladder(_ladder(*labels)) is None


def test_every_integer_falls_in_exactly_one_bucket_of_a_valid_ladder() -> None:
    for value in range(0, 120):
        assert sum(b.contains(value) for b in NYC) == 1


@pytest.mark.parametrize(
    ("labels", "reason"),
    [
        (("43°F or below", "44-45°F", "48-49°F", "50°F or higher"), "gap"),  # 46-47 missing
        (("43°F or below", "44-45°F", "45-46°F", "47°F or higher"), "overlap"),
        (("43°F or below", "43-44°F", "45°F or higher"), "overlap"),
        (("44-45°F", "46-47°F", "48°F or higher"), "tail"),  # no lower tail
        (("43°F or below", "44-45°F", "46-47°F"), "tail"),  # no upper tail
        (("44-45°F", "46-47°F"), "tail"),
        (("43°F or below", "44-45°F", "46°C or higher"), "mixed units"),
        (("17°C or below", "18°C", "19°F or higher"), "mixed units"),
        (("43°F or below", "42°F or below", "44°F or higher"), "gap or overlap"),  # two low tails
        (("43°F or below", "44°F or higher", "46°F or higher"), "gap or overlap"),
        (("43°F or below",), "tail"),
        (("44°F or higher",), "tail"),
    ],
)
def test_invalid_ladders(labels: tuple[str, ...], reason: str) -> None:
    why = validate_ladder(_ladder(*labels))
    assert why is not None
    if reason in ("gap", "overlap"):
        assert "gap or overlap" in why
    else:
        assert reason in why


def test_gap_message_names_the_neighbours() -> None:
    why = validate_ladder(_ladder("43°F or below", "44-45°F", "48-49°F", "50°F or higher"))
    assert why is not None and "44-45°F" in why and "48-49°F" in why


def test_empty_ladder() -> None:
    assert validate_ladder([]) == "no buckets"


@pytest.mark.parametrize(
    ("label", "reason"),
    [
        ("9" * 400 + "°F or below", "outside the physical range -100…150°F"),
        ("1" + "0" * 400 + "°F or higher", "(401 digits)"),
        ("151°F or higher", "bound 151°F outside"),
        ("-101°F or below", "bound -101°F outside"),
        ("66°C", "outside the physical range -73…65°C"),
        ("-80--74°C", "bound -80°C outside"),
    ],
)
def test_bounds_outside_the_physical_range_are_refused(label: str, reason: str) -> None:
    with pytest.raises(ValueError, match="outside the physical range") as info:
        parse_bucket_label(label)
    assert reason in str(info.value) and len(str(info.value)) < 100


@pytest.mark.parametrize("label", ["150°F or higher", "-100°F or below", "65°C", "-73°C"])
def test_the_physical_range_is_inclusive(label: str) -> None:
    assert parse_bucket_label(label).label() == label

"""The report decoder on real-format METAR/SPECI texts from many countries (issue 10).

Each case: the raw report as aviationweather serves it in ``rawOb``, the market's unit and
resolution source, and the settled value worked out by hand: °F markets read the T-group tenths
(°C * 1.8 + 32, then half-up); °C markets read the whole-degree body (``M`` = minus). ``None``:
nothing to settle (``NIL``, missing temperature).
"""

from __future__ import annotations

import datetime as dt

import pytest

from weatheredge.model.buckets import Rounding, Unit
from weatheredge.model.observations import Observation, observation_from_report
from weatheredge.model.rules import SourceKind
from weatheredge.model.settling import SettlingRule, Status
from weatheredge.weather.metar import parse_report

F, C = Unit.F, Unit.C
NOAA, WU = SourceKind.NOAA_WRH, SourceKind.WUNDERGROUND
AT = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC)

CORPUS: list[tuple[str, Unit, SourceKind, int | None]] = [
    # --- United States, °F from the T-group ---
    # 11.7 * 1.8 + 32 = 53.06 -> 53
    (
        "KLGA 252351Z 31012KT 10SM FEW250 12/M01 A3010 RMK AO2 SLP191 T01171011 10156 20111",
        F,
        NOAA,
        53,
    ),
    # -2.2 -> -3.96 + 32 = 28.04 -> 28
    ("KORD 251451Z 27010KT 10SM CLR M02/M03 A3020 RMK AO2 SLP240 T10221033", F, NOAA, 28),
    # T-group without the dew-point half: -0.4 -> 31.28 -> 31
    ("KJFK 251451Z 27010KT 10SM CLR 00/M03 A3020 RMK AO2 SLP241 T1004", F, NOAA, 31),
    # 0.0 -> 32
    ("KBOS 251451Z 27010KT 10SM CLR 00/M03 A3020 RMK AO2 SLP230 T00001033", F, NOAA, 32),
    # 28.3 -> 82.94 -> 83
    ("KMIA 151753Z 09012KT 10SM FEW030 SCT250 28/24 A3005 RMK AO2 SLP176 T02830239", F, NOAA, 83),
    # 30.6 -> 87.08 -> 87
    ("KATL 151752Z 24007KT 10SM FEW060 31/19 A2999 RMK AO2 SLP146 T03060194", F, NOAA, 87),
    # 33.9 -> 93.02 -> 93
    ("KDAL 152153Z 18014KT 10SM CLR 34/18 A2990 RMK AO2 SLP114 T03390178", F, NOAA, 93),
    # 5.6 -> 42.08 -> 42
    ("KSEA 150753Z 18005KT 10SM OVC020 06/03 A3002 RMK AO2 SLP168 T00560033", F, NOAA, 42),
    # 25.0 -> 77.0 -> 77
    ("KHOU 151253Z 16009KT 10SM FEW015 25/22 A3002 RMK AO2 SLP165 T02500222", F, NOAA, 77),
    # 22.5 -> 72.5 -> half-up 73 (banker's rounding would give 72)
    ("KAUS 151351Z 17010KT 10SM SCT030 23/19 A2998 RMK AO2 SLP144 T02250194", F, NOAA, 73),
    # -10.6 -> 12.92 -> 13
    ("KBKF 151358Z AUTO 34010KT 10SM CLR M11/M17 A3025 RMK AO2 SLP246 T11061167", F, NOAA, 13),
    # 18.9 -> 66.02 -> 66
    ("KLAX 152053Z 25012KT 10SM FEW010 19/12 A2995 RMK AO2 SLP141 T01890117", F, NOAA, 66),
    # 14.4 -> 57.92 -> 58
    ("KSFO 152156Z 29018G24KT 10SM FEW008 14/11 A3001 RMK AO2 SLP162 T01440111", F, NOAA, 58),
    # -23.9 -> -43.02 + 32 = -11.02 -> -11
    ("KORD 151151Z 30011KT 10SM CLR M24/M28 A3070 RMK AO2 SLP451 T12391283", F, NOAA, -11),
    # -30.0 -> -54 + 32 = -22
    ("KMSP 151253Z 32008KT 10SM CLR M30/M34 A3081 RMK AO2 SLP482 T13001339", F, WU, -22),
    # -17.8 -> -32.04 + 32 = -0.04 -> -0 -> 0
    ("KMSP 150653Z 31006KT 10SM CLR M18/M23 A3062 RMK AO2 SLP421 T11781228", F, WU, 0),
    # -18.1 -> -0.58 -> floor(-0.08) = -1
    ("KMSP 150753Z 31006KT 10SM CLR M18/M23 A3063 RMK AO2 SLP425 T11811228", F, WU, -1),
    # SPECI with no T-group: body 28 -> 82.4 -> 82 (the most likely of 82/83 from 27.5..28.4)
    ("SPECI KLGA 151912Z 19012G20KT 10SM FEW040 28/15 A3002 RMK AO2", F, NOAA, 82),
    # AUTO: 12.2 -> 53.96 -> 54
    ("KLGA 251451Z AUTO 31012KT 10SM CLR 12/M01 A3010 RMK AO2 SLP191 T01221011", F, NOAA, 54),
    # COR: -15.0 -> 5.0 -> 5
    ("KORD 151151Z COR 29011KT 10SM CLR M15/M20 A3041 RMK AO2 SLP322 T11501200", F, WU, 5),
    # explicit METAR prefix: 28.9 -> 84.02 -> 84
    ("METAR KATL 151751Z 22008KT 10SM SCT050 29/18 A3001 RMK AO2 SLP155 T02890178", F, NOAA, 84),
    # SPECI, T-group 21.6 -> 70.88 -> 71 (body 22 -> 72 is the less likely reading)
    ("SPECI KLGA 181742Z 22011KT 10SM FEW050 22/12 A3010 RMK AO2 T02160122", F, NOAA, 71),
    # no temperature group at all, NIL
    ("KSEA 151753Z AUTO 18005KT 10SM OVC020 A3002 RMK AO2 SLPNO TSNO", F, NOAA, None),
    ("KHOU 151753Z NIL", F, NOAA, None),
    # --- Canada, Mexico, Panama, South America ---
    ("CYYZ 151500Z 27012KT 15SM FEW040 M03/M09 A3012 RMK SC1 SLP206", C, NOAA, -3),
    ("SPECI CYYZ 151826Z COR 28015G25KT 15SM -SHSN BKN030 M01/M08 A3009 RMK SC7", C, NOAA, -1),
    ("MMMX 151947Z 36007KT 7SM SCT080 BKN200 24/04 A3031 RMK 8/230 HZY", C, NOAA, 24),
    ("MPMG 151700Z 36008KT 9999 FEW018 SCT100 32/24 Q1010 NOSIG", C, NOAA, 32),
    ("SAEZ 151800Z 36010KT 9999 FEW040 24/12 Q1013 NOSIG", C, NOAA, 24),
    ("SBGR 151700Z 33008KT 9999 SCT045 29/17 Q1016=", C, NOAA, 29),
    # --- Europe ---
    ("EGLC 251450Z 24008KT 9999 FEW030 12/06 Q1019 NOSIG", C, NOAA, 12),
    ("EGLC 150650Z 03005KT 9999 FEW012 M02/M04 Q1031", C, WU, -2),
    ("EGLC 151320Z NIL=", C, WU, None),
    ("LFPB 151300Z 22010KT CAVOK 24/11 Q1016 NOSIG", C, NOAA, 24),
    ("LFPB 150530Z AUTO 00000KT 0300 R07/0450N FG VV/// M01/M01 Q1029", C, NOAA, -1),
    ("EHAM 151225Z 24015KT 9999 SCT035 17/09 Q1012 NOSIG", C, NOAA, 17),
    ("EDDM 150520Z 07004KT CAVOK M08/M11 Q1035 NOSIG", C, NOAA, -8),
    ("EDDM 151320Z AUTO 24010KT 9999 NCD ///// Q1015", C, NOAA, None),
    ("LIMC 151350Z 18006KT CAVOK 31/17 Q1014 NOSIG", C, NOAA, 31),
    ("LEMD 151500Z 22011KT CAVOK 38/06 Q1012 NOSIG", C, NOAA, 38),
    ("EPWA 150600Z 11005KT 9999 OVC008 M05/M07 Q1028 NOSIG", C, NOAA, -5),
    ("EFHK 150550Z 01008KT 9999 -SN BKN012 M12/M14 Q1002 R04R/590595 NOSIG", C, NOAA, -12),
    ("UUWW 150600Z 32002MPS 9999 OVC005 M03/M04 Q1027 R01/290050 NOSIG", C, NOAA, -3),
    # M00: between -0.5 and 0, settles as 0
    ("UUWW 150630Z 32002MPS 9999 OVC005 M00/M01 Q1027 NOSIG", C, NOAA, 0),
    ("LTAC 151150Z 27011KT CAVOK 28/M03 Q1016 NOSIG", C, NOAA, 28),
    ("LTFM 151220Z 03012KT CAVOK 25/14 Q1017 NOSIG", C, NOAA, 25),
    # visibility fraction before the temperature group must not be read as one
    ("LLBG 151150Z 29012KT 1 1/2SM BR SCT010 31/20 Q1010 NOSIG", C, NOAA, 31),
    # --- Asia, Middle East, Africa, Oceania ---
    ("RKSI 150600Z 32008KT CAVOK M01/M12 Q1030 NOSIG", C, WU, -1),
    ("RKPK 150530Z 34011KT CAVOK 07/M08 Q1024", C, NOAA, 7),
    ("RJTT 150500Z 34008KT 9999 FEW030 12/M02 Q1021 NOSIG", C, NOAA, 12),
    ("ZBAA 150600Z 31004MPS CAVOK M04/M20 Q1031 NOSIG", C, NOAA, -4),
    ("ZSPD 150600Z 33006MPS CAVOK 09/M03 Q1028 NOSIG", C, NOAA, 9),
    ("ZGSZ 150600Z 03004MPS CAVOK 21/07 Q1020 NOSIG", C, NOAA, 21),
    ("RCSS 150600Z 05010KT 9999 FEW020 BKN040 24/18 Q1016 NOSIG RMK A3001", C, WU, 24),
    ("VHHH 150600Z 06012KT 9999 FEW020 26/17 Q1017 NOSIG", C, NOAA, 26),
    ("VILK 150830Z 29004KT 3000 HZ NSC 24/09 Q1016 NOSIG", C, NOAA, 24),
    ("OPKC 151000Z 23010KT 4000 HZ NSC 34/20 Q1006 NOSIG", C, NOAA, 34),
    ("OEJN 151200Z 32012KT CAVOK 37/21 Q1007 NOSIG", C, NOAA, 37),
    ("FACT 151400Z 16022KT CAVOK 26/11 Q1014 NOSIG", C, NOAA, 26),
    ("DNMM 151400Z 22009KT 9999 SCT012 FEW030CB 31/25 Q1011", C, NOAA, 31),
    ("NZWN 150400Z AUTO 35015KT 9999 NCD 14/07 Q1013", C, NOAA, 14),
    ("NZAA 151800Z AUTO 00000KT 9999 NCD M00/M01 Q1026", C, NOAA, 0),
    ("WSSS 150600Z 36008KT 9999 FEW020 32/24 Q1008 NOSIG", C, NOAA, 32),
    ("WMKK 150700Z 26007KT 9999 FEW015CB 33/24 Q1007 NOSIG", C, NOAA, 33),
    ("RPLL 150500Z 06010KT 9999 FEW020 31/23 Q1011 NOSIG", C, NOAA, 31),
    ("WIHH 150600Z 32008KT 8000 SCT020 32/25 Q1008 NOSIG", C, NOAA, 32),
]


def _station(raw: str) -> str:
    tokens = raw.split()
    return tokens[1] if tokens[0] in ("METAR", "SPECI") else tokens[0]


def settled_value(raw: str, unit: Unit, source: SourceKind) -> int | None:
    """The value the resolution table would most likely show for this one report."""
    obs = observation_from_report(_station(raw), AT, raw)
    if obs is None:
        return None
    hourly = source is SourceKind.NOAA_WRH and unit is Unit.F
    rule = SettlingRule(source, hourly, unit, Rounding.HALF_UP, "max")
    outcomes = [(v, p) for v, p in rule.assess(obs).outcomes if v is not None]
    return max(outcomes, key=lambda vp: vp[1])[0]


def test_corpus_is_large_and_varied() -> None:
    assert len(CORPUS) >= 50
    prefixes = {
        raw.split()[1][:2] if raw.startswith(("SPECI", "METAR")) else raw[:2] for raw, *_ in CORPUS
    }
    assert len(prefixes) >= 20  # ICAO regions: several countries
    texts = " ".join(raw for raw, *_ in CORPUS)
    for needed in (" M0", "SPECI", " COR ", " AUTO ", " NIL", "RMK AO2 SLPNO"):
        assert needed in texts, needed


@pytest.mark.parametrize(("raw", "unit", "source", "expected"), CORPUS, ids=lambda v: None)
def test_corpus_value(raw: str, unit: Unit, source: SourceKind, expected: int | None) -> None:
    assert settled_value(raw, unit, source) == expected


def test_decoder_exposes_what_the_rule_needs() -> None:
    speci = parse_report(
        "SPECI CYYZ 151826Z COR 28015G25KT 15SM -SHSN BKN030 M01/M08 A3009 RMK SC7"
    )
    assert (speci.kind, speci.station, speci.cor, speci.auto, speci.minute) == (
        "SPECI",
        "CYYZ",
        True,
        False,
        26,
    )
    assert (speci.body_c, speci.t_group_c, speci.slp) == (-1, None, False)
    routine = parse_report(
        "KBKF 151358Z AUTO 34010KT 10SM CLR M11/M17 A3025 RMK AO2 SLP246 T11061167"
    )
    assert (routine.kind, routine.auto, routine.slp, routine.body_c, routine.t_group_c) == (
        None,
        True,
        True,
        -11,
        -10.6,
    )
    assert (routine.day, routine.hour, routine.minute) == (15, 13, 58)
    zero = parse_report("UUWW 150630Z 32002MPS 9999 OVC005 M00/M01 Q1027 NOSIG")
    assert zero.body_c == 0 and zero.body_negative_zero
    assert parse_report("KHOU 151753Z NIL").nil
    assert not parse_report("KLGA 251451Z 31012KT 10SM 12/M01 A3010 RMK AO2 SLPNO T01221011").slp
    missing = parse_report("EDDM 151320Z AUTO 24010KT 9999 NCD ///// Q1015")
    assert missing.body_c is None and missing.t_group_c is None


def test_speci_body_and_t_group_disagreeing_is_marked_uncertain() -> None:
    raw = "SPECI KLGA 181742Z 22011KT 10SM FEW050 22/12 A3010 RMK AO2 T02160122"
    obs = observation_from_report("KLGA", AT, raw)
    assert obs is not None and obs.kind == "SPECI" and obs.body_c == 22 and obs.t_group_c == 21.6
    rule = SettlingRule(SourceKind.NOAA_WRH, True, Unit.F, Rounding.HALF_UP, "max")
    assessed = rule.assess(obs)
    assert assessed.status is Status.UNCERTAIN
    assert dict(assessed.outcomes) == pytest.approx({71: 0.88, 72: 0.12})
    # Weather Underground reads the T-group of SPECIs: no ambiguity there.
    wu = SettlingRule(SourceKind.WUNDERGROUND, False, Unit.F, Rounding.HALF_UP, "max")
    assert wu.assess(obs).status is Status.COUNTS


def test_any_feed_relaying_the_text_yields_the_same_report() -> None:
    """An Observation built directly from a relayed METAR (e.g. the NWS API's rawMessage)
    reads the same settling fields from its text as the aviationweather decoder."""
    raw = "KLGA 251451Z COR 31012KT 10SM CLR 12/M01 A3010 RMK AO2 SLP191 T01221011"
    direct = Observation("KLGA", AT, 12.2, True, "METAR", raw)
    decoded = observation_from_report("KLGA", AT, raw, kind="METAR", temp_c=12.2)
    assert direct == decoded
    assert (direct.slp, direct.cor, direct.auto, direct.body_c) == (True, True, False, 12)

"""Two feeds relaying the same reports: applied once, disagreements flagged, first arrival timed."""

from __future__ import annotations

import datetime as dt

from weatheredge.model.observations import Observation
from weatheredge.model.report_sources import SourceLedger, same_reading

T0 = dt.datetime(2026, 11, 25, 14, 51, tzinfo=dt.UTC)
FETCH = dt.datetime(2026, 11, 25, 14, 55, tzinfo=dt.UTC)


def obs(temp: float, at: dt.datetime = T0, tenths: bool = True, raw: str = "") -> Observation:
    return Observation("KLGA", at, temp, tenths, "METAR", raw or f"KLGA {temp}")


def test_first_delivery_applies_duplicates_do_not_and_the_lead_is_measured() -> None:
    ledger = SourceLedger()
    assert ledger.merge("nws", [obs(11.7)], FETCH) == [obs(11.7)]
    later = FETCH + dt.timedelta(seconds=40)
    # The primary brings the same reading (its own raw text): applied once more to hold the
    # primary's copy, not counted as a disagreement.
    assert ledger.merge("aviationweather", [obs(11.7, raw="KLGA 251451Z")], later) == [
        obs(11.7, raw="KLGA 251451Z")
    ]
    assert ledger.merge("aviationweather", [obs(11.7, raw="KLGA 251451Z")], later) == []
    assert ledger.merge("nws", [obs(11.7)], later) == []
    assert ledger.first_source("KLGA", T0) == "nws"
    status = ledger.status()
    assert status["first"] == {"nws": 1} and status["both"] == 1
    assert status["lead_p50_s"] == {"nws": 40.0}
    assert status["disagreements"] == 0


def test_disagreement_is_flagged_once_and_the_primary_wins() -> None:
    ledger = SourceLedger()
    assert ledger.merge("aviationweather", [obs(11.7)], FETCH) == [obs(11.7)]
    for _ in range(3):  # every poll re-delivers the last hours
        assert ledger.merge("nws", [obs(12.8)], FETCH) == []
    status = ledger.status()
    assert status["disagreements"] == 1
    assert "aviationweather 11.7 °C, nws 12.8 °C" in status["recent_disagreements"][0]


def test_secondary_first_then_primary_disagrees_replaces_it() -> None:
    ledger = SourceLedger()
    ledger.merge("nws", [obs(12.8)], FETCH)
    assert ledger.merge("aviationweather", [obs(11.7)], FETCH) == [obs(11.7)]
    assert ledger.status()["disagreements"] == 1


def test_same_source_correction_is_applied() -> None:
    ledger = SourceLedger()
    ledger.merge("aviationweather", [obs(11.7)], FETCH)
    assert ledger.merge("aviationweather", [obs(11.1)], FETCH) == [obs(11.1)]
    assert ledger.status()["disagreements"] == 0


def test_whole_degree_agrees_with_tenths_that_round_to_it() -> None:
    assert same_reading(obs(11.5), obs(12.0, tenths=False))
    assert not same_reading(obs(11.4), obs(12.0, tenths=False))
    assert same_reading(obs(-1.5), obs(-1.0, tenths=False))  # half-up, toward +inf


def test_prune_forgets_old_reports() -> None:
    ledger = SourceLedger()
    ledger.merge("aviationweather", [obs(11.7)], FETCH)
    ledger.prune(T0 + dt.timedelta(minutes=1))
    assert ledger.first_source("KLGA", T0) is None

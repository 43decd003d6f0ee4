"""The one UTC timestamp formatter: the text every table stores its times as."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from weatheredge.timestamps import now_iso, utc_iso


def test_stored_form_is_utc_milliseconds_with_z() -> None:
    at = dt.datetime(2026, 7, 1, 14, 0, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert utc_iso(at) == "2026-07-01T12:00:00.123Z"
    assert utc_iso(at, zulu=False) == "2026-07-01T12:00:00.123+00:00"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", now_iso())


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        utc_iso(dt.datetime(2026, 7, 1, 12))

"""A small two-bucket NYC event and a store on a real SQLite file in tmp_path."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from weatheredge.model.buckets import Bucket, Rounding, Unit
from weatheredge.model.market import BucketMarket, TemperatureEvent
from weatheredge.model.rules import Extreme, ResolutionRule, SourceKind
from weatheredge.store import Store

T0 = dt.datetime(2026, 11, 25, 14, 3, 7, 412_000, tzinfo=dt.UTC)


def make_market(market_id: str, lo: int | None, hi: int | None, label: str) -> BucketMarket:
    return BucketMarket(
        market_id=market_id,
        condition_id=f"0xcond{market_id}",
        label=label,
        bucket=Bucket(lo, hi, Unit.F),
        yes_token=f"yes{market_id}",
        no_token=f"no{market_id}",
        tick=10_000,
        min_size=5_000_000,
        fee_rate=0.05,
        neg_risk=True,
        accepting_orders=True,
    )


def make_event(title: str = "Highest temperature in NYC on November 25?") -> TemperatureEvent:
    rule = ResolutionRule(
        extreme=Extreme.HIGH,
        unit=Unit.F,
        source=SourceKind.NOAA_WRH,
        rounding=Rounding.HALF_UP,
        station="KLGA",
        hourly_only=False,
    )
    return TemperatureEvent(
        event_id="ev1",
        slug="highest-temperature-in-nyc-on-november-25",
        title=title,
        city="NYC",
        date=dt.date(2026, 11, 25),
        rule=rule,
        markets=(
            make_market("m1", None, 43, "43°F or below"),
            make_market("m2", 44, 45, "44-45°F"),
        ),
    )


@pytest.fixture
def event() -> TemperatureEvent:
    return make_event()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "weatheredge.db"


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[Store]:
    s = Store.open(db_path, busy_timeout_s=0.05, retry_base_s=0.01, retry_max_s=0.05)
    yield s
    await s.close(grace_s=1.0)

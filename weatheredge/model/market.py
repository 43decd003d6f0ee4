"""The catalogue: temperature events and their bucket markets, as the rest of the code sees them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from weatheredge.model.buckets import Bucket
from weatheredge.model.rules import ResolutionRule


@dataclass(frozen=True, slots=True)
class BucketMarket:
    market_id: str  # Gamma market id
    condition_id: str
    label: str  # groupItemTitle as published, e.g. "44-45°F"
    bucket: Bucket
    yes_token: str  # token (v1) or position (v2) id used for books, prices and subscriptions
    no_token: str
    tick: int  # micro-units
    min_size: int  # micro-units (shares * 1e6)
    fee_rate: float  # taker fee rate, e.g. 0.05; 0 when fees are off
    neg_risk: bool
    accepting_orders: bool
    rebate_rate: float = 0.0  # makers' share of taker fees (feeSchedule.rebateRate); 0: none


@dataclass(frozen=True, slots=True)
class TemperatureEvent:
    event_id: str
    slug: str
    title: str
    city: str
    date: dt.date  # the station's local calendar day being resolved
    rule: ResolutionRule
    markets: tuple[BucketMarket, ...]  # ordered from the lowest bucket up

    @property
    def buckets(self) -> list[Bucket]:
        return [m.bucket for m in self.markets]

    def token_ids(self) -> list[str]:
        return [t for m in self.markets for t in (m.yes_token, m.no_token)]


@dataclass(frozen=True, slots=True)
class Station:
    icao: str
    latitude: float
    longitude: float
    elevation_m: float
    timezone: str  # IANA


@dataclass(frozen=True, slots=True)
class EnsembleForecast:
    """Ensemble members' forecast of one local day's extreme, in the market's unit."""

    station: str
    date: dt.date
    members: tuple[float, ...]
    models: tuple[tuple[str, int], ...]  # (model, member count) as counted in the response
    issued_at: dt.datetime  # when we fetched it (UTC)

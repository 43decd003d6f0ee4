"""The live market state and its typed read API (see ``state.py``)."""

from weatheredge.live.state import (
    FORECAST_STALE,
    NO_FORECAST,
    MarketState,
    Pricing,
    TokenRef,
)

__all__ = ["FORECAST_STALE", "NO_FORECAST", "MarketState", "Pricing", "TokenRef"]

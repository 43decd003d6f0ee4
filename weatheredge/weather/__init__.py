"""Weather adapters: station lookup, Open-Meteo forecasts and aviationweather METARs.

Adapters know nothing of the store, notifier or Polymarket; they return ``weatheredge.model``
types and raise ``WeatherError`` for anything a caller should retry on the next run.
"""

from __future__ import annotations

from weatheredge.model.observations import Observation
from weatheredge.weather.errors import WeatherError
from weatheredge.weather.metar import fetch_metars
from weatheredge.weather.openmeteo import fetch_deterministic, fetch_ensemble
from weatheredge.weather.stations import resolve_station

__all__ = [
    "Observation",
    "WeatherError",
    "fetch_deterministic",
    "fetch_ensemble",
    "fetch_metars",
    "resolve_station",
]

"""Weather adapters: station lookup, Open-Meteo forecasts and aviationweather METARs.

Adapters know nothing of the store, notifier or Polymarket; they return ``weatheredge.model``
types and raise ``WeatherError`` for anything a caller should retry on the next run. Import the
pieces from their modules (``.stations``, ``.openmeteo``, ``.metar``, ``.errors``).
"""

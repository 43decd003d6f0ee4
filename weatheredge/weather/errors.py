"""The one exception the weather adapters raise.

Library failures (aiohttp ``ClientError``, timeouts, msgspec ``DecodeError``/``ValidationError``)
are translated into ``WeatherError`` at the adapter boundary with ``raise ... from err``, so
callers catch a single type and the cause stays on ``__cause__`` for the log.
"""

from __future__ import annotations

from weatheredge.errors import WeatherEdgeError


class WeatherError(WeatherEdgeError):
    """A weather source failed or returned something we cannot use; retry on the next run."""

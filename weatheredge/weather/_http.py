"""One GET, with transport failures translated into ``WeatherError``.

Each source interprets status codes and bodies itself (their error shapes differ), so this
returns the status and raw bytes instead of raising on non-200.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import aiohttp

from weatheredge.failures import describe, with_hint
from weatheredge.weather.errors import WeatherError

logger = logging.getLogger(__name__)


async def get_bytes(
    session: aiohttp.ClientSession,
    url: str,
    params: Mapping[str, str],
    source: str,
    *,
    headers: Mapping[str, str] | None = None,
) -> tuple[int, bytes]:
    """``(status, body)`` of ``GET url?params``; network errors and timeouts -> WeatherError."""
    try:
        async with session.get(url, params=params, headers=headers) as response:
            body = await response.read()
            return response.status, body
    except (aiohttp.ClientError, TimeoutError) as err:
        reach = with_hint(f"cannot reach {source} ({describe(err)})", err)
        raise WeatherError(reach) from err

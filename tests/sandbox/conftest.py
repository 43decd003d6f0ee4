"""The sandbox with its script stopped (``box``), behind the loopback-only network guard."""

from tests.trading.livekit import box, loopback_only  # noqa: F401  (fixtures)

"""The sandbox with its script stopped (``box``), behind the loopback-only network guard, and
the real SDK on a throwaway key (``gateway``)."""

from tests.trading.livekit import box, loopback_only  # noqa: F401  (fixtures)
from tests.trading.test_userchannel_live import gateway  # noqa: F401  (fixture)

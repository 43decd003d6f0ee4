"""The ``trading:`` section: sizing, limits, execution and trading notifications.

A new trading key is one field on ``TradingSettings`` (with its bound and default), one row in
README's config table and, when it is live-reloadable, one prefix in ``weatheredge.reload``.
"""

from __future__ import annotations

import enum
import logging
from typing import Annotated, Any, Literal

import msgspec

from weatheredge.config_types import Probability, Seconds, Seconds0, Section, Url

logger = logging.getLogger(__name__)


class NotifyLevel(enum.StrEnum):
    ON = "on"  # pushed at once (folded into a digest when many fire together)
    SILENT = "silent"  # recorded, and only pushed inside the next digest
    OFF = "off"  # not notified (still recorded in the trading tables)


class TradingNotifySettings(Section):
    # YAML reads a bare on/off as true/false: both spellings are accepted.
    intent: NotifyLevel | bool = NotifyLevel.ON  # before an order is sent: what, why, size, limits
    filled: NotifyLevel | bool = NotifyLevel.ON
    partial: NotifyLevel | bool = NotifyLevel.ON
    rejected: NotifyLevel | bool = NotifyLevel.ON  # by the venue (with its reason) or a failed send
    cancelled: NotifyLevel | bool = NotifyLevel.SILENT
    blocked: NotifyLevel | bool = NotifyLevel.OFF  # an order stopped by one of our own limits
    exit: NotifyLevel | bool = NotifyLevel.ON  # a held position crossed the exit/take-profit rule
    halt: NotifyLevel | bool = NotifyLevel.ON  # kill switch engaged or released
    settled: NotifyLevel | bool = NotifyLevel.ON  # the venue resolved a held position: payout, PnL
    quotes: NotifyLevel | bool = NotifyLevel.ON  # maker mode: one quote digest per event
    # More than `burst` pushes within `digest_window` seconds are folded into one digest.
    burst: Annotated[int, msgspec.Meta(ge=1)] = 3
    digest_window: Seconds = 30.0

    def level_of(self, kind: str) -> NotifyLevel | bool:
        """The level set for one trade message kind; ``on`` for a kind without a key."""
        value = msgspec.structs.asdict(self).get(kind)
        return value if isinstance(value, NotifyLevel | bool) else NotifyLevel.ON


class Strategy(enum.StrEnum):
    TAKER = "taker"  # buy edges at the ask (issue 5)
    MAKER = "maker"  # rest post-only bids below fair value (issue 14, docs/strategy.md)
    BOTH = "both"


class MakerSettings(Section):
    """Maker mode (issue 14): post-only quotes at fair value minus a margin."""

    margin: Annotated[float, msgspec.Meta(gt=0, lt=0.5)] = 0.02  # below p, per share
    min_replace_interval: Annotated[float, msgspec.Meta(ge=0, le=60)] = 0.25  # s, per order
    event_limit_usd: Annotated[float, msgspec.Meta(gt=0)] | None = None  # None: max_event_usd
    pull_before_report: Seconds0 = 60.0  # cancel this long before a station report is due
    digest_interval: Seconds = 300.0  # one quote-activity digest per event per interval
    on_start: Literal["cancel", "adopt"] = "cancel"  # quotes a previous run left open


class TradingSettings(Section):
    """Sizing, limits and execution (see docs/going-live.md). Money is in pUSD."""

    bankroll: Annotated[float, msgspec.Meta(gt=0)] = 1000.0
    kelly_fraction: Annotated[float, msgspec.Meta(gt=0, le=1)] = 0.25
    max_order_usd: Annotated[float, msgspec.Meta(gt=0)] = 50.0
    max_bucket_usd: Annotated[float, msgspec.Meta(gt=0)] = 100.0
    max_event_usd: Annotated[float, msgspec.Meta(gt=0)] = 200.0
    max_city_date_usd: Annotated[float, msgspec.Meta(gt=0)] = 300.0
    max_total_usd: Annotated[float, msgspec.Meta(gt=0)] = 500.0
    daily_loss_limit_usd: Annotated[float, msgspec.Meta(gt=0)] = 100.0
    day_timezone: str = "America/New_York"  # the venue's trading day for the daily loss limit
    max_open_orders: Annotated[int, msgspec.Meta(ge=1)] = 10
    # The order decision's threshold: value per share after the fee at the order price. Not the
    # top-level min_edge, which opens edge episodes.
    min_trade_edge: Annotated[float, msgspec.Meta(gt=0, lt=1)] = 0.05
    min_depth: Annotated[float, msgspec.Meta(ge=0)] = 5.0  # shares offered at the best price
    exit_threshold: Probability = 0.03  # exit when bid - fee exceeds our probability by this
    take_profit: bool = True
    take_profit_margin: Probability = 0.01  # converged: bid - fee within this of our price
    order_timeout: Seconds = 5.0
    max_send_attempts: Annotated[int, msgspec.Meta(ge=1, le=5)] = 3  # 429/425/503 only
    cancel_on_halt: bool = True
    heartbeat: bool = False  # venue dead-man switch: resting orders die with the daemon
    key_file: str | None = None  # YAML {private_key, wallet}, mode 0600; else the environment
    user_ws_url: Url = "wss://ws-subscriptions-clob.polymarket.com/ws/user"
    notify: TradingNotifySettings = msgspec.field(default_factory=TradingNotifySettings)
    strategy: Strategy = Strategy.TAKER
    maker: MakerSettings = msgspec.field(default_factory=MakerSettings)


# Old spelling -> new key, under ``trading:``: still read, with a warning at every load.
RENAMED_TRADING_KEYS = {"min_edge": "min_trade_edge"}


def rename_deprecated(raw: dict[str, Any], problems: list[str]) -> None:
    """Move each old trading key of the raw config to its new name, warning once per load."""
    trading = raw.get("trading")
    if not isinstance(trading, dict):
        return
    for old, new in RENAMED_TRADING_KEYS.items():
        if old not in trading:
            continue
        if new in trading:
            trading.pop(old)  # one problem for it, not a second "unknown key"
            problems.append(f"$.trading.{old}: renamed trading.{new}, which is set too; keep one")
            continue
        logger.warning(
            "config: trading.%s is deprecated, read as trading.%s (the order decision's "
            "threshold; the top-level min_edge opens edges): rename it in the config",
            old,
            new,
        )
        trading[new] = trading.pop(old)

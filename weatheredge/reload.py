"""What a config reload changes: a pure comparison of two validated ``Settings``.

Every changed key is named by its dotted path and classified: *live* when its owner can take the
new value without dropping anything (a threshold, a URL list, an interval), *restart* when the
value is baked into something that lives as long as the process (the database file, the listening
socket, the open market sockets, the trading mode). A key is live only if it is listed here:
a new setting nobody taught the applier about is reported as "needs a restart", never silently
ignored. ``effective`` is the new settings with every restart-only change put back, which is what
the daemon runs on after the reload.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

import msgspec

from weatheredge.config import Settings

# Dotted paths (or whole sections, ending in ".") whose new value the running daemon applies.
LIVE_KEYS: tuple[str, ...] = (
    "min_edge",
    "edge_hysteresis",
    "polymarket.gamma_url",  # discovery reads these at every run
    "polymarket.tag_slugs",
    "polymarket.tag_slug",
    "weather.",  # every weather job reads its settings at every run
    "notify.",
    "web.push_interval",
    "web.allowed_hosts",  # the Host check reads the settings per request
    "jobs.",
    "model.",
    "feed.connect_stagger",
    "feed.stale_after",
    "feed.watchdog_interval",
    "feed.sync_timeout",
    "feed.proactive_reconnect",
    "feed.poll_after",
    "feed.max_frame_bytes",
    "logging.level",
    "reload.",
    "trading.bankroll",
    "trading.kelly_fraction",
    "trading.max_order_usd",
    "trading.max_bucket_usd",
    "trading.max_event_usd",
    "trading.max_city_date_usd",
    "trading.max_total_usd",
    "trading.daily_loss_limit_usd",
    "trading.max_open_orders",
    "trading.min_trade_edge",
    "trading.min_depth",
    "trading.exit_threshold",
    "trading.take_profit",
    "trading.take_profit_margin",
    "trading.order_timeout",
    "trading.max_send_attempts",
    "trading.cancel_on_halt",
    "trading.strategy",
    "trading.maker.",
    "trading.notify.",
)

# Values never written to a log line or a reply, whatever they hold.
SECRET_KEYS: frozenset[str] = frozenset(
    {"notify.urls", "web.token", "homeassistant.password", "weather.cwa_api_key"}
)
MASK = "<masked>"


def is_live(path: str) -> bool:
    return any(path == k or (k.endswith(".") and path.startswith(k)) for k in LIVE_KEYS)


@dataclass(frozen=True, slots=True)
class KeyChange:
    path: str  # dotted, as in the YAML: "trading.max_order_usd"
    old: Any  # plain data (msgspec.to_builtins)
    new: Any
    live: bool

    def describe(self, secrets: Collection[str] = ()) -> str:
        """``path old -> new`` with secret values masked (by key, or by value)."""
        if self.path in SECRET_KEYS or _holds_secret(self.old, secrets):
            return f"{self.path} {MASK}"
        if _holds_secret(self.new, secrets):
            return f"{self.path} {MASK}"
        text = f"{self.path} {_short(self.old)} -> {_short(self.new)}"
        if self.path == "mode" and self.new == "live":
            text += " (after a restart, and only with keys and `weatheredge arm`)"
        return text


@dataclass(frozen=True, slots=True)
class ConfigDiff:
    changes: tuple[KeyChange, ...]

    @property
    def live(self) -> list[KeyChange]:
        return [c for c in self.changes if c.live]

    @property
    def restart(self) -> list[KeyChange]:
        return [c for c in self.changes if not c.live]

    def touched(self, *prefixes: str) -> bool:
        """True when a live change sits at or under one of ``prefixes``."""
        return any(c.path == p or c.path.startswith(p + ".") for c in self.live for p in prefixes)


def flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted path, plain value) for every leaf of a settings struct; lists and mappings are
    leaves (a URL list changes as a whole)."""
    if isinstance(value, msgspec.Struct):
        # Not msgspec.structs.fields(): it resolves every type hint, ~100x slower per call.
        cls = type(value)
        for name, key in zip(cls.__struct_fields__, cls.__struct_encode_fields__, strict=True):
            yield from flatten(getattr(value, name), f"{prefix}{key}.")
        return
    yield prefix.rstrip("."), msgspec.to_builtins(value)


def diff(old: Settings, new: Settings) -> ConfigDiff:
    before = dict(flatten(old))
    changes = tuple(
        KeyChange(path, before.get(path), value, is_live(path))
        for path, value in flatten(new)
        if before.get(path) != value
    )
    return ConfigDiff(changes)


def effective(old: Settings, new: Settings, d: ConfigDiff) -> Settings:
    """``new`` with every restart-only change reverted to ``old``'s value."""
    if not d.restart:
        return new
    data = msgspec.to_builtins(new)
    for change in d.restart:
        *parents, leaf = change.path.split(".")
        node = data
        for name in parents:
            node = node[name]
        node[leaf] = change.old
    return msgspec.convert(data, Settings)


def _holds_secret(value: Any, secrets: Collection[str]) -> bool:
    if not secrets or value is None:
        return False
    text = str(value)
    return any(s and s in text for s in secrets)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."

"""The feed's configurable defaults have one home: ``FeedSettings``/``WebsocketSettings``."""

from __future__ import annotations

import msgspec

from weatheredge.config import Settings
from weatheredge.feed.config import FeedConfig


def test_feed_config_defaults_are_the_settings_defaults() -> None:
    settings = Settings()
    from_settings = FeedConfig.from_settings(settings)
    bare = FeedConfig(ws_url=from_settings.ws_url, clob_url=from_settings.clob_url)
    assert bare == from_settings


def test_a_changed_settings_default_reaches_the_feed_config() -> None:
    settings = Settings()
    feed = msgspec.structs.replace(settings.feed, stale_after=7.0, watchdog_interval=2.0)
    config = FeedConfig.from_settings(msgspec.structs.replace(settings, feed=feed))
    assert (config.stale_after_s, config.watchdog_interval_s, config.tick_s) == (7.0, 2.0, 0.25)

"""The market feed: sharded WebSocket connections, staleness watchdog, polling fallback, metrics.

Import the pieces from their modules (``weatheredge.feed.manager``, ``.poller``, ``.metrics``);
this package imports nothing so the hot path can use ``metrics`` without pulling in the rest.
"""

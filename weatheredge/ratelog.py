"""Log lines for per-frame and per-record problems, at most one per kind per interval.

A hostile or broken peer can send thousands of bad frames a second; a log line (let alone a
traceback) for each would cost more than the frames and bury everything else. The first line of
a kind goes out at once, the rest are counted and the next line says how many were held back.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable

DEFAULT_EVERY_S = 30.0


class RateLimitedLog:
    def __init__(
        self,
        logger: logging.Logger,
        every_s: float = DEFAULT_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._every = every_s
        self._clock = clock
        self._last: dict[str, float] = {}
        self.suppressed: Counter[str] = Counter()

    def __call__(
        self,
        kind: str,
        msg: str,
        *args: object,
        level: int = logging.WARNING,
        exc_info: bool = False,
    ) -> bool:
        """Log ``msg % args`` unless a line of ``kind`` went out recently; True if logged."""
        now = self._clock()
        last = self._last.get(kind)
        if last is not None and now - last < self._every:
            self.suppressed[kind] += 1
            return False
        self._last[kind] = now
        held = self.suppressed.pop(kind, 0)
        if held:
            msg, args = f"{msg} (+%d similar in the last %gs)", (*args, held, self._every)
        self._logger.log(level, msg, *args, exc_info=exc_info)
        return True

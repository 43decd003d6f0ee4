"""The outbox's delivery to one apprise target: built from a URL (logged only redacted), sent
with retries and exponential backoff; a failure is an :class:`Outcome`, never an exception."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import apprise

from weatheredge.redact import redact_url

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Target:
    label: str  # "target 1 (json)": safe for logs and the database
    apprise: apprise.Apprise


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    attempts: int
    error: str | None


def make_target(index: int, url: str) -> Target | None:
    scheme = url.partition("://")[0] if "://" in url else "?"
    label = f"target {index} ({scheme})"
    # Memory-only storage: apprise would otherwise cache plugin state on disk.
    apobj = apprise.Apprise(asset=apprise.AppriseAsset(storage_mode="memory"))
    if not apobj.add(url):
        logger.error("notify %s is not a usable apprise URL (%s); ignored", label, redact_url(url))
        return None
    logger.info("notify %s: %s", label, redact_url(url))
    return Target(label, apobj)


async def send_to(
    target: Target, title: str, body: str, retries: int, backoff_s: float, timeout_s: float
) -> Outcome:
    """One message to one target, retried ``retries`` more times, the wait doubling from
    ``backoff_s``."""
    total = retries + 1
    detail = ""
    for attempt in range(1, total + 1):
        detail = await _attempt(target, title, body, timeout_s)
        if not detail:
            return Outcome(True, attempt, None)
        logger.warning(
            "notification to %s failed (attempt %d/%d): %s",
            target.label,
            attempt,
            total,
            detail,
        )
        if attempt < total:
            await asyncio.sleep(backoff_s * 2 ** (attempt - 1))
    return Outcome(False, total, f"{detail} after {total} attempt(s)")


async def _attempt(target: Target, title: str, body: str, timeout_s: float) -> str:
    """Empty string on success, else a short failure description free of URLs."""
    try:
        result = await target.apprise.async_notify(
            body=body, title=title, notify_type=apprise.NotifyType.INFO, timeout=timeout_s
        )
    except Exception as exc:  # apprise reports by return value; this is belt and braces
        return type(exc).__name__
    return "" if result else _status(result)


def _status(result: object) -> str:
    status = getattr(result, "status", None)
    return getattr(status, "name", None) or ("SUCCESS" if result else "FAILURE")

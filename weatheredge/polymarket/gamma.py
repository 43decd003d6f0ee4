"""Discover daily-temperature events on Gamma and turn them into ``TemperatureEvent``s.

Venue limits and quirks (polymarket.md §3, §6.3):

- ``GET /events/keyset`` pages hold at most **100** events whatever ``limit`` says; follow
  ``next_cursor`` (sent back as ``after_cursor``) until it is absent. ``offset`` → HTTP 422.
- Unknown query parameters are silently ignored, so a typo returns the *unfiltered* feed:
  every record is validated rather than trusted.
- ``active=true&closed=false`` still lists stale events without token ids or ``conditionId``.
- ``clobTokenIds`` and ``outcomes`` are JSON-encoded strings; ``version == "v2"`` markets trade
  by ``positionIds`` (a real array) instead.
- ``endDate`` is not the observation date: use ``eventDate``, else the slug, else the title.
- Some city-days exist twice (``arch-`` slugs recreated on 2026-05-17/19); keep one per
  (city, extreme, date), preferring the slug without ``arch-``.
- A token (market, condition) id belongs to one bucket of one event: an event reusing ids
  across its own buckets, or claiming another kept event's, is rejected
  (``weatheredge.model.catalogue``). Bucket bounds outside a physical range are rejected too.
- Any failure while validating one record rejects that record only, with the reason.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

import aiohttp
import msgspec
from yarl import URL

from weatheredge.failures import describe, with_hint
from weatheredge.model.catalogue import unique_owners
from weatheredge.model.market import TemperatureEvent
from weatheredge.model.rules import parse_title
from weatheredge.polymarket.gamma_event import Rejected, to_temperature_event
from weatheredge.polymarket.gamma_wire import (
    GammaEvent,
    GammaMarket,
    decode_gamma_event,
    decode_json_string_list,
    decode_raw_events_page,
)

logger = logging.getLogger(__name__)

MAX_PAGE_LIMIT = 100  # the venue never returns more per page
MAX_PAGES = 200  # 20,000 events: far beyond the temperature universe, so more means a loop
MAX_REASON_CHARS = 240  # a hostile label may be kilobytes long; /status shows the reason


class GammaError(Exception):
    """Gamma could not be read: HTTP failure, transport failure or a malformed page body."""

    def __init__(self, message: str, *, url: str, status: int | None = None) -> None:
        # Worded for people ("Polymarket Gamma /events/keyset: HTTP 503"); no reprs, no query.
        words = f"HTTP {status}" if message == "HTTP error" and status is not None else message
        super().__init__(f"Polymarket Gamma {URL(url).path or '/'}: {words}")
        self.status = status
        self.url = url


# Events are tagged inconsistently: some carry ``daily-temperature``, some only
# ``highest-temperature``/``lowest-temperature``, some only a city tag (under ``weather``).
DEFAULT_TAGS = ("daily-temperature", "highest-temperature", "lowest-temperature", "weather")


@dataclass(slots=True)
class TagCount:
    listed: int = 0  # records the tag listed (any kind)
    events: int = 0  # usable temperature events among them
    only_here: int = 0  # ... that no other tag listed: what dropping this tag would lose


@dataclass(slots=True)
class Discovery:
    events: list[TemperatureEvent] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (slug or id, reason)
    pages: int = 0
    ignored: int = 0  # listed records that are not temperature events at all (other weather)
    by_tag: dict[str, TagCount] = field(default_factory=dict)


async def discover_temperature_events(
    session: aiohttp.ClientSession,
    gamma_url: str,
    *,
    tag_slugs: Sequence[str] = DEFAULT_TAGS,
    page_limit: int = MAX_PAGE_LIMIT,
    max_pages: int = MAX_PAGES,
    owner_of: Callable[[str], str | None] = lambda _token: None,
) -> Discovery:
    """Every open highest/lowest temperature event listed under any of ``tag_slugs``, validated.

    Records are merged by Gamma event id across tags. Raises GammaError when a page cannot be
    fetched or parsed (a partial listing would silently drop events); bad records never raise,
    they land in ``Discovery.rejected`` with a reason. ``owner_of(token)`` names the event owning
    a token in the running catalogue: it keeps that token against any newcomer.
    """
    discovery = Discovery()
    # event id -> (record, tags listing it, digest of its bytes)
    listed: dict[str, tuple[GammaEvent, list[str], bytes]] = {}
    for tag in dict.fromkeys(tag_slugs):
        count = discovery.by_tag.setdefault(tag, TagCount())
        async for raw in _list_tag(session, gamma_url, tag, page_limit, max_pages, discovery):
            count.listed += 1
            try:
                gamma = decode_gamma_event(raw)
            except msgspec.DecodeError as err:
                _reject(discovery, _raw_ident(raw), f"malformed event: {err}")
                continue
            key = gamma.id or gamma.slug or _raw_ident(raw)
            if key in listed:
                listed[key][1].append(tag)
            else:
                listed[key] = (gamma, [tag], hashlib.blake2b(raw, digest_size=16).digest())
    seen: dict[tuple[str, str, dt.date], TemperatureEvent] = {}
    tags_of: dict[str, list[str]] = {}
    for gamma, tags, digest in listed.values():
        if parse_title(gamma.title or "") is None:
            discovery.ignored += 1  # a hurricane or rainfall market under "weather": not ours
            continue
        if (event := _accept(gamma, digest, discovery, seen, owner_of)) is not None:
            tags_of[event.event_id] = tags
    discovery.events, clashes = unique_owners(seen.values(), owner_of)
    # First in the list: /status samples its head, and a hijack attempt matters more than
    # the venue's usual stale records.
    discovery.rejected[:0] = clashes
    for event in discovery.events:
        tags = tags_of[event.event_id]
        for tag in tags:
            discovery.by_tag[tag].events += 1
            discovery.by_tag[tag].only_here += len(tags) == 1
    logger.info(
        "gamma discovery: %d events, %d rejected, %d other records, %d pages; per tag: %s",
        len(discovery.events),
        len(discovery.rejected),
        discovery.ignored,
        discovery.pages,
        ", ".join(
            f"{tag} {c.events} ({c.only_here} only there)" for tag, c in discovery.by_tag.items()
        ),
    )
    return discovery


async def _list_tag(
    session: aiohttp.ClientSession,
    gamma_url: str,
    tag: str,
    page_limit: int,
    max_pages: int,
    discovery: Discovery,
) -> AsyncIterator[msgspec.Raw]:
    """The raw records ``/events/keyset`` lists under one tag, following the cursor."""
    url = f"{gamma_url.rstrip('/')}/events/keyset"
    params = {"tag_slug": tag, "closed": "false", "limit": str(min(page_limit, 100))}
    cursor: str | None = None
    for _ in range(max_pages):
        page_params = params if cursor is None else {**params, "after_cursor": cursor}
        body = await _get(session, url, page_params)
        try:
            page = decode_raw_events_page(body)
        except msgspec.DecodeError as err:
            raise GammaError(f"malformed keyset page: {err}", url=url) from err
        discovery.pages += 1
        for raw in page.events:
            yield raw
        if not page.next_cursor or page.next_cursor == cursor:
            return
        cursor = page.next_cursor
    raise GammaError(f"more than {max_pages} pages for tag {tag}; cursor loop?", url=url)


async def fetch_event_by_slug(
    session: aiohttp.ClientSession, gamma_url: str, slug: str
) -> GammaEvent | None:
    """``GET /events/slug/{slug}``; None when the event does not exist (yet)."""
    url = f"{gamma_url.rstrip('/')}/events/slug/{slug}"
    body = await _get(session, url, {}, missing_ok=True)
    if body is None:
        return None
    try:
        return decode_gamma_event(body)
    except msgspec.DecodeError as err:
        raise GammaError(f"malformed event: {err}", url=url) from err


async def _get(
    session: aiohttp.ClientSession, url: str, params: dict[str, str], *, missing_ok: bool = False
) -> bytes | None:
    safe_url = str(URL(url).with_query(None))  # query strings may one day carry keys
    try:
        async with session.get(url, params=params) as resp:
            if resp.status == 404 and missing_ok:
                return None
            if resp.status != 200:
                raise GammaError("HTTP error", url=safe_url, status=resp.status)
            return await resp.read()
    except (aiohttp.ClientError, TimeoutError) as err:
        reach = with_hint(f"cannot reach Polymarket ({describe(err)})", err)
        raise GammaError(reach, url=safe_url) from err


def _reject(discovery: Discovery, ident: str, reason: str) -> None:
    if len(reason) > MAX_REASON_CHARS:
        reason = reason[: MAX_REASON_CHARS - 1] + "…"
    discovery.rejected.append((ident[:MAX_REASON_CHARS], reason))


# Validated records by the digest of their bytes: the same listing comes back every minute, and
# re-validating 10,000 unchanged events was most of an idle daemon's CPU (issue 13, break 9).
_VALIDATED: dict[bytes, TemperatureEvent | str] = {}
_VALIDATED_MAX = 50_000


def _validated(gamma: GammaEvent, digest: bytes) -> TemperatureEvent:
    """``to_temperature_event`` for a record whose bytes were seen before, from memory."""
    hit = _VALIDATED.get(digest)
    if hit is None:
        try:
            hit = to_temperature_event(gamma)
        except Rejected as err:
            hit = str(err)
        if len(_VALIDATED) >= _VALIDATED_MAX:
            _VALIDATED.clear()  # a different universe: start over rather than age entries
        _VALIDATED[digest] = hit
    if isinstance(hit, str):
        raise Rejected(hit)
    return hit


def _accept(
    gamma: GammaEvent,
    digest: bytes,
    discovery: Discovery,
    seen: dict[tuple[str, str, dt.date], TemperatureEvent],
    owner_of: Callable[[str], str | None],
) -> TemperatureEvent | None:
    ident = gamma.slug or gamma.id or "?"
    try:
        event = _validated(gamma, digest)
    except Rejected as err:
        _reject(discovery, ident, str(err))
        return None
    except Exception as err:  # one record's surprise must not end discovery for the others
        logger.debug("gamma record %s failed validation", ident, exc_info=True)
        _reject(discovery, ident, f"unexpected {type(err).__name__}: {err}")
        return None
    key = (event.city.lower(), event.rule.extreme.value, event.date)
    kept = seen.get(key)

    def standing(e: TemperatureEvent) -> tuple[bool, bool]:
        # The running event first (a duplicate listed ahead of it must not displace it and its
        # books), then the canonical slug over its "arch-" copy; else the first listed stays.
        running = any(owner_of(m.yes_token) == e.event_id for m in e.markets)
        return running, not e.slug.startswith("arch-")

    if kept is None or standing(event) > standing(kept):
        if kept is not None:
            discovery.rejected.append((kept.slug, f"duplicate of {event.slug}"))
        seen[key] = event
        return event
    logger.warning("duplicate temperature event %s for %s", event.slug, kept.slug)
    discovery.rejected.append((event.slug, f"duplicate of {kept.slug}"))
    return None


def _raw_ident(raw: msgspec.Raw) -> str:
    try:
        value = msgspec.json.decode(raw)
    except (msgspec.DecodeError, RecursionError):
        return "?"
    if isinstance(value, dict):
        return str(value.get("slug") or value.get("id") or "?")
    return "?"


def resolved_yes(market: GammaMarket) -> bool | None:
    """How Gamma shows a market resolved: True (closed, YES priced 1), False (closed, NO priced
    1), None (not resolved, or prices unreadable)."""
    if not market.closed or not market.outcome_prices:
        return None
    try:
        prices = [float(p) for p in decode_json_string_list(market.outcome_prices)]
    except (msgspec.DecodeError, ValueError, TypeError):
        return None
    if len(prices) != 2 or max(prices) < 0.99:
        return None
    return prices[0] >= 0.99

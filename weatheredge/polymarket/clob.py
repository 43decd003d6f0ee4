"""CLOB public REST: order-book snapshots used to seed and cross-check the WebSocket books.

Venue limits (polymarket.md §4, §6.1):

- ``POST /books`` takes a JSON array of ``{"token_id": T}``; oversize batches are refused with
  ``{"error": "Payload exceeds the limit"}``. The limit is undocumented; 100 per call works.
- ``/books`` is throttled at 500 requests / 10 s per IP; on HTTP 429 honour ``Retry-After``
  (seconds) or the body's ``retry_after_seconds``, never retry-storm.
- Unknown or resolved tokens have no book (``/book`` → 404 "No orderbook exists ...").
- Book levels: bids ascending, asks descending (best level last).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

import aiohttp
import msgspec
from yarl import URL

from weatheredge.failures import describe, with_hint
from weatheredge.polymarket.wire import RestBook, decode_book, decode_books, decode_clob_error

logger = logging.getLogger(__name__)

MAX_BATCH = 100


class ClobError(Exception):
    """A CLOB REST call failed (transport, HTTP status or malformed body)."""

    def __init__(self, message: str, *, url: str, status: int | None = None) -> None:
        # Worded for people ("Polymarket CLOB /books: HTTP 503"); no reprs, no query string.
        words = f"HTTP {status}" if message == "HTTP error" and status is not None else message
        super().__init__(f"Polymarket CLOB {URL(url).path or '/'}: {words}")
        self.status = status
        self.url = url


class RateLimited(ClobError):
    """HTTP 429: wait ``retry_after`` seconds (None when the venue did not say) and try again."""

    def __init__(self, retry_after: float | None, *, url: str) -> None:
        super().__init__(f"rate limited, retry after {retry_after}s", url=url, status=429)
        self.retry_after = retry_after


async def fetch_books(
    session: aiohttp.ClientSession,
    clob_url: str,
    token_ids: Iterable[str],
    batch: int = MAX_BATCH,
) -> list[RestBook]:
    """Books for every token that has one, in request order, fetched in batches of ``batch``.

    Tokens without a book (unknown, resolved) are simply absent from the result.
    """
    if not 1 <= batch <= MAX_BATCH:
        raise ValueError(f"batch must be 1..{MAX_BATCH}, got {batch}")
    ids = list(dict.fromkeys(token_ids))  # de-duplicate, keep order
    url = f"{clob_url.rstrip('/')}/books"
    books: list[RestBook] = []
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        body = await _request(session, "POST", url, json=[{"token_id": t} for t in chunk])
        try:
            books.extend(decode_books(body))
        except msgspec.DecodeError as err:
            raise ClobError(f"malformed /books body: {err}", url=url) from err
    return books


async def fetch_book(
    session: aiohttp.ClientSession, clob_url: str, token_id: str
) -> RestBook | None:
    """``GET /book``; None when the venue has no book for the token (unknown or resolved)."""
    url = f"{clob_url.rstrip('/')}/book"
    body = await _request(session, "GET", url, params={"token_id": token_id}, missing_ok=True)
    if body is None:
        return None
    try:
        return decode_book(body)
    except msgspec.DecodeError as err:
        raise ClobError(f"malformed /book body: {err}", url=url) from err


async def _request(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    missing_ok: bool = False,
    **kwargs: object,
) -> bytes | None:
    safe_url = str(URL(url).with_query(None))
    try:
        async with session.request(method, url, **kwargs) as resp:
            body = await resp.read()
            if resp.status == 200:
                return body
            if resp.status == 404 and missing_ok:
                return None
            if resp.status == 429:
                raise RateLimited(_retry_after(resp.headers, body), url=safe_url)
            error = decode_clob_error(body)
            message = error.error if error and error.error else "HTTP error"
            raise ClobError(message, url=safe_url, status=resp.status)
    except (aiohttp.ClientError, TimeoutError) as err:
        reach = with_hint(f"cannot reach Polymarket ({describe(err)})", err)
        raise ClobError(reach, url=safe_url) from err


def _retry_after(headers: Mapping[str, str], body: bytes) -> float | None:
    value = headers.get("Retry-After")
    if value is not None:
        try:
            return max(0.0, float(value))
        except ValueError:
            logger.warning("unparseable Retry-After header %r", value)
    error = decode_clob_error(body)
    return error.retry_after_seconds if error else None

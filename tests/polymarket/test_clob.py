from __future__ import annotations

import json

import aiohttp
import pytest

from tests.polymarket.conftest import VenueServer
from tests.polymarket.factories import f_labels, make_event
from tests.polymarket.helpers import serving
from weatheredge.polymarket.clob import ClobError, RateLimited, fetch_book, fetch_books

pytestmark = pytest.mark.timeout(10)


def tokens_of(event: dict) -> list[str]:
    return [t for m in event["markets"] for t in json.loads(m["clobTokenIds"])]


def seed(server: VenueServer, events: int) -> list[str]:
    tokens: list[str] = []
    for i in range(events):
        raw = make_event(f"City {i}", event_id=str(i), labels=f_labels())
        server.venue.add_event(raw)
        tokens += tokens_of(raw)
    return tokens


async def test_fetch_books_batches_by_100_and_keeps_order(
    venue_server: VenueServer, session: aiohttp.ClientSession
) -> None:
    tokens = seed(venue_server, 12)  # 12 events x 11 buckets x 2 tokens = 264 books
    venue_server.venue.set_book(tokens[0], bids=[("0.40", "55"), ("0.38", "120")], asks=[])
    books = await fetch_books(session, venue_server.http_url, [*tokens, tokens[0]])
    assert [b.asset_id for b in books] == tokens
    assert venue_server.venue.requests["/books"] == 3
    first = books[0]
    assert [lvl.price for lvl in first.bids] == ["0.38", "0.40"]  # ascending, best last
    # The NO book mirrors the YES bids as asks at 1 - p, descending (best last).
    assert [lvl.price for lvl in books[1].asks] == ["0.62", "0.60"]
    assert (first.tick_size, first.min_order_size, first.neg_risk) == ("0.01", "5", True)


async def test_batch_limit_is_enforced_on_both_sides(
    venue_server: VenueServer, session: aiohttp.ClientSession
) -> None:
    with pytest.raises(ValueError, match="batch"):
        await fetch_books(session, venue_server.http_url, ["1"], batch=101)
    body = [{"token_id": str(i)} for i in range(101)]
    async with session.post(f"{venue_server.http_url}/books", json=body) as resp:
        assert resp.status == 400
        assert await resp.json() == {"error": "Payload exceeds the limit"}


async def test_rate_limit_surfaces_retry_after(
    venue_server: VenueServer, session: aiohttp.ClientSession
) -> None:
    tokens = seed(venue_server, 1)
    venue_server.venue.faults.rate_limit_books = 1
    venue_server.venue.faults.retry_after_s = 7
    with pytest.raises(RateLimited) as info:
        await fetch_books(session, venue_server.http_url, tokens)
    assert info.value.retry_after == 7.0 and info.value.status == 429
    assert len(await fetch_books(session, venue_server.http_url, tokens)) == len(tokens)


async def test_unknown_and_resolved_tokens_have_no_book(
    venue_server: VenueServer, session: aiohttp.ClientSession
) -> None:
    raw = make_event()
    venue_server.venue.add_event(raw)
    yes = tokens_of(raw)[0]
    assert (await fetch_book(session, venue_server.http_url, yes)) is not None
    assert await fetch_book(session, venue_server.http_url, "123") is None
    venue_server.venue.resolve_market(raw["markets"][0]["conditionId"], "No")
    assert await fetch_book(session, venue_server.http_url, yes) is None
    assert await fetch_books(session, venue_server.http_url, [yes]) == []


async def test_http_errors_become_clob_errors(
    venue_server: VenueServer, session: aiohttp.ClientSession
) -> None:
    with pytest.raises(ClobError) as info:
        await fetch_books(session, f"{venue_server.http_url}/nowhere", ["1"])
    assert info.value.status == 404


async def test_a_hostile_deep_body_is_a_clob_error(session: aiohttp.ClientSession) -> None:
    deep = '[{"market": "0x1", "asset_id": "1", "timestamp": "1", "bids": [], "asks": [], "x": '
    body = deep + "[" * 200_000 + "]" * 200_000 + "}]"
    async with serving("POST", "/books", body) as base:
        with pytest.raises(ClobError, match="nested too deep"):
            await fetch_books(session, base, ["1"])

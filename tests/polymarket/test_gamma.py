from __future__ import annotations

import datetime as dt
import json

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.polymarket.conftest import VenueServer
from tests.polymarket.factories import (
    WU_C_RULES,
    c_labels,
    f_labels,
    make_event,
    make_market,
    token_id,
)
from tests.polymarket.helpers import serving
from weatheredge.model.buckets import Unit
from weatheredge.model.rules import Extreme, SourceKind
from weatheredge.polymarket.gamma import GammaError, discover_temperature_events

pytestmark = pytest.mark.timeout(10)


async def discover(server: VenueServer, session: aiohttp.ClientSession, **kwargs: object):
    return await discover_temperature_events(session, server.http_url, **kwargs)  # type: ignore[arg-type]


async def test_nyc_high_event_becomes_a_validated_ladder(
    venue_server: VenueServer, session: aiohttp.ClientSession
) -> None:
    raw = make_event()
    raw["markets"].reverse()  # Gamma order is not bucket order
    venue_server.venue.add_event(raw)
    discovery = await discover(venue_server, session)
    assert discovery.rejected == []
    (event,) = discovery.events
    assert (event.city, event.date, event.event_id) == ("NYC", dt.date(2026, 11, 25), "250000")
    assert event.rule.extreme is Extreme.HIGH and event.rule.station == "KLGA"
    assert event.rule.source is SourceKind.NOAA_WRH and event.rule.unit is Unit.F
    labels = [m.label for m in event.markets]
    assert labels[0] == "39°F or below" and labels[-1] == "58°F or higher"
    assert [m.bucket.lo for m in event.markets[1:]] == sorted(
        m.bucket.lo for m in event.markets[1:]
    )
    first = event.markets[0]
    slug = raw["slug"]
    assert first.yes_token == token_id(slug, "39°F or below", "yes")
    assert first.no_token == token_id(slug, "39°F or below", "no")
    assert (first.tick, first.min_size, first.fee_rate) == (10_000, 5_000_000, 0.05)
    assert first.neg_risk and first.accepting_orders


async def test_pagination_follows_the_cursor_past_100_events(
    venue_server: VenueServer, session: aiohttp.ClientSession
) -> None:
    for i in range(230):
        city = f"City {i}"
        venue_server.venue.add_event(make_event(city, event_id=str(i)))
    discovery = await discover(
        venue_server, session, page_limit=500, tag_slugs=["daily-temperature"]
    )
    assert len(discovery.events) == 230 and discovery.pages == 3
    assert venue_server.venue.requests["/events/keyset"] == 3
    assert len({e.city for e in discovery.events}) == 230


async def test_page_bound_stops_a_cursor_loop(
    venue_server: VenueServer, session: aiohttp.ClientSession
) -> None:
    for i in range(5):
        venue_server.venue.add_event(make_event(f"City {i}", event_id=str(i)))
    with pytest.raises(GammaError, match="more than 2 pages"):
        await discover(venue_server, session, page_limit=2, max_pages=2)


async def test_stale_and_invalid_records_are_rejected_with_reasons(
    venue_server: VenueServer, session: aiohttp.ClientSession
) -> None:
    venue = venue_server.venue
    stale = make_event("Miami", dt.date(2026, 5, 3), event_id="1")
    for market in stale["markets"]:
        del market["clobTokenIds"], market["conditionId"]
    venue.add_event(stale)
    no_tokens = make_event("Dallas", event_id="2")
    no_tokens["markets"][3]["clobTokenIds"] = None
    venue.add_event(no_tokens)
    venue.add_event(make_event("Paris", event_id="3", title="Will it rain in Paris tomorrow?"))
    venue.add_event(make_event("Austin", event_id="4", markets=[]))
    odd = make_event("Denver", event_id="5")
    odd["markets"][0]["outcomes"] = json.dumps(["Over", "Under"])
    venue.add_event(odd)
    gap = make_event("Seattle", event_id="6")
    gap["markets"][4]["closed"] = True  # a closed middle bucket breaks the ladder
    venue.add_event(gap)
    nameless = make_event("Boston", event_id="7")
    nameless["markets"][2]["groupItemTitle"] = "warm"
    venue.add_event(nameless)
    found = await discover(venue_server, session)
    reasons = dict(found.rejected)
    assert "no id or conditionId" in reasons["highest-temperature-in-miami-on-may-3-2026"]
    assert "without token ids" in reasons["highest-temperature-in-dallas-on-november-25-2026"]
    # Not a temperature event at all (other weather): skipped and counted, not "bad input".
    assert "highest-temperature-in-paris-on-november-25-2026" not in reasons
    assert found.ignored == 1
    assert reasons["highest-temperature-in-austin-on-november-25-2026"] == "no markets"
    assert "not ['Yes', 'No']" in reasons["highest-temperature-in-denver-on-november-25-2026"]
    assert reasons["highest-temperature-in-seattle-on-november-25-2026"].startswith("ladder: gap")
    assert (
        "unrecognised bucket label" in reasons["highest-temperature-in-boston-on-november-25-2026"]
    )


async def test_v2_markets_trade_by_position_ids(
    venue_server: VenueServer, session: aiohttp.ClientSession
) -> None:
    raw = make_event(version="v2")
    venue_server.venue.add_event(raw)
    (event,) = (await discover(venue_server, session)).events
    for market, served in zip(event.markets, raw["markets"], strict=True):
        assert [market.yes_token, market.no_token] == served["positionIds"]


async def test_v2_position_ids_sent_as_a_json_string_are_read_too(
    venue_server: VenueServer, session: aiohttp.ClientSession
) -> None:
    good, bad = make_event(version="v2"), make_event("London", version="v2", event_id="250001")
    ids = [m["positionIds"] for m in good["markets"]]
    for market in good["markets"] + bad["markets"]:
        market["positionIds"] = json.dumps(market["positionIds"])
    bad["markets"][-1]["positionIds"] = "not json"
    venue_server.venue.add_event(good)
    venue_server.venue.add_event(bad)
    discovery = await discover(venue_server, session)
    (event,) = discovery.events
    assert sorted([m.yes_token, m.no_token] for m in event.markets) == sorted(ids)
    ((slug, reason),) = discovery.rejected
    assert slug == bad["slug"] and "positionIds not a string list" in reason


async def test_lowest_temperature_celsius_event(
    venue_server: VenueServer, session: aiohttp.ClientSession
) -> None:
    raw = make_event(
        "London",
        dt.date(2026, 11, 26),
        extreme="lowest",
        labels=c_labels(),
        rules=WU_C_RULES,
        source="https://www.wunderground.com/history/daily/gb/london/EGLC",
    )
    venue_server.venue.add_event(raw)
    (event,) = (await discover(venue_server, session)).events
    assert event.rule.extreme is Extreme.LOW and event.rule.unit is Unit.C
    assert event.rule.station == "EGLC" and event.rule.source is SourceKind.WUNDERGROUND
    assert [m.label for m in event.markets][:3] == ["10°C or below", "11°C", "12°C"]
    assert event.date == dt.date(2026, 11, 26)


async def test_closed_untagged_and_bookless_records(
    venue_server: VenueServer, session: aiohttp.ClientSession
) -> None:
    venue = venue_server.venue
    venue.add_event(make_event("Chicago", event_id="1", closed=True))  # filtered by closed=false
    venue.add_event(make_event("Tokyo", event_id="2", tags=("sports",)))  # filtered by tag
    tail_closed = make_event("Houston", event_id="3")
    tail_closed["markets"][5]["enableOrderBook"] = False
    tail_closed["markets"][5]["clobTokenIds"] = None  # skipped before its ids are looked at
    venue.add_event(tail_closed)
    discovery = await discover(venue_server, session)
    assert [e.city for e in discovery.events] == []
    assert (
        "ladder" in dict(discovery.rejected)["highest-temperature-in-houston-on-november-25-2026"]
    )


async def test_date_comes_from_slug_then_title_never_end_date(
    venue_server: VenueServer, session: aiohttp.ClientSession
) -> None:
    venue = venue_server.venue
    by_slug = make_event("Atlanta", dt.date(2026, 11, 27), event_id="1")
    del by_slug["eventDate"]  # endDate (Nov 28) must not be used
    venue.add_event(by_slug)
    by_title = make_event("Phoenix", dt.date(2027, 1, 2), event_id="2", slug="phx-jan-2")
    del by_title["eventDate"]
    by_title["startDate"] = "2026-12-31T10:00:00Z"
    venue.add_event(by_title)
    events = {e.city: e.date for e in (await discover(venue_server, session)).events}
    assert events == {"Atlanta": dt.date(2026, 11, 27), "Phoenix": dt.date(2027, 1, 2)}


async def test_fees_off_and_fine_tick(
    venue_server: VenueServer, session: aiohttp.ClientSession
) -> None:
    raw = make_event()
    raw["markets"][0].update(feesEnabled=False, orderPriceMinTickSize=0.001, orderMinSize=5)
    venue_server.venue.add_event(raw)
    (event,) = (await discover(venue_server, session)).events
    assert (event.markets[0].fee_rate, event.markets[0].tick) == (0.0, 1_000)


async def test_arch_duplicate_loses_to_the_canonical_slug(
    venue_server: VenueServer, session: aiohttp.ClientSession
) -> None:
    canonical = make_event(event_id="1")
    archived = make_event(event_id="2", slug="arch-" + canonical["slug"])
    venue_server.venue.add_event(archived)
    venue_server.venue.add_event(canonical)
    discovery = await discover(venue_server, session)
    assert [e.slug for e in discovery.events] == [canonical["slug"]]
    assert discovery.rejected == [(archived["slug"], f"duplicate of {canonical['slug']}")]


async def test_keyset_venue_rules(
    venue_server: VenueServer, session: aiohttp.ClientSession
) -> None:
    for i in range(120):
        venue_server.venue.add_event(make_event(f"City {i}", event_id=str(i)))
    base = f"{venue_server.http_url}/events/keyset"
    async with session.get(base, params={"offset": "0"}) as resp:
        assert resp.status == 422
    async with session.get(base, params={"limit": "501"}) as resp:
        assert resp.status == 422
    async with session.get(base, params={"limit": "500", "bogus": "x"}) as resp:
        page = await resp.json()
    assert len(page["events"]) == 100 and page["next_cursor"]
    market = page["events"][0]["markets"][0]
    assert all(isinstance(market[k], str) for k in ("clobTokenIds", "outcomes", "outcomePrices"))
    params = {"limit": "100", "after_cursor": page["next_cursor"]}
    async with session.get(base, params=params) as resp:
        last = await resp.json()
    assert len(last["events"]) == 20 and "next_cursor" not in last


async def test_event_by_slug_route(
    venue_server: VenueServer, session: aiohttp.ClientSession
) -> None:
    raw = make_event()
    venue_server.venue.add_event(raw)
    async with session.get(f"{venue_server.http_url}/events/slug/{raw['slug']}") as resp:
        assert (await resp.json())["id"] == raw["id"]
    async with session.get(f"{venue_server.http_url}/events/slug/nope") as resp:
        assert resp.status == 404


async def test_venue_refuses_array_valued_json_string_fields() -> None:
    from weatheredge.sandbox.venue import Venue

    raw = make_event()
    raw["markets"][0]["clobTokenIds"] = ["1", "2"]
    with pytest.raises(ValueError, match="JSON-encoded string"):
        Venue().add_event(raw)


async def test_http_errors_and_malformed_pages_raise_gamma_error(
    session: aiohttp.ClientSession,
) -> None:
    async def garbage(_request: web.Request) -> web.Response:
        return web.Response(text='{"events": 42}', content_type="application/json")

    app = web.Application()
    app.router.add_get("/ok/events/keyset", garbage)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        base = f"http://127.0.0.1:{server.port}"
        with pytest.raises(GammaError, match="malformed keyset page"):
            await discover_temperature_events(session, f"{base}/ok")
        with pytest.raises(GammaError) as info:
            await discover_temperature_events(session, f"{base}/missing")
        assert info.value.status == 404
        assert "?" not in info.value.url and info.value.url.endswith("/missing/events/keyset")
    finally:
        await server.close()
    refused = r"Gamma /events/keyset: cannot reach Polymarket \(connection refused by 127\.0\.0\.1:"
    with pytest.raises(GammaError, match=refused):
        await discover_temperature_events(session, base)  # nothing listens any more


def test_market_factory_round_trips() -> None:
    market = make_market("s", 0, "39°F or below")
    assert json.loads(market["clobTokenIds"])[0] == token_id("s", "39°F or below", "yes")


async def test_each_tag_alone_misses_an_event_the_union_finds(
    venue_server: VenueServer, session: aiohttp.ClientSession
) -> None:
    venue = venue_server.venue
    venue.add_event(make_event("NYC", event_id="1", tags=("daily-temperature",)))
    venue.add_event(make_event("Seoul", event_id="2", tags=("highest-temperature",)))
    venue.add_event(
        make_event("Paris", event_id="3", extreme="lowest", tags=("lowest-temperature",))
    )
    venue.add_event(make_event("Lagos", event_id="4", tags=("lagos", "weather")))  # city tag only
    # Listed under every tag: merged by id, not reported as its own duplicate.
    every = ("daily-temperature", "highest-temperature", "lowest-temperature", "weather")
    venue.add_event(make_event("Miami", event_id="5", tags=every))
    other = make_event("Miami", event_id="6", tags=("weather",), slug="hurricane-miami")
    other["title"] = "Hurricane in Miami by November 30?"
    venue.add_event(other)  # other weather: ignored, not rejected
    everyone = {"NYC", "Seoul", "Paris", "Lagos", "Miami"}
    for tag in every:
        alone = await discover(venue_server, session, tag_slugs=[tag])
        assert {e.city for e in alone.events} < everyone, tag
    union = await discover(venue_server, session)
    assert {e.city for e in union.events} == everyone
    assert union.rejected == [] and union.ignored == 1
    counts = {t: (c.listed, c.events, c.only_here) for t, c in union.by_tag.items()}
    assert counts == {
        "daily-temperature": (2, 2, 1),
        "highest-temperature": (2, 2, 1),
        "lowest-temperature": (2, 2, 1),
        "weather": (3, 2, 1),
    }


async def test_bounds_outside_the_physical_range_reject_the_event_only(
    venue_server: VenueServer, session: aiohttp.ClientSession
) -> None:
    huge = make_event("Gotham", event_id="7", labels=["9" * 400 + "°F or below", "10°F or higher"])
    venue_server.venue.add_event(huge)
    venue_server.venue.add_event(make_event(event_id="8"))
    discovery = await discover(venue_server, session)
    assert [e.city for e in discovery.events] == ["NYC"]
    ((slug, reason),) = discovery.rejected
    assert slug == huge["slug"] and "outside the physical range -100…150°F" in reason
    assert len(reason) < 160


def _with_tokens_of(event: dict, donor: dict) -> dict:
    for market, theirs in zip(event["markets"], donor["markets"], strict=True):
        market["clobTokenIds"] = theirs["clobTokenIds"]
    return event


async def test_an_event_claiming_another_events_tokens_is_rejected(
    venue_server: VenueServer, session: aiohttp.ClientSession
) -> None:
    nyc = make_event(event_id="100")
    hijacker = _with_tokens_of(make_event("Gotham", event_id="200", labels=f_labels(79)), nyc)
    venue_server.venue.add_event(hijacker)  # listed first: listing order decides nothing
    venue_server.venue.add_event(nyc)
    discovery = await discover(venue_server, session)
    assert [e.slug for e in discovery.events] == [nyc["slug"]]
    ((slug, reason),) = discovery.rejected
    assert slug == hijacker["slug"] and reason.startswith("token ")
    assert reason.endswith(f"belongs to {nyc['slug']}")


async def test_the_running_owner_keeps_its_tokens_against_an_older_claimant(
    venue_server: VenueServer, session: aiohttp.ClientSession
) -> None:
    nyc = make_event(event_id="500")
    older = _with_tokens_of(make_event("Gotham", event_id="40", labels=f_labels(79)), nyc)
    venue_server.venue.add_event(older)
    venue_server.venue.add_event(nyc)
    first = await discover(venue_server, session)
    assert [e.event_id for e in first.events] == ["40"]  # without an owner, the oldest id wins
    owned = {m.yes_token for m in first.events[0].markets}
    discovery = await discover(venue_server, session, owner_of=lambda t: "500" * (t in owned))
    assert [e.event_id for e in discovery.events] == ["500"]  # ... the running owner beats it
    assert discovery.rejected[0][0] == older["slug"]


@pytest.mark.parametrize("shared", ["yes", "yes_no", "market_id"])
async def test_an_event_reusing_an_id_across_its_own_markets_is_rejected(
    venue_server: VenueServer, session: aiohttp.ClientSession, shared: str
) -> None:
    event = make_event(event_id="9")
    for market in event["markets"]:
        yes, no = json.loads(market["clobTokenIds"])
        if shared == "yes":
            market["clobTokenIds"] = json.dumps(["4242", no])
        elif shared == "yes_no":
            market["clobTokenIds"] = json.dumps([yes, yes])
        else:
            market["id"] = "77"
    venue_server.venue.add_event(event)
    discovery = await discover(venue_server, session)
    assert discovery.events == []
    ((_, reason),) = discovery.rejected
    expected = {
        "yes": "token 4242 used twice within the event",
        "yes_no": "without token ids",
        "market_id": "market 77 used twice within the event",
    }
    assert expected[shared] in reason


async def test_weather_fee_type_without_schedule_uses_the_published_rate(
    venue_server: VenueServer, session: aiohttp.ClientSession
) -> None:
    # weather.md §1.1's Gamma example carries feeType/feesEnabled but no feeSchedule.
    bare, other = make_event(), make_event("London", event_id="250001")
    for market in bare["markets"] + other["markets"]:
        del market["feeSchedule"]
    bare["markets"][0]["feesEnabled"] = False
    other["markets"][0]["feeType"] = "other_fees"
    venue_server.venue.add_event(bare)
    venue_server.venue.add_event(other)
    discovery = await discover(venue_server, session)
    (event,) = discovery.events
    assert [m.fee_rate for m in event.markets[:2]] == [0.0, 0.05]
    ((slug, reason),) = discovery.rejected
    assert slug == other["slug"] and "no feeSchedule.rate" in reason


@pytest.mark.parametrize("poison", [b"\\ud800", b"\x01"])
async def test_a_record_msgspec_refuses_never_sinks_its_page(
    session: aiohttp.ClientSession, poison: bytes
) -> None:
    """A lone surrogate escape is valid JSON grammar, a raw control character is common: msgspec
    refuses both, and used to refuse the whole page, so discovery found nothing at all."""
    good = make_event("NYC")
    bad = make_event("London", labels=c_labels(10), rules=WU_C_RULES)
    bad_json = json.dumps(bad).replace(', "slug"', ', "x": "a' + poison.decode() + 'b", "slug"', 1)
    page = b'{"events": [' + bad_json.encode() + b", " + json.dumps(good).encode() + b"]}"

    async with serving("GET", "/events/keyset", page) as base:
        found = await discover_temperature_events(session, base, tag_slugs=["weather"])
    assert [e.event_id for e in found.events] == [good["id"]]
    if poison == b"\\ud800":
        assert len(found.rejected) == 1 and "malformed event" in found.rejected[0][1]


async def test_an_unchanged_record_is_validated_once_a_changed_one_again(
    venue_server: VenueServer, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The listing comes back every minute: unchanged records are not validated again (at
    10,000 events that was most of an idle daemon's CPU); a changed record is."""
    from weatheredge.polymarket import gamma

    calls: list[str] = []
    validate = gamma.to_temperature_event

    def counting(record):  # type: ignore[no-untyped-def]
        calls.append(record.slug)
        return validate(record)

    monkeypatch.setattr(gamma, "to_temperature_event", counting)
    nyc = make_event("NYC", event_id="970001")
    venue_server.venue.add_event(nyc)
    venue_server.venue.add_event(make_event("London", event_id="970002", labels=["-1°C"]))
    first = await discover(venue_server, session)
    again = await discover(venue_server, session)
    assert again.events == first.events and again.rejected == first.rejected
    assert sorted(calls) == sorted({e.slug for e in first.events} | {s for s, _ in first.rejected})
    nyc["markets"][0]["orderMinSize"] = 10
    venue_server.venue.add_event(nyc)
    calls.clear()
    changed = await discover(venue_server, session)
    assert calls == [nyc["slug"]]
    [event] = [e for e in changed.events if e.event_id == "970001"]
    assert event.markets[0].min_size == 10_000_000  # 10 shares, in micro-units

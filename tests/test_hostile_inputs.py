"""Issue 13, breaks 1, 2 and 7 against the sandbox and the real daemon: a hostile event never
blinds the others, never takes over another event's books, and hostile frames are counted."""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import eventually, running_daemon
from weatheredge.model.prices import MAX_SIZE_MICROS, MICRO
from weatheredge.sandbox import Sandbox, scenario

HUGE = "9" * 400


def _impostor(source: dict[str, Any], event_id: str, labels: list[str]) -> dict[str, Any]:
    """A copy of a sandbox event under another city (same station rules), relabelled."""
    event = copy.deepcopy(source)
    slug = event["slug"].replace("-nyc-", "-gotham-")
    event.update(id=event_id, slug=slug, ticker=slug, title=event["title"].replace("NYC", "Gotham"))
    markets = event["markets"][: len(labels)]
    for i, (market, label) in enumerate(zip(markets, labels, strict=True)):
        market["groupItemTitle"] = label
        market["id"] = f"{event_id}{i:02d}"
        market["conditionId"] = f"0x{event_id}{i:02d}"
    event["markets"] = markets
    return event


def _fresh_tokens(event: dict[str, Any]) -> None:
    for i, market in enumerate(event["markets"]):
        market["clobTokenIds"] = json.dumps([f"{event['id']}{i:02d}1", f"{event['id']}{i:02d}2"])


async def _status(base: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.get(f"{base}/status") as resp:
        return await resp.json()


async def test_an_event_with_400_digit_bounds_is_rejected_and_the_rest_are_priced(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    nyc = sandbox.quoted[0].event
    hostile = _impostor(nyc, "259001", [f"{HUGE}°F or below", f"1{'0' * 400}°F or higher"])
    _fresh_tokens(hostile)
    # Listed first and on NYC's station: it is priced (and used to crash) before the others.
    sandbox.venue.add_event(hostile)
    async with running_daemon(sandbox, tmp_path / "we.db") as (daemon, base):
        # NYC high, NYC low, London and Hong Kong: every sandbox event is priced.
        await eventually(lambda: len(daemon.engine.pricing) == 4, within=15)
        status = await _status(base)
        await daemon.store.flush()
        assert daemon.store.dropped == 0  # nothing the store could not hold reached it
    assert hostile["id"] not in daemon.engine.events
    reasons = [r for r in status["discovery"]["rejected_sample"] if "gotham" in r]
    assert len(reasons) == 1 and "outside the physical range -100…150°F" in reasons[0]
    assert HUGE not in reasons[0]  # the reason stays readable


async def test_an_event_listing_another_events_tokens_is_rejected_never_remapped(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    nyc = sandbox.quoted[0].event
    labels = [m["groupItemTitle"] for m in nyc["markets"]]
    assert labels[0] == "37°F or below"
    hijacker = _impostor(nyc, "259002", list(scenario._ladder_f(77)))  # NYC's tokens, +40 °F
    shared = _impostor(nyc, "259003", labels)  # one YES token for all of its 11 markets
    _fresh_tokens(shared)
    for market in shared["markets"]:
        market["clobTokenIds"] = json.dumps(["42", json.loads(market["clobTokenIds"])[1]])
    shared.update(slug=shared["slug"].replace("gotham", "metropolis"))
    shared["title"] = shared["title"].replace("Gotham", "Metropolis")
    sandbox.venue.add_event(hijacker)
    sandbox.venue.add_event(shared)
    yes = sandbox.quoted[0].tokens(0)[0]
    async with running_daemon(sandbox, tmp_path / "we.db") as (daemon, base):
        await eventually(lambda: nyc["id"] in daemon.engine.pricing, within=15)
        status = await _status(base)
        assert daemon.engine.tokens[yes].event.event_id == nyc["id"]
        probs = daemon.engine.pricing[nyc["id"]].probs
        assert set(probs) == {m["id"] for m in nyc["markets"]}
    assert hijacker["id"] not in daemon.engine.events
    assert shared["id"] not in daemon.engine.events
    sample = status["discovery"]["rejected_sample"]
    assert any("gotham" in r and f"belongs to {nyc['slug']}" in r for r in sample), sample
    assert any("metropolis" in r and "token 42 used twice within the event" in r for r in sample)


@pytest.mark.timeout(60)
async def test_deep_json_and_absurd_sizes_are_counted_bad_frames(
    sandbox: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    yes = sandbox.quoted[0].tokens(5)[0]
    market = sandbox.quoted[0].event["markets"][5]["conditionId"]
    deep_array = "[" * 200_000 + "]" * 200_000
    deep_book = json.dumps(
        {"event_type": "book", "market": market, "asset_id": yes, "asks": [], "timestamp": "1"}
    ).replace('"asks": []', '"asks": []' + ', "bids": ' + "[" * 5000 + "]" * 5000)
    size = "1" * 29
    absurd = json.dumps(
        {
            "event_type": "price_change",
            "market": market,
            "timestamp": str(2**41),
            "price_changes": [{"asset_id": yes, "price": "0.5", "size": size, "side": "BUY"}],
        }
    )
    async with running_daemon(sandbox, tmp_path / "we.db") as (daemon, base):
        await eventually(lambda: daemon.engine.status()["books_synced"] == 88)
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            for _ in range(20):
                sandbox.venue.send_raw(deep_array)
            sandbox.venue.send_raw(deep_book)
            await eventually(lambda: daemon.engine.bad_frames["too_deep"] == 21)
        sandbox.venue.send_raw(absurd)
        await eventually(lambda: daemon.engine.bad_frames["absurd_size"] == 1)
        trade = {"event_type": "last_trade_price", "market": market, "asset_id": yes}
        trade.update(price=size, size="1", side="BUY", timestamp="1")
        sandbox.venue.send_raw(json.dumps(trade))
        await eventually(lambda: daemon.engine.bad_frames["invalid_value"] == 1)
        assert daemon.engine.last_trades.get(yes) != size
        assert all(s <= MAX_SIZE_MICROS for s in daemon.engine.books[yes].bids.values())
        # The untrusted book is re-snapshotted; the feed is up throughout.
        await eventually(lambda: daemon.engine.status()["books_synced"] == 88)
        status = await _status(base)
    assert status["engine"]["bad_frames"]["too_deep"] == 21
    assert sum(shard.stream.callback_errors for shard in daemon.stream.shards) == 0
    deep_lines = [r for r in caplog.records if "too_deep" in r.getMessage()]
    assert len(deep_lines) == 1 and not deep_lines[0].exc_info  # one line, no traceback
    assert int(size) * MICRO > MAX_SIZE_MICROS


async def test_a_hijacker_with_an_older_looking_id_never_prices_the_books_it_claims(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Gamma ids are the venue's to choose: an impostor listed with id 1 wins the first
    discovery's tie on NYC's tokens, but the venue files those books under NYC's markets."""
    nyc = sandbox.quoted[0].event
    hijacker = _impostor(nyc, "1", list(scenario._ladder_f(77)))  # NYC's tokens, +40 °F
    sandbox.venue.add_event(hijacker)
    claimed = [t for m in nyc["markets"] for t in json.loads(m["clobTokenIds"])]
    async with running_daemon(sandbox, tmp_path / "we.db") as (daemon, base):
        engine = daemon.engine
        await eventually(lambda: engine.bad_frames["foreign_token"] >= len(claimed), within=15)
        others = len(engine.books) - len(claimed)
        await eventually(lambda: engine.status()["books_synced"] == others)
        status = await _status(base)
        assert not any(engine.books[t].synced for t in claimed)
        assert not set(engine.tracker.open_keys()) & set(claimed)  # no edge on a claimed book
    assert status["engine"]["bad_frames"]["foreign_token"] >= len(claimed)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("orderPriceMinTickSize", "9" * 30),
        ("orderPriceMinTickSize", "1"),
        ("orderMinSize", "9" * 400),
        ("orderMinSize", 1e300),
    ],
)
async def test_oversize_tick_or_minimum_is_rejected_with_its_field(
    sandbox: Sandbox, tmp_path: Path, field: str, value: object
) -> None:
    nyc = sandbox.quoted[0].event
    hostile = _impostor(nyc, "259004", [m["groupItemTitle"] for m in nyc["markets"]])
    _fresh_tokens(hostile)
    hostile["markets"][3][field] = value
    sandbox.venue.add_event(hostile)
    async with running_daemon(sandbox, tmp_path / "we.db") as (daemon, base):
        await eventually(lambda: len(daemon.engine.pricing) == 4, within=15)
        status = await _status(base)
    assert hostile["id"] not in daemon.engine.events
    [reason] = [r for r in status["discovery"]["rejected_sample"] if "gotham" in r]
    assert f"{field} " in reason and "out of range" in reason and "9" * 13 not in reason


async def test_a_full_copy_seen_with_its_original_prices_neither(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Tokens and condition ids copied, labels shifted, a lower Gamma id: the venue files both
    events' books alike, so nothing tells them apart at first sight. Neither is priced."""
    nyc = sandbox.quoted[0].event
    copy = _impostor(nyc, "1", list(scenario._ladder_f(77)))
    for mine, theirs in zip(copy["markets"], nyc["markets"], strict=True):
        mine["conditionId"] = theirs["conditionId"]
    sandbox.venue.add_event(copy)
    async with running_daemon(sandbox, tmp_path / "we.db") as (daemon, base):
        await eventually(lambda: len(daemon.engine.pricing) == 3, within=15)
        status = await _status(base)
    assert nyc["id"] not in daemon.engine.events and copy["id"] not in daemon.engine.events
    sample = status["discovery"]["rejected_sample"]
    assert {r.partition(":")[0] for r in sample} >= {nyc["slug"], copy["slug"]}, sample
    assert any("neither priced" in r for r in sample)


async def test_a_duplicate_listed_ahead_never_displaces_the_running_event(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Same city, kind and date, its own tokens, listed before the running event on a later
    discovery: the first listed used to win the slot, dropping the running event's books."""
    london = sandbox.quoted[2].event
    assert "london" in london["slug"]
    ahead = sandbox.quoted[1].event["slug"]  # the slot listed just before London
    async with running_daemon(
        sandbox, tmp_path / "we.db", extra="jobs: {discovery_interval: 0.2}\n"
    ) as (daemon, _):
        engine = daemon.engine
        await eventually(lambda: london["id"] in engine.pricing, within=15)
        twin = copy.deepcopy(london)
        twin.update(id="259006", slug=ahead)
        _fresh_tokens(twin)
        for i, market in enumerate(twin["markets"]):
            market.update(id=f"259006{i:02d}", conditionId=f"0x259006{i:02d}")
        sandbox.venue.add_event(twin)
        assert daemon.ctx is not None
        summary = daemon.ctx.discovery
        verdict = f"{ahead}: duplicate of {london['slug']}"
        displaced = f"{london['slug']}: duplicate of {ahead}"

        def decided() -> bool:
            sample = summary.get("rejected_sample") or []
            return verdict in sample or displaced in sample

        await eventually(decided, within=15)
        assert verdict in summary["rejected_sample"]
    assert london["id"] in engine.events and twin["id"] not in engine.events

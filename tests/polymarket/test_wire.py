from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from weatheredge.polymarket.gamma_wire import decode_gamma_event, decode_json_string_list
from weatheredge.polymarket.wire import (
    BestBidAskEvent,
    BookEvent,
    FrameError,
    LastTradePriceEvent,
    MarketResolvedEvent,
    NewMarketEvent,
    PriceChangeEvent,
    TickSizeChangeEvent,
    decode_frame,
    decode_market_frame,
    encode_subscription,
    encode_update,
)

FIXTURES = json.loads(Path("/work/shared/reference/ws-frames.json").read_text())
SERVER = FIXTURES["server_to_client"]
CLIENT = FIXTURES["client_to_server"]

EXPECTED = {
    "price_change": PriceChangeEvent,
    "tick_size_change": TickSizeChangeEvent,
    "last_trade_price": LastTradePriceEvent,
    "best_bid_ask": BestBidAskEvent,
    "new_market": NewMarketEvent,
    "market_resolved": MarketResolvedEvent,
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_market_fixture_decodes_as_object_and_as_array(name: str) -> None:
    text = json.dumps(SERVER[name])
    assert [type(e) for e in decode_frame(text)] == [EXPECTED[name]]
    assert [type(e) for e in decode_frame(f"[{text},{text}]")] == [EXPECTED[name]] * 2
    assert [type(e) for e in decode_frame(text.encode())] == [EXPECTED[name]]


def test_initial_dump_array_keeps_wire_order_and_string_numbers() -> None:
    (book,) = decode_frame(json.dumps(SERVER["initial_dump_array"]))
    assert isinstance(book, BookEvent)
    assert [level.price for level in book.bids] == ["0.38", "0.40"]  # best bid last
    assert [level.price for level in book.asks] == ["0.47", "0.44"]  # best ask last
    assert book.bids[1].micros() == (400_000, 55_500_000)
    assert book.timestamp == "1795620218049"
    assert book.tick_size == "0.01" and book.neg_risk is True


def test_price_change_entries_carry_both_mirrored_assets() -> None:
    (event,) = decode_frame(json.dumps(SERVER["price_change"]))
    assert isinstance(event, PriceChangeEvent)
    yes, no = event.price_changes
    assert (yes.side, yes.price, yes.best_bid, yes.best_ask) == ("BUY", "0.41", "0.41", "0.44")
    assert (no.side, no.price) == ("SELL", "0.59")


@pytest.mark.parametrize("pong", ["PONG", b"PONG"])
def test_pong_is_no_event(pong: str | bytes) -> None:
    assert decode_frame(pong) == []
    assert decode_market_frame(pong).errors == []


def test_empty_array_is_no_event() -> None:
    assert decode_frame("[]") == []


@pytest.mark.parametrize(
    ("frame", "kind"),
    [
        ("INVALID OPERATION", "not_json"),
        ('{"event_type": "book",', "not_json"),
        (b"\xff\xfe\x00garbage", "binary"),
        (json.dumps(SERVER["user_order"]), "unknown_event"),
        ('{"no_event_type": 1}', "unknown_event"),
        ('{"event_type": "book", "asset_id": "1"}', "invalid"),
        ("42", "invalid"),
        ('["just a string"]', "invalid"),
    ],
)
def test_bad_frames_raise_frame_error_with_kind_and_sample(frame: str | bytes, kind: str) -> None:
    with pytest.raises(FrameError) as info:
        decode_frame(frame)
    assert info.value.kind == kind
    assert info.value.sample


def test_mistyped_fields_are_invalid() -> None:
    bad_side = dict(SERVER["last_trade_price"], side="HOLD")
    numeric_price = dict(SERVER["best_bid_ask"], best_bid=0.41)
    for payload in (bad_side, numeric_price):
        decoded = decode_market_frame(json.dumps(payload))
        assert decoded.events == []
        assert [e.kind for e in decoded.errors] == ["invalid"]


def test_mixed_array_keeps_the_known_events_and_reports_the_rest() -> None:
    frame = json.dumps(
        [SERVER["best_bid_ask"], {"event_type": "brand_new"}, SERVER["tick_size_change"], {}]
    )
    decoded = decode_market_frame(frame)
    assert [type(e) for e in decoded.events] == [BestBidAskEvent, TickSizeChangeEvent]
    assert [e.kind for e in decoded.errors] == ["unknown_event", "unknown_event"]
    with pytest.raises(FrameError) as info:
        decode_frame(frame)
    assert [type(e) for e in info.value.events] == [BestBidAskEvent, TickSizeChangeEvent]


def test_sample_is_truncated() -> None:
    with pytest.raises(FrameError) as info:
        decode_frame("x" * 10_000)
    assert len(info.value.sample) < 300


def test_client_frames_match_the_documented_shapes() -> None:
    initial = json.loads(encode_subscription(["b", "a"]))
    assert initial == dict(CLIENT["initial_subscribe"], assets_ids=["a", "b"])
    assert next(iter(initial)) == "type"
    assert json.loads(encode_update("subscribe", ["n"])) == dict(
        CLIENT["dynamic_subscribe"], assets_ids=["n"]
    )
    assert json.loads(encode_update("unsubscribe", ["o"])) == dict(
        CLIENT["dynamic_unsubscribe"], assets_ids=["o"]
    )


def test_gamma_event_keeps_json_string_fields_as_strings() -> None:
    raw = {
        "id": "250000",
        "slug": "s",
        "negRiskMarketID": "0x6e",
        "markets": [
            {
                "questionID": "0x7d",
                "clobTokenIds": '["1", "2"]',
                "outcomes": '["Yes", "No"]',
                "orderPriceMinTickSize": 0.001,
                "positionIds": ["3", "4"],
                "feeSchedule": {"rate": "0.05", "takerOnly": True},
            }
        ],
    }
    event = decode_gamma_event(msgspec.json.encode(raw))
    assert event.neg_risk_market_id == "0x6e"
    (market,) = event.markets or []
    assert market.question_id == "0x7d"
    assert decode_json_string_list(market.clob_token_ids or "") == ["1", "2"]
    assert market.position_ids == ["3", "4"]
    assert market.fee_schedule is not None and market.fee_schedule.taker_only is True


def test_stale_gamma_event_without_ids_still_decodes() -> None:
    event = decode_gamma_event(
        b'{"title": "Highest temperature in NYC on May 3?", "markets": [{}]}'
    )
    assert event.id is None and event.markets and event.markets[0].clob_token_ids is None


DEEP = "[" * 200_000 + "]" * 200_000
DEEP_BOOK = (
    '{"event_type": "book", "market": "0x1", "asset_id": "1", "timestamp": "1", "asks": [],'
    ' "bids": ' + "[" * 5000 + "]" * 5000 + "}"
)
DEEP_UNKNOWN_FIELD = (
    '{"event_type": "last_trade_price", "market": "0x1", "asset_id": "1", "price": "0.5",'
    ' "size": "1", "side": "BUY", "timestamp": "1", "extra": ' + DEEP + "}"
)


@pytest.mark.parametrize("frame", [DEEP, DEEP_BOOK, DEEP_UNKNOWN_FIELD, DEEP.encode()])
def test_hostile_nesting_is_a_too_deep_frame_not_a_crash(frame: str | bytes) -> None:
    with pytest.raises(FrameError) as info:
        decode_frame(frame)
    assert info.value.kind == "too_deep"
    assert len(info.value.sample) < 300


def test_every_other_decoder_reports_hostile_nesting_as_a_decode_error() -> None:
    from weatheredge.polymarket import gamma_wire, wire

    body = (
        '{"market": "0x1", "asset_id": "1", "timestamp": "1", "bids": [], "asks": [],'
        ' "x": ' + DEEP + "}"
    ).encode()
    for decode, data in (
        (wire.decode_book, body),
        (wire.decode_books, b"[" + body + b"]"),
        (gamma_wire.decode_gamma_event, b'{"id": "1", "x": ' + DEEP.encode() + b"}"),
        (gamma_wire.decode_raw_events_page, b'{"events": [' + DEEP.encode() + b"]}"),
    ):
        with pytest.raises(msgspec.DecodeError, match="nested too deep"):
            decode(data)
    assert wire.decode_clob_error(body) is None

def test_ladder_edges_read_as_a_whole_ladder_trade() -> None:
    import datetime as dt

    from weatheredge.messages import EdgeMessage, format_edge

    message = EdgeMessage(
        kind="open", edge_id="e1", city="London", date=dt.date(2026, 11, 26),
        bucket="ladder (11 buckets)", side="NO", price="1.071", size="150",
        prob=1.0, edge=0.03, edge_kind="ladder",
    )  # fmt: skip
    title, body = format_edge(message)
    assert title == "Ladder edge open: London 2026-11-26 sell every YES for 1.071"
    assert "best bids sum to 1.071" in body and "150 sets" in body
    assert "Buy NO" not in body

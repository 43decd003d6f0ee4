from weatheredge.model.renotify import RenotifyGuard

KEY = ("m1", "YES", "bucket")


def test_first_opening_is_pushed_updates_and_closes_are_not() -> None:
    guard = RenotifyGuard(window_s=300)
    assert guard.observe("open", KEY, 180_000, "", 0.0) is True
    assert guard.observe("update", KEY, 160_000, "", 1.0) is False
    assert guard.observe("close", KEY, None, "edge below threshold", 2.0) is False


def test_reopening_after_a_feed_interruption_is_not_pushed_again() -> None:
    guard = RenotifyGuard(window_s=300)
    guard.observe("open", KEY, 180_000, "", 0.0)
    guard.observe("update", KEY, 160_000, "", 1.0)
    guard.observe("close", KEY, None, "feed lost: connection closed", 2.0)
    assert guard.observe("open", KEY, 160_000, "", 3.0) is False  # same price: already told
    guard.observe("close", KEY, None, "book desynced: best bid differs", 4.0)
    assert guard.observe("open", KEY, 170_000, "", 5.0) is False  # worse price


def test_a_better_price_a_real_close_or_a_long_gap_is_pushed() -> None:
    guard = RenotifyGuard(window_s=300)
    guard.observe("open", KEY, 180_000, "", 0.0)
    guard.observe("close", KEY, None, "feed lost: timeout", 1.0)
    assert guard.observe("open", KEY, 150_000, "", 2.0) is True  # better than before
    guard.observe("close", KEY, None, "edge below threshold", 3.0)
    assert guard.observe("open", KEY, 150_000, "", 4.0) is True  # the edge had really gone
    guard.observe("close", KEY, None, "feed lost: timeout", 5.0)
    assert guard.observe("open", KEY, 150_000, "", 400.0) is True  # long after
    other = ("m2", "YES", "bucket")
    assert guard.observe("open", other, 150_000, "", 401.0) is True


def test_window_zero_disables_the_guard() -> None:
    guard = RenotifyGuard(window_s=0)
    guard.observe("open", KEY, 180_000, "", 0.0)
    guard.observe("close", KEY, None, "feed lost: x", 1.0)
    assert guard.observe("open", KEY, 180_000, "", 2.0) is True

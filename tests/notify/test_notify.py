from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import socket
import sys

import pytest

from tests.notify.conftest import SECRET, Hook
from weatheredge.messages import EdgeMessage, format_edge
from weatheredge.notify import Notifier
from weatheredge.redact import RedactingFilter, redact_url, url_secrets
from weatheredge.store import NotificationResult

MESSAGE = EdgeMessage(
    kind="open",
    edge_id="e1",
    city="NYC",
    date=dt.date(2026, 11, 25),
    bucket="44-45°F",
    side="YES",
    price="0.41",
    size="120.5",
    prob=0.523,
    edge=0.0978,
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- pure parts ------------------------------------------------------------------------------


def test_format_edge_carries_every_field() -> None:
    title, body = format_edge(MESSAGE)
    assert title == "Edge open: NYC 2026-11-25 44-45°F YES @ 0.41"
    for text in ("NYC", "2026-11-25", "44-45°F", "YES", "0.41", "120.5", "52.3%", "+0.0978"):
        assert text in body


def test_format_close_gives_the_reason() -> None:
    closing = dataclasses.replace(MESSAGE, kind="close", reason="edge below threshold")
    title, body = format_edge(closing)
    assert title == "Edge closed: NYC 2026-11-25 44-45°F YES"
    assert "Was offered YES at 0.41" in body
    assert body.endswith("Closed: edge below threshold")


def test_format_close_without_a_quote_omits_the_blanks() -> None:
    nan = float("nan")
    closing = dataclasses.replace(
        MESSAGE, kind="close", price="", size="", prob=nan, edge=nan, reason="no ask"
    )
    title, body = format_edge(closing)
    assert title == "Edge closed: NYC 2026-11-25 44-45°F YES"
    assert body == "NYC, 2026-11-25, bucket 44-45°F\nClosed: no ask"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("discord://123456789/abcdefTOKEN", "discord://****"),
        ("json://127.0.0.1:8080/secret-token-abc", "json://127.0.0.1:8080/****"),
        ("json://127.0.0.1:8080", "json://127.0.0.1:8080"),
        ("tgram://123456:ABCdefgh/chat12345", "tgram://****"),
        ("mailto://user:passw0rd@gmail.com", "mailto://gmail.com/****"),
        ("ntfys://ntfy.sh/mytopic123?priority=high", "ntfys://ntfy.sh/****"),
        ("not a url", "****"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_url_secrets_cover_tokens_in_every_position() -> None:
    assert "abcdefTOKEN" in url_secrets("discord://123456789/abcdefTOKEN")
    assert "123456789" in url_secrets("discord://123456789/abcdefTOKEN")
    assert "passw0rd" in url_secrets("mailto://user:passw0rd@gmail.com")
    assert "k3y-value" in url_secrets("json://host.example/p?token=k3y-value")
    assert "127.0.0.1" not in url_secrets("json://127.0.0.1:8080/secret-token-abc")


def test_redacting_filter_masks_message_args_and_traceback() -> None:
    f = RedactingFilter([SECRET])
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "POST %s -> %d", (f"/{SECRET}", 200), None
    )
    assert f.filter(record) is True
    assert record.getMessage() == "POST /**** -> 200"
    try:
        raise ConnectionError(f"Max retries exceeded with url: /{SECRET}")
    except ConnectionError:
        exc = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom", None, sys.exc_info())
    f.filter(exc)
    assert SECRET not in (exc.exc_text or "") and "/****" in (exc.exc_text or "")


# --- delivery through apprise to a real local endpoint ---------------------------------------


async def test_delivers_to_a_local_json_endpoint(hook: Hook) -> None:
    results: list[NotificationResult] = []
    notifier = Notifier([hook.url], store=results.append, retries=2, backoff_s=0.01)
    notifier.start()
    notifier.send(MESSAGE)
    await notifier.close(grace_s=10)

    assert hook.paths == [f"/{SECRET}"]
    [payload] = hook.bodies
    assert payload["title"] == "Edge open: NYC 2026-11-25 44-45°F YES @ 0.41"
    for text in ("NYC", "2026-11-25", "44-45°F", "YES", "0.41", "120.5", "52.3%", "+0.0978"):
        assert text in payload["message"]
    [result] = results
    assert (result.edge_id, result.kind, result.ok, result.attempts, result.error) == (
        "e1",
        "open",
        True,
        1,
        None,
    )
    assert notifier.sent == 1 and notifier.failed == 0


async def test_server_error_is_retried_then_delivered(hook: Hook) -> None:
    hook.statuses = [500]
    results: list[NotificationResult] = []
    notifier = Notifier([hook.url], store=results.append, retries=3, backoff_s=0.01)
    notifier.start()
    notifier.send(MESSAGE)
    await notifier.close(grace_s=10)

    assert len(hook.bodies) == 2
    assert results[0].ok and results[0].attempts == 2


async def test_down_endpoint_never_raises_and_is_recorded(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"json://127.0.0.1:{free_port()}/{SECRET}"
    results: list[NotificationResult] = []
    notifier = Notifier([url], store=results.append, retries=1, backoff_s=0.01)
    notifier.start()
    notifier.send(MESSAGE)  # returns at once, nothing raised
    notifier.send(MESSAGE)
    await notifier.close(grace_s=10)

    assert [r.ok for r in results] == [False, False]
    assert results[0].attempts == 2
    assert results[0].error == "target 1 (json): FAILURE after 2 attempt(s)"
    assert notifier.failed == 2
    assert SECRET not in caplog.text
    assert "failed (attempt 2/2)" in caplog.text


async def test_logs_never_show_the_secret_even_at_debug(
    hook: Hook, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    hook.statuses = [500]
    notifier = Notifier([hook.url, "discord://123456789/zzzTOKENzzz"], retries=1, backoff_s=0.01)
    notifier.start()
    notifier.send(MESSAGE)
    await notifier.close(grace_s=10)

    assert len(hook.bodies) == 2
    # apprise's own DEBUG lines were captured (and masked), so the check below means something.
    assert "JSON POST URL: http://127.0.0.1" in caplog.text
    assert "/****" in caplog.text
    for secret in (SECRET, "zzzTOKENzzz"):
        assert secret not in caplog.text
        assert all(secret not in r.getMessage() for r in caplog.records)


async def test_close_without_run_still_drains(hook: Hook) -> None:
    notifier = Notifier([hook.url], retries=0)
    notifier.send(MESSAGE)
    await notifier.close(grace_s=10)
    assert len(hook.bodies) == 1
    notifier.send(MESSAGE)  # after close: dropped, not raised
    assert notifier.dropped == 1


async def test_run_on_callers_task_stops_at_close(hook: Hook) -> None:
    notifier = Notifier([hook.url], retries=0)
    runner = asyncio.create_task(notifier.run())
    notifier.send(MESSAGE)
    await notifier.close(grace_s=10)
    await asyncio.wait_for(runner, 5)
    assert len(hook.bodies) == 1


async def test_close_gives_up_after_grace(hook: Hook) -> None:
    hook.statuses = [500] * 10
    notifier = Notifier([hook.url], retries=5, backoff_s=1.0)
    notifier.start()
    notifier.send(MESSAGE)
    notifier.send(MESSAGE)
    async with asyncio.timeout(5):
        await notifier.close(grace_s=0.3)
    assert notifier.dropped == 2


async def test_invalid_url_is_ignored_and_redacted(caplog: pytest.LogCaptureFixture) -> None:
    notifier = Notifier(["nosuchscheme://user:hunter2pw@host/tok-12345"])
    assert not notifier.enabled
    notifier.send(MESSAGE)  # a no-op, not an error
    await notifier.close()
    assert "hunter2pw" not in caplog.text and "tok-12345" not in caplog.text

"""The state document carries one page of events (issue 13, break 9: 6.5 MB at 10,000 events).
Sizes and timings at scale are in benchmarks/state_size.py."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import eventually, running_daemon
from tests.webui.browser import SKIP_REASON, Browser, chromium, find_chromium
from weatheredge.sandbox import Sandbox
from weatheredge.webui.state import EVENTS_PER_PAGE, Page

CHROMIUM = find_chromium()


def test_page_from_query() -> None:
    assert Page.from_query({}) == Page(0, EVENTS_PER_PAGE, 100)
    assert Page.from_query({"events_offset": "5", "events_limit": "2"}) == Page(5, 2, 100)
    for bad in ({"events_limit": "x"}, {"events_limit": "100000"}, {"events_offset": "-1"}):
        with pytest.raises(ValueError, match="events_"):
            Page.from_query(bad)


async def test_state_pages_through_the_events(sandbox: Sandbox, tmp_path: Path) -> None:
    async with running_daemon(sandbox, tmp_path / "we.db") as (daemon, base):
        await eventually(lambda: len(daemon.engine.events) == 4, within=15)
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/api/v1/state") as resp:
                full = await resp.json()
            assert full["events_total"] == 4 and len(full["events"]) == 4
            assert full["events_offset"] == 0 and full["events_limit"] == EVENTS_PER_PAGE
            order = [e["event_id"] for e in full["events"]]
            async with http.get(f"{base}/api/v1/state?events_offset=1&events_limit=2") as resp:
                part = await resp.json()
            assert [e["event_id"] for e in part["events"]] == order[1:3]
            assert part["events_total"] == 4 and "edges_total" in part
            async with http.get(f"{base}/api/v1/state?events_limit=nope") as resp:
                assert resp.status == 400 and "events_limit" in (await resp.json())["error"]
            async with http.get(f"{base}/api/v1/stream?events_offset=3") as resp:
                async for line in resp.content:
                    if line.startswith(b"data: "):
                        pushed = json.loads(line[6:])
                        break
            assert [e["event_id"] for e in pushed["events"]] == order[3:]


@pytest.mark.skipif(CHROMIUM is None, reason=SKIP_REASON)
async def test_the_page_moves_between_pages(sandbox: Sandbox, tmp_path: Path) -> None:
    assert CHROMIUM is not None
    async with running_daemon(sandbox, tmp_path / "we.db") as (_, base):
        with chromium(CHROMIUM) as page:
            await _pager(page, base)


async def _pager(page: Browser, base: str) -> None:
    """The pager under the ladders, driven the way its buttons drive it."""
    await page.get(base + "/")
    await page.wait_for("document.querySelectorAll('#events .card').length === 4")
    assert await page.evaluate("document.getElementById('events-pager').hidden")
    await page.evaluate("page(3)")  # what the "next" button calls
    await page.wait_for("document.querySelectorAll('#events .card').length === 1")
    await page.wait_for("document.getElementById('events-range').textContent")
    assert await page.evaluate("document.getElementById('events-range').textContent") == (
        "events 4–4 of 4"
    )
    await page.evaluate("document.getElementById('events-prev').click()")
    await page.wait_for("document.querySelectorAll('#events .card').length === 4")
    assert await page.js_errors() == []

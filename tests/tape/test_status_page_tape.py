"""The status page shows the tape: records written and records dropped."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import running_daemon
from tests.webui.browser import SKIP_REASON, chromium, find_chromium
from weatheredge.sandbox import Sandbox

CHROMIUM = find_chromium()


@pytest.mark.skipif(CHROMIUM is None, reason=SKIP_REASON)
@pytest.mark.timeout(60)
async def test_the_feed_panel_shows_tape_drops(sandbox: Sandbox, tmp_path: Path) -> None:
    assert CHROMIUM is not None
    db = tmp_path / "we.db"
    with chromium(CHROMIUM) as page:
        async with running_daemon(sandbox, db, "tape: {queue_size: 1}\n") as (_daemon, base):
            await page.get(base + "/")
            text = await page.wait_for(
                "[...document.querySelectorAll('#feed-summary dd')].map(d => d.textContent)"
                ".find(t => / recorded, [1-9][0-9,]* dropped$/.test(t))"
            )
    assert "dropped" in text

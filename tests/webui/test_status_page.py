"""The status page in headless Chromium against the sandbox, and the JSON API behind it."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import eventually, running_daemon
from tests.test_first_minute import closed_port, offline_yaml
from tests.webui.browser import SKIP_REASON, chromium, find_chromium
from weatheredge.config import ConfigError, parse_config
from weatheredge.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = find_chromium()


@pytest.fixture
async def slow_sandbox():
    # Edges open 2 s in and last ~6 s; then the book is fair for the rest of the 30 s cycle.
    box = Sandbox(first_edge_after_s=2.0, cycle_s=30.0)
    await box.start()
    try:
        yield box
    finally:
        await box.stop()


@pytest.mark.skipif(CHROMIUM is None, reason=SKIP_REASON)
@pytest.mark.timeout(90)
async def test_status_page_in_headless_chromium(slow_sandbox: Sandbox, tmp_path: Path) -> None:
    assert CHROMIUM is not None
    with chromium(CHROMIUM) as page:
        async with running_daemon(slow_sandbox, tmp_path / "we.db") as (daemon, base):
            await page.viewport(412, 915, mobile=True, scale=2)  # a phone
            await page.get(base + "/")
            # A live update: the page has rendered at least two documents pushed over SSE.
            await page.wait_for("Number(document.getElementById('updated').dataset.updates) >= 2")
            await page.wait_for("document.getElementById('live').textContent === 'live'")
            # The ladder: one chart per live event, one probability bar per priced bucket.
            await page.wait_for("document.querySelectorAll('svg.ladder rect.prob').length >= 30")
            charts = await page.evaluate("document.querySelectorAll('svg.ladder').length")
            assert charts == 4
            quotes = await page.evaluate(
                "document.querySelectorAll('svg.ladder line.quote').length"
            )
            assert quotes >= 30
            # An edge: the sandbox's NYC YES edge on 46-47°F, in the table and on the chart.
            row = await page.wait_for(
                "[...document.querySelectorAll('#edges tbody tr')].map(r => r.textContent)"
                ".find(t => t.includes('NYC') && t.includes('46-47°F') && t.includes('YES'))"
            )
            assert "+0." in row
            await page.wait_for("document.querySelectorAll('svg.ladder rect.prob.has-edge').length")
            # The London NO edge sits on a bucket whose YES bar is ~1 px: its column is marked.
            await page.wait_for("document.querySelectorAll('svg.ladder rect.edge-mark.no').length")
            label = await page.evaluate(
                "document.querySelector('svg.ladder text.edge-label.no').textContent"
            )
            assert label == "NO"
            assert await page.evaluate("document.getElementById('mode').textContent") == "DRY RUN"
            await page.wait_for("document.getElementById('health').textContent === 'healthy'")
            # Positions and PnL: the trader's figures, or a placeholder saying why there are none.
            trading = await page.evaluate("document.getElementById('trading').textContent")
            assert "No positions" in trading or "realized pnl" in trading
            jobs = await page.evaluate("document.querySelector('#jobs tbody').textContent")
            assert "discover_markets" in jobs
            agreement = await page.evaluate(
                "document.getElementById('agreement-summary').textContent"
            )
            assert "settlement" in agreement.lower()  # issue 16: our settlement vs the venue's
            shards = await page.evaluate("document.querySelectorAll('#shards tbody tr').length")
            assert shards >= 1
            # Phone width: nothing wider than the screen, and the open-edges table shows size
            # and age without a horizontal scroll.
            assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            edges_box = "document.getElementById('edges').parentElement"
            assert await page.evaluate(f"{edges_box}.scrollWidth <= {edges_box}.clientWidth")
            age = await page.evaluate(
                "document.querySelector('#edges tbody tr td:last-child').getBoundingClientRect()"
                ".right <= window.innerWidth"
            )
            assert age
            # Latency: no percentile above the max (histogram bounds are not values).
            latency = await page.evaluate("document.getElementById('latency').textContent")
            assert "p99.9" in latency
            await page.screenshot(ARTIFACTS / "status-phone.png")
            await page.viewport(1280, 900, mobile=False)
            await page.wait_for("Number(document.getElementById('updated').dataset.updates) >= 3")
            await page.screenshot(ARTIFACTS / "status.png")
            assert await page.js_errors() == []
            # Everything the page loaded came from the daemon itself (no CDN).
            requests = await page.requests()
            assert requests and all(u.startswith(base) for u in requests), requests
            assert daemon.engine is not None
    png = (ARTIFACTS / "status.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 20_000
    shutil.copy(ARTIFACTS / "status.png", ARTIFACTS / "status-page.png")


@pytest.mark.skipif(CHROMIUM is None, reason=SKIP_REASON)
@pytest.mark.timeout(60)
async def test_status_page_tells_the_truth_against_an_unreachable_venue(tmp_path: Path) -> None:
    """Gamma and CLOB at a closed loopback port: red "unhealthy" within 10 s with the reason in
    words, never a green "healthy" or a "live" badge."""
    assert CHROMIUM is not None
    loaded = parse_config(offline_yaml(tmp_path / "we.db", closed_port()), env={})
    from weatheredge.runtime import make_app, serve

    with chromium(CHROMIUM) as page:
        app = make_app(loaded)
        runner = await serve(app, asyncio.Event())
        base = f"http://127.0.0.1:{runner.addresses[0][1]}"
        try:
            await page.get(base + "/")
            await page.wait_for("Number(document.getElementById('updated').dataset.updates) >= 1")
            seen = await page.evaluate("document.getElementById('health').textContent")
            assert seen in ("starting", "unhealthy")
            await page.wait_for(
                "document.getElementById('health').textContent === 'unhealthy'", within=10
            )
            assert await page.evaluate("document.getElementById('health').className") == (
                "badge bad"
            )
            problems = await page.evaluate("document.getElementById('problems').textContent")
            assert "cannot reach Polymarket (connection refused by 127.0.0.1:" in problems
            assert "ConnectionKey" not in problems
            assert await page.evaluate("document.getElementById('live').textContent") != "live"
            assert await page.js_errors() == []
        finally:
            await runner.cleanup()


async def _get(http: aiohttp.ClientSession, url: str, **kw) -> tuple[int, str]:
    async with http.get(url, allow_redirects=False, **kw) as resp:
        return resp.status, await resp.text()


async def test_state_api_and_server_sent_events(sandbox: Sandbox, tmp_path: Path) -> None:
    async with running_daemon(sandbox, tmp_path / "we.db") as (daemon, base):
        await eventually(lambda: daemon.engine.counters["edges_open"] >= 1, within=15)
        async with aiohttp.ClientSession() as http:
            status, text = await _get(http, f"{base}/api/v1/state")
            assert status == 200
            state = json.loads(text)
            assert state["api_version"] == 1 and state["mode"] == "dry_run"
            assert len(state["events"]) == 4
            nyc = next(e for e in state["events"] if e["city"] == "NYC" and e["extreme"] == "high")
            assert len(nyc["buckets"]) == 11
            assert abs(sum(b["prob"] for b in nyc["buckets"]) - 1) < 1e-6
            assert all(b["bid"] < b["ask"] for b in nyc["buckets"] if b["bid"] and b["ask"])
            assert state["edges"] and state["edges"][0]["edge"] >= 0.05
            assert isinstance(state["trading"]["available"], bool)  # False: a placeholder
            assert state["feed"]["shards"] and "discover_markets" in state["jobs"]
            assert "settlement_agreement" in state["model"] and "stations" in state["model"]
            # SSE: two state documents in a row, each a full document with a rising seq.
            seqs = []
            async with http.get(f"{base}/api/v1/stream") as resp:
                assert resp.headers["Content-Type"].startswith("text/event-stream")
                async for line in resp.content:
                    if line.startswith(b"data: "):
                        seqs.append(json.loads(line[6:])["seq"])
                        if len(seqs) == 2:
                            break
            assert seqs[1] > seqs[0]
            status, text = await _get(http, f"{base}/api/v1/queries/edges_by_city_day?city=NYC")
            assert status == 200 and {r["city"] for r in json.loads(text)["rows"]} <= {"NYC"}
            status, text = await _get(http, f"{base}/api/v1/queries/nope")
            assert status == 404
            status, text = await _get(http, f"{base}/api/v1/queries")
            assert status == 200 and len(json.loads(text)["queries"]) >= 6
            status, text = await _get(http, f"{base}/api/v1/edges?limit=1")
            assert status == 200 and len(json.loads(text)["edges"]) == 1
            status, _ = await _get(http, f"{base}/static/../../config.py")
            assert status == 404
            # /status and /healthz are still there.
            assert (await _get(http, f"{base}/status"))[0] == 200
            assert (await _get(http, f"{base}/healthz"))[0] == 200


async def test_token_and_no_secrets(sandbox: Sandbox, tmp_path: Path) -> None:
    token = "t0ken-" + "x" * 20
    secret_hook = "SuperSecretHookToken123"
    env = {"WE_TOKEN": token, "WE_HOOK": f"json://127.0.0.1:9/{secret_hook}"}
    extra = "web:\n  host: 127.0.0.1\n  port: 0\n  token: !env WE_TOKEN\n"
    yaml_text = sandbox.config_yaml(str(tmp_path / "we.db")).replace(
        "web:\n  host: 127.0.0.1\n  port: 0\n", ""
    )
    yaml_text = yaml_text.replace(f'urls: ["{sandbox.urls.notify_url}"]', "urls: [!env WE_HOOK]")
    loaded = parse_config(yaml_text + extra, env=env)
    from weatheredge.daemon import DAEMON
    from weatheredge.runtime import make_app, serve

    app = make_app(loaded)
    runner = await serve(app, asyncio.Event())
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        daemon = app[DAEMON]
        await eventually(lambda: daemon.engine.status()["books_synced"] >= 1, within=15)
        # unsafe=True: keep cookies for an IP-address host, as a browser does.
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            assert (await _get(http, f"{base}/api/v1/state"))[0] == 401
            assert (await _get(http, f"{base}/"))[0] == 401
            assert (await _get(http, f"{base}/status"))[0] == 401
            assert (await _get(http, f"{base}/healthz"))[0] == 200  # monitors need no token
            bad = {"Authorization": "Bearer wrong-token-wrong-token"}
            assert (await _get(http, f"{base}/api/v1/state", headers=bad))[0] == 401
            auth = {"Authorization": f"Bearer {token}"}
            status, text = await _get(http, f"{base}/api/v1/state", headers=auth)
            assert status == 200
            for path in ("/status", "/api/v1/queries", "/"):
                status, body = await _get(http, base + path, headers=auth)
                assert status == 200
                assert token not in body and secret_hook not in body
            assert token not in text and secret_hook not in text
            # In a browser: ?token= once, then a cookie; the token leaves the address bar.
            async with http.get(f"{base}/?token={token}", allow_redirects=False) as resp:
                assert resp.status == 303 and "token" not in resp.headers["Location"]
                assert "HttpOnly" in resp.headers["Set-Cookie"]
            assert (await _get(http, f"{base}/api/v1/state"))[0] == 200  # the cookie now
    finally:
        await runner.cleanup()


def test_a_public_bind_needs_a_token_from_a_secret() -> None:
    with pytest.raises(ConfigError, match=r"web\.token: required because web\.host"):
        parse_config("web: {host: 0.0.0.0}\n", env={})
    with pytest.raises(ConfigError, match=r"web\.token: must come from !secret"):
        parse_config("web: {host: 0.0.0.0, token: plain-text-token-123456}\n", env={})
    with pytest.raises(ConfigError, match="too short"):
        parse_config("web: {host: 0.0.0.0, token: !env T}\n", env={"T": "short"})
    ok = parse_config("web: {host: 0.0.0.0, token: !env T}\n", env={"T": "y" * 24})
    assert ok.settings.web.token == "y" * 24
    assert parse_config("", env={}).settings.web.token is None

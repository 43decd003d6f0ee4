"""No other web page can move money: cross-site writes and foreign Host headers are refused
(issue 13, break 3). Real daemon on loopback, a real browser on another origin."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from tests.conftest import running_daemon
from tests.webui.browser import SKIP_REASON, Browser, chromium, find_chromium
from weatheredge.config import parse_config
from weatheredge.daemon import DAEMON, Daemon
from weatheredge.runtime import make_app, serve
from weatheredge.sandbox import Sandbox

CHROMIUM = find_chromium()
WRITE = {"X-Weatheredge": "1"}


async def _post(http: aiohttp.ClientSession, url: str, **kw) -> tuple[int, dict]:
    async with http.post(url, **kw) as resp:
        text = await resp.text()
        assert "Traceback" not in text
        return resp.status, json.loads(text)


async def test_writes_need_json_and_the_header(sandbox: Sandbox, tmp_path: Path) -> None:
    async with running_daemon(sandbox, tmp_path / "we.db") as (daemon, base):
        halt = f"{base}/api/v1/trading/halt"
        async with aiohttp.ClientSession() as http:
            # What a page on another origin can send without a preflight: all refused, cleanly.
            form = {"reason": "csrf"}
            assert (await _post(http, halt, data=form))[0] == 403
            assert (await _post(http, halt, data=form, headers=WRITE))[0] == 415
            plain = {**WRITE, "Content-Type": "text/plain"}
            assert (await _post(http, halt, data='{"reason": "x"}', headers=plain))[0] == 415
            assert (await _post(http, halt, json={"reason": "x"}))[0] == 403  # no header
            evil = {**WRITE, "Origin": "http://127.0.0.1:1"}
            assert (await _post(http, halt, json={}, headers=evil))[0] == 403
            site = {**WRITE, "Sec-Fetch-Site": "cross-site"}
            assert (await _post(http, halt, json={}, headers=site))[0] == 403
            bad_json = {**WRITE, "Content-Type": "application/json"}
            status, body = await _post(http, halt, data="{not json", headers=bad_json)
            assert status == 400 and "JSON" in body["error"]
            assert (await _post(http, halt, json=[1], headers=WRITE))[0] == 400
            assert daemon.halted is False
            # The CLI's way (JSON + header) and a same-origin page's way (JSON + Origin) work.
            status, body = await _post(http, halt, json={"reason": "ops"}, headers=WRITE)
            assert status == 200 and body["halted"] is True and daemon.halt_reason == "ops"
            same = {"Origin": base}
            status, _ = await _post(http, f"{base}/api/v1/trading/resume", headers=same)
            assert status == 200 and daemon.halted is False


async def test_foreign_host_header_is_refused(sandbox: Sandbox, tmp_path: Path) -> None:
    """DNS rebinding: a page on evil.example whose name now resolves to 127.0.0.1."""
    async with running_daemon(sandbox, tmp_path / "we.db") as (daemon, base):
        port = base.rsplit(":", 1)[1]
        async with aiohttp.ClientSession() as http:
            for host in (f"evil.example:{port}", "evil.example", f"127.0.0.1.evil.example:{port}"):
                for path in ("/api/v1/state", "/status", "/healthz", "/"):
                    async with http.get(base + path, headers={"Host": host}) as resp:
                        assert resp.status == 403, (host, path)
                        assert "state" not in await resp.text()
                status, _ = await _post(
                    http, f"{base}/api/v1/trading/halt", json={}, headers={**WRITE, "Host": host}
                )
                assert status == 403
            assert daemon.halted is False
            for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}", "LOCALHOST"):
                async with http.get(f"{base}/api/v1/state", headers={"Host": host}) as resp:
                    assert resp.status == 200, host
            async with http.get(f"{base}/status", headers={"Host": f"box.lan:{port}"}) as resp:
                assert resp.status == 403  # not configured


async def test_allowed_hosts_are_answered(sandbox: Sandbox, tmp_path: Path) -> None:
    """web.allowed_hosts: the box's other names (LAN name, a reverse proxy's public name)."""
    config = sandbox.config_yaml(str(tmp_path / "we.db")).replace(
        "  port: 0\n", "  port: 0\n  allowed_hosts: [box.lan]\n"
    )
    app = make_app(parse_config(config, env={}))
    runner = await serve(app, asyncio.Event())
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/status", headers={"Host": "box.lan:8787"}) as resp:
                assert resp.status == 200
            async with http.get(f"{base}/status", headers={"Host": "other.lan"}) as resp:
                assert resp.status == 403
    finally:
        await runner.cleanup()


ATTACK_PAGE = """<!doctype html><html><body>
<iframe name="sink1"></iframe><iframe name="sink2"></iframe>
<form id="plain" method="POST" action="{target}" enctype="text/plain" target="sink1">
  <input name='{{"reason":"csrf","x":"' value='"}}'></form>
<form id="urlenc" method="POST" action="{target}" target="sink2">
  <input name="reason" value="csrf"></form>
<script>
let loaded = 0;
for (const f of document.querySelectorAll("iframe")) f.onload = () => {{ loaded += 1; }};
fetch("{target}", {{method: "POST", mode: "no-cors", body: '{{"reason":"csrf"}}',
                    headers: {{"Content-Type": "text/plain"}}}})
  .then(() => {{ window.fetched = true; }}, () => {{ window.fetched = "error"; }});
document.getElementById("plain").submit();
document.getElementById("urlenc").submit();
window.done = () => window.fetched && loaded >= 2;
</script></body></html>"""


async def _attack_server(target: str) -> tuple[web.AppRunner, str]:
    """A second loopback server (another origin) serving a page that posts to ``target``."""

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=ATTACK_PAGE.format(target=target), content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}/"


@pytest.mark.skipif(CHROMIUM is None, reason=SKIP_REASON)
@pytest.mark.timeout(60)
async def test_a_page_on_another_origin_cannot_halt_or_resume(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    assert CHROMIUM is not None
    with chromium(CHROMIUM) as page:
        async with running_daemon(sandbox, tmp_path / "we.db") as (daemon, base):
            await _attack(page, daemon, base)


async def _attack(page: Browser, daemon: Daemon, base: str) -> None:
    for action, before in (("halt", False), ("resume", True)):
        daemon.halted = before
        target = f"{base}/api/v1/trading/{action}"
        runner, url = await _attack_server(target)
        try:
            await page.get(url)
            await page.wait_for("typeof window.done === 'function' && window.done()")
        finally:
            await runner.cleanup()
        # The browser did send all three (so the refusal, not the browser, stopped them).
        sent = await page.sent_requests()
        assert sum(u == target for u in sent) >= 3, sent
        assert daemon.halted is before, action
    # The daemon's own page may (same origin, JSON).
    await page.get(base + "/")
    await page.wait_for("document.readyState === 'complete'")
    status = await page.evaluate(
        f"fetch('{base}/api/v1/trading/resume', {{method: 'POST', headers: "
        "{'Content-Type': 'application/json'}, body: '{}'}).then(r => r.status)"
    )
    assert status == 200 and daemon.halted is False


async def test_halt_and_resume_commands_pass_the_check(sandbox: Sandbox, tmp_path: Path) -> None:
    """`weatheredge halt` / `resume` reach the running daemon (they send JSON + the header)."""
    import socket

    from weatheredge import cli

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = tmp_path / "config.yaml"
    config.write_text(sandbox.config_yaml(str(tmp_path / "we.db"), web_port=port))
    app = make_app(parse_config(config.read_text(), env={}))
    runner = await serve(app, asyncio.Event())
    try:
        daemon = app[DAEMON]
        halt = ["halt", "-c", str(config), "--reason", "from the CLI"]
        assert await asyncio.to_thread(cli.main, halt) == 0
        assert daemon.halted is True and daemon.halt_reason == "from the CLI"
        assert await asyncio.to_thread(cli.main, ["resume", "-c", str(config)]) == 0
        assert daemon.halted is False
    finally:
        await runner.cleanup()


async def test_hostile_json_bodies_are_refused_cleanly(sandbox: Sandbox, tmp_path: Path) -> None:
    """Deep nesting, NaN and wrongly typed fields: a 400 naming the problem, never a 500."""
    json_write = {**WRITE, "Content-Type": "application/json; charset=utf-8"}
    deep = b"[" * 200_000 + b"]" * 200_000
    async with running_daemon(sandbox, tmp_path / "we.db") as (daemon, base):
        halt = f"{base}/api/v1/trading/halt"
        async with aiohttp.ClientSession() as http:
            for body in (
                deep,
                b'{"reason": ' + deep + b"}",
                b'{"reason": NaN}',
                b'{"reason": "x", "cancel": Infinity}',
                b'{"reason": {"a": [1]}}',
                b'{"reason": "x", "cancel": "no"}',  # truthy: would have cancelled every order
            ):
                status, answer = await _post(http, halt, data=body, headers=json_write)
                assert status == 400 and "error" in answer, body[:40]
            assert daemon.halted is False
            status, _ = await _post(
                http, halt, json={"reason": "ops", "cancel": False}, headers=WRITE
            )
            assert status == 200 and daemon.halted is True

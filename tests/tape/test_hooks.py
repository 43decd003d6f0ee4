"""The HTTP hook on a real loopback server: bodies as read, failures, URLs without keys."""

from __future__ import annotations

import socket
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from weatheredge.tape.hooks import failure_trace, response_class, source_of


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_every_body_read_and_every_failed_request_is_taped() -> None:
    async def page(request: web.Request) -> web.Response:
        return web.Response(body=b'{"ok":1}', content_type="application/json")

    app = web.Application()
    app.router.add_get("/v1/ensemble", page)
    app.router.add_post("/books", page)
    taped: list[tuple[str, dict[str, Any]]] = []

    def record(kind: str, fields: dict[str, Any], mono_ns: int | None = None) -> None:
        taped.append((kind, fields))

    async with TestServer(app, host="127.0.0.1") as server:
        base = str(server.make_url(""))
        dead = f"http://127.0.0.1:{_free_port()}"
        sources = [(f"{base}/v1/ensemble", "open-meteo-ensemble"), (base, "clob"), (dead, "cwa")]
        async with aiohttp.ClientSession(
            response_class=response_class(record, sources, ["s3cret-value"]),
            trace_configs=[failure_trace(record, sources)],
        ) as session:
            params = {"latitude": "40.7", "apikey": "k", "x": "s3cret-value"}
            async with session.get(f"{base}/v1/ensemble", params=params) as resp:
                assert await resp.json() == {"ok": 1}
            async with session.post(f"{base}/books", json=[{"token_id": "1"}]) as resp:
                await resp.read()
                await resp.read()  # read twice: taped once
            try:
                async with session.get(f"{dead}/api?Authorization=CWA-KEY"):
                    pass
            except aiohttp.ClientError:
                pass
    assert [k for k, _ in taped] == ["http", "http", "http"]
    forecast, books, failed = (f for _, f in taped)
    assert forecast["source"] == "open-meteo-ensemble" and forecast["body"] == b'{"ok":1}'
    assert "latitude=40.7" in forecast["url"] and "k&" not in forecast["url"]
    assert "s3cret" not in forecast["url"] and forecast["status"] == 200
    assert (books["source"], books["method"]) == ("clob", "POST")
    assert failed["source"] == "cwa" and failed["status"] is None
    assert failed["error"] == "ClientConnectorError" and "CWA-KEY" not in failed["url"]


def test_gamma_and_clob_on_one_base_url_are_told_apart_by_path() -> None:
    both = [("http://h:1", "gamma"), ("http://h:1", "clob")]
    assert source_of("http://h:1/events/keyset?limit=100", both) == "gamma"
    assert source_of("http://h:1/books", both) == "clob"
    assert source_of("http://other/x", both) == "other"

"""A daemon started from a config file (reload re-reads that file), against the sandbox."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp

from weatheredge.config import load_config
from weatheredge.daemon import DAEMON, Daemon
from weatheredge.runtime import make_app, serve
from weatheredge.sandbox import Sandbox


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config_text(
    box: Sandbox, tmp: Path, extra: str = "", *, notify: bool = True, port: int = 0
) -> str:
    """The sandbox config; ``port`` fixed when a command line has to find the daemon."""
    text = box.config_yaml(str(tmp / "we.db"), extra=extra, web_port=port)
    if not notify:
        assert box.urls is not None
        text = text.replace(f'urls: ["{box.urls.notify_url}"]', "urls: []")
    return text


@contextlib.asynccontextmanager
async def daemon_from_file(path: Path) -> AsyncIterator[tuple[Daemon, str]]:
    app = make_app(load_config(path))
    runner = await serve(app, asyncio.Event())
    try:
        yield app[DAEMON], f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def post_reload(base: str) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{base}/api/v1/reload", json={}, headers={"X-Weatheredge": "1"}
        ) as resp:
            return resp.status, await resp.json()


async def get_json(base: str, path: str) -> dict:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}{path}") as resp:
            return await resp.json()


async def get_text(base: str, path: str) -> str:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}{path}") as resp:
            return await resp.text()

"""Small test helpers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable


async def eventually(condition: Callable[[], bool], within: float = 3.0) -> None:
    """Poll until condition() holds; fail the test after ``within`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def serving(method: str, path: str, body: bytes | str) -> AsyncIterator[str]:
    """A loopback server answering ``method path`` with this JSON body; yields its base URL."""
    from aiohttp import web
    from aiohttp.test_utils import TestServer

    async def answer(_request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_route(method, path, answer)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        await server.close()

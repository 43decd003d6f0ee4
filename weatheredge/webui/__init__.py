"""The status page and the JSON API behind it, served by the daemon's own aiohttp app.

Routes (documented in docs/api.md):

- ``GET /``                         the page (static HTML/CSS/JS from this package, no CDN)
- ``GET /static/{file}``            its assets
- ``GET /api/v1/state``             everything the page shows, as one JSON document
- ``GET /api/v1/stream``            the same document pushed as server-sent events
- ``GET /api/v1/edges``             recent edge episodes from the database
- ``GET /api/v1/queries[/{name}]``  the saved queries (db/queries/), run read-only

Access: with no ``web.token`` the config only allows a loopback bind and the app refuses
non-loopback peers. With a token every route except ``/healthz`` requires it: a bearer header,
or ``?token=`` once in the browser (answered with an HttpOnly cookie and a redirect that drops
the token from the address bar). Before that, every request passes ``webui.guard``: Host names,
cross-site writes, secret masking of every answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from importlib import resources
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware

from db.readonly import connect_read_only
from weatheredge.daemon import Daemon
from weatheredge.redact import RedactingFilter, install_redaction, secret_strings
from weatheredge.webui import guard, queries
from weatheredge.webui.history import History
from weatheredge.webui.state import Page, StateBuilder

logger = logging.getLogger(__name__)

COOKIE = "weatheredge_token"
KEEPALIVE_S = 15.0
HISTORY_REFRESH_S = 2.0
MAX_CACHED_PAGES = 16  # distinct pages kept per update (clients paging through events)
STATIC_FILES = {
    "app.js": "text/javascript",
    "style.css": "text/css",
    "favicon.svg": "image/svg+xml",
}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


class Broadcaster:
    """Wakes every SSE client every ``interval`` seconds with a new ``seq``; each document (one
    per page asked for) is built at most once per ``seq``, and only when someone asks."""

    def __init__(self, builder: StateBuilder, redactor: RedactingFilter, interval: float) -> None:
        self.builder = builder
        self.redactor = redactor
        self.interval = interval
        self.seq = 0
        self.clients = 0
        self._docs: dict[Page, str] = {}  # this seq's documents, per page
        self._docs_seq = -1
        self.closed = False
        self._tick = asyncio.Event()
        self._last_history = 0.0

    def snapshot(self, page: Page | None = None) -> str:
        """The current document for ``page`` as JSON text, secrets masked."""
        page = page or Page()
        if self._docs_seq != self.seq:
            self._docs, self._docs_seq = {}, self.seq
        text = self._docs.get(page)
        if text is None:
            doc = self.builder.build(page)
            doc["seq"] = self.seq
            text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"), default=str)
            # The SSE stream bypasses the masking middleware, so mask here too.
            text = self.redactor.redact(text)
            if len(self._docs) < MAX_CACHED_PAGES:
                self._docs[page] = text
        return text

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self.closed:
            now = loop.time()
            if now - self._last_history >= HISTORY_REFRESH_S:
                self._last_history = now
                await asyncio.to_thread(self.builder.history.refresh)
            self.seq += 1
            tick, self._tick = self._tick, asyncio.Event()
            tick.set()
            await asyncio.sleep(self.interval)

    async def next(self, wait_s: float) -> bool:
        """Wait for the next document; False on timeout."""
        tick = self._tick
        try:  # asyncio.timeout: wait_for (3.11) drops a cancel that lands with the tick
            async with asyncio.timeout(wait_s):
                await tick.wait()
        except TimeoutError:
            return False
        return True

    def close(self) -> None:
        self.closed = True
        self._tick.set()


BROADCASTER = web.AppKey("webui_broadcaster", Broadcaster)


def _event(b: Broadcaster, page: Page) -> bytes:
    try:
        text = b.snapshot(page)
    except Exception:  # a bug here must never take the daemon (or the stream) down
        logger.exception("status page: building the state failed")
        return b": state unavailable\n\n"
    return f"id: {b.seq}\nevent: state\ndata: {text}\n\n".encode()


def _redactor(daemon: Daemon) -> RedactingFilter:
    loaded = daemon.loaded
    return install_redaction(secret_strings(loaded.secrets, loaded.settings.notify.urls))


def _is_loopback(remote: str | None) -> bool:
    if not remote:
        return False
    try:
        return ipaddress.ip_address(remote.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _auth_middleware(token_of: Callable[[], str | None]) -> Middleware:
    @web.middleware
    async def auth(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.path == "/healthz":
            return await handler(request)
        token = token_of()
        if token is None:
            # No token: the config only allows a loopback bind; refuse anything else anyway
            # (a port forward or a proxy on the box would otherwise expose the page).
            if not _is_loopback(request.remote):
                return web.json_response({"error": "loopback only (set web.token)"}, status=403)
            return await handler(request)
        supplied = ""
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            supplied = header.removeprefix("Bearer ").strip()
        via_query = request.query.get("token")
        supplied = supplied or via_query or request.cookies.get(COOKIE, "")
        if not hmac.compare_digest(supplied.encode(), token.encode()):
            return web.json_response(
                {"error": "token required: Authorization: Bearer <web.token>, or ?token= once"},
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="weatheredge"'},
            )
        if via_query and request.method == "GET":
            # Trade the token in the URL for a cookie, and drop it from the address bar.
            query = {k: v for k, v in request.query.items() if k != "token"}
            location = request.rel_url.with_query(query)
            resp = web.HTTPSeeOther(location=str(location))
            resp.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path="/")
            return resp
        return await handler(request)

    return auth


def _static(name: str) -> bytes:
    return resources.files("weatheredge.webui").joinpath("static", name).read_bytes()


def add_routes(app: web.Application, key: web.AppKey[Daemon]) -> None:
    """Mount the page and the API on the daemon's app (called by weatheredge.web)."""

    def daemon_of(request: web.Request) -> Daemon:
        return request.app[key]

    # One masking for every answer and every log line: the process-wide filter the logs use,
    # with this config's secrets added (it also gets secrets loaded later, e.g. live keys).
    redactor = _redactor(app[key])
    app.middlewares.extend(guard.middlewares(lambda: app[key].settings.web, redactor))
    app.middlewares.append(_auth_middleware(lambda: app[key].settings.web.token))

    async def broadcaster_ctx(app_: web.Application) -> AsyncIterator[None]:
        daemon = app_[key]
        builder = StateBuilder(daemon, History(daemon.settings.database))
        b = Broadcaster(builder, redactor, daemon.settings.web.push_interval)
        app_[BROADCASTER] = b
        task = asyncio.create_task(b.run(), name="webui-broadcaster")
        try:
            yield
        finally:
            b.close()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def on_shutdown(app_: web.Application) -> None:
        # Long-lived SSE responses must end before the runner waits for handlers.
        if BROADCASTER in app_:
            app_[BROADCASTER].close()

    app.cleanup_ctx.append(broadcaster_ctx)
    app.on_shutdown.append(on_shutdown)

    page_headers = {
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }

    async def index(request: web.Request) -> web.Response:
        return web.Response(
            body=_static("index.html"), content_type="text/html", headers=page_headers
        )

    async def static(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in STATIC_FILES:
            raise web.HTTPNotFound()
        return web.Response(
            body=_static(name), content_type=STATIC_FILES[name], headers=page_headers
        )

    def page_of(request: web.Request) -> Page:
        try:
            return Page.from_query(request.query)
        except ValueError as err:
            raise web.HTTPBadRequest(
                text=json.dumps({"error": str(err)}), content_type="application/json"
            ) from None

    async def state(request: web.Request) -> web.Response:
        b = request.app[BROADCASTER]
        return web.Response(text=b.snapshot(page_of(request)), content_type="application/json")

    async def stream(request: web.Request) -> web.StreamResponse:
        b = request.app[BROADCASTER]
        page = page_of(request)
        resp = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",  # nginx: do not buffer the stream
            }
        )
        await resp.prepare(request)
        b.clients += 1
        try:
            await resp.write(b"retry: 2000\n\n")
            await resp.write(_event(b, page))
            while not b.closed:
                if await b.next(KEEPALIVE_S):
                    if b.closed:
                        break
                    await resp.write(_event(b, page))
                else:
                    await resp.write(b": keepalive\n\n")
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            b.clients -= 1
        return resp

    async def edges(request: web.Request) -> web.Response:
        from weatheredge.store import recent_edges

        try:
            limit = max(1, min(500, int(request.query.get("limit", "50"))))
        except ValueError:
            raise web.HTTPBadRequest(text="limit must be an integer") from None
        path = daemon_of(request).settings.database
        rows = await asyncio.to_thread(recent_edges, path, limit)
        edges = [r.as_dict() for r in rows]
        return web.json_response({"edges": edges}, dumps=lambda o: json.dumps(o, default=str))

    async def query_list(request: web.Request) -> web.Response:
        path = daemon_of(request).settings.database

        def describe() -> list[dict[str, Any]]:
            with connect_read_only(path) as conn:
                return [
                    {
                        "name": q.name,
                        "title": q.title,
                        "description": q.description,
                        "params": list(q.params),
                        "requires": {t: list(c) for t, c in q.requires.items()},
                        "unavailable": queries.missing(conn, q),
                    }
                    for q in queries.all_queries()
                ]

        return web.json_response({"queries": await asyncio.to_thread(describe)})

    async def query_run(request: web.Request) -> web.Response:
        path = daemon_of(request).settings.database
        name = request.match_info["name"]
        params = dict(request.query)

        def run() -> dict[str, Any]:
            q = queries.load(name)
            with connect_read_only(path) as conn:
                result = queries.run(conn, q, params)
            return {"name": name, "columns": result.columns, "rows": result.dicts()}

        try:
            body = await asyncio.to_thread(run)
        except queries.QueryUnavailable as err:
            status = 404 if "no saved query" in str(err) else 409
            return web.json_response({"error": str(err)}, status=status)
        return web.json_response(body, dumps=lambda o: json.dumps(o, default=str))

    app.router.add_get("/", index)
    app.router.add_get("/static/{name}", static)
    app.router.add_get("/api/v1/state", state)
    app.router.add_get("/api/v1/stream", stream)
    app.router.add_get("/api/v1/edges", edges)
    app.router.add_get("/api/v1/queries", query_list)
    app.router.add_get("/api/v1/queries/{name}", query_run)

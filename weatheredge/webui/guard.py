"""What every request and every answer of the daemon's web app passes through.

- **Host**: the ``Host`` header must name this daemon (loopback names, ``web.host``, or one of
  ``web.allowed_hosts``). A DNS-rebinding page reaches 127.0.0.1 under its own name, so a
  foreign name is refused before anything else runs.
- **Writes** (any method but GET/HEAD/OPTIONS): a browser on another origin can send a form or a
  ``no-cors`` fetch without asking; it cannot add a custom header or a JSON content type without a
  CORS preflight, which this app never grants. So a write needs ``X-Weatheredge: 1`` or a
  same-origin ``Origin``, a cross-site ``Origin``/``Sec-Fetch-Site`` is refused outright, and a
  body must be JSON (forms and ``text/plain`` get a 415).
- **Masking**: every text body (JSON, Prometheus text, error pages) goes through the secret
  redaction the logs use, whatever route produced it.
- **Errors**: an unexpected exception becomes a JSON 500 without a traceback (the log has it,
  masked).
"""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from aiohttp import web

from weatheredge.redact import RedactingFilter

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

WRITE_HEADER = "X-Weatheredge"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::"})
_TEXT_TYPES = ("text/", "application/json", "application/javascript", "image/svg+xml")


def error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def host_name(header: str) -> str:
    """``Host`` header without its port, lower case: ``[::1]:8787`` -> ``::1``."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].partition("]")[0]
    name, sep, port = header.rpartition(":")
    if sep and port.isdigit():
        header = name
    return header.rstrip(".")


def _entry(name: str) -> str:
    """A configured name: a bare IPv6 literal (``::1``) has colons but no port."""
    return name.lower().strip("[]").rstrip(".") if name.count(":") > 1 else host_name(name)


def host_allowed(header: str | None, bind: str, allowed: Collection[str]) -> bool:
    if header is None:  # HTTP/1.0 without Host: not a browser, so not a rebinding page
        return True
    name = host_name(header)
    names = LOOPBACK_NAMES | {_entry(bind)} | {_entry(h) for h in allowed}
    if name in names:
        return True
    if bind in WILDCARD_BINDS:
        # Bound to every address: any of this machine's IPs may be asked for by number. An IP
        # literal in Host cannot be a rebinding attack (that needs a name the attacker owns).
        try:
            ipaddress.ip_address(name)
        except ValueError:
            return False
        return True
    return False


def _same_origin(origin: str, host: str | None) -> bool:
    scheme, sep, rest = origin.partition("://")
    return bool(sep) and scheme in ("http", "https") and host is not None and rest == host.lower()


def write_refusal(request: web.Request) -> web.Response | None:
    """Why this state-changing request must not run, as the answer to send; None if it may."""
    host = request.headers.get("Host")
    origin = request.headers.get("Origin")
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return error(403, "cross-site request refused")
    same_origin = origin is not None and _same_origin(origin, host)
    if origin is not None and not same_origin:
        return error(403, "cross-origin request refused")
    if not same_origin and request.headers.get(WRITE_HEADER) != "1":
        return error(403, f"state-changing requests need the header {WRITE_HEADER}: 1")
    if request.body_exists and request.content_type != "application/json":
        return error(415, "send a JSON body (Content-Type: application/json)")
    return None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # json.loads takes NaN and Infinity by default


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object ({} when there is no body); 400 for anything else."""
    if not request.body_exists:
        return {}
    try:
        body = json.loads(await request.read() or b"{}", parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: hostile nesting
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "body is not valid JSON"}), content_type="application/json"
        ) from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "body must be a JSON object"}),
            content_type="application/json",
        )
    return body


def middlewares(settings_of: Callable[[], Any], redactor: RedactingFilter) -> list[Any]:
    """Outermost first: mask, then turn crashes into clean 500s, then host and write checks."""
    redact = redactor.redact

    @web.middleware
    async def mask(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            resp = await handler(request)
        except web.HTTPException as exc:
            if exc.text:
                exc.text = redact(exc.text)
            raise
        if isinstance(resp, web.Response) and isinstance(resp.body, bytes) and resp.body:
            ctype = resp.content_type or ""
            if ctype.startswith(_TEXT_TYPES):
                charset = resp.charset or "utf-8"
                try:
                    text = resp.body.decode(charset)
                except (UnicodeDecodeError, LookupError):
                    return resp
                masked = redact(text)
                if masked != text:
                    resp.body = masked.encode(charset)
        return resp

    @web.middleware
    async def crash_to_500(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except Exception:
            logger.exception("web: %s %s failed", request.method, request.path)
            return error(500, "internal error (see the daemon's log)")

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        web_settings = settings_of()
        bind = web_settings.host
        allowed = web_settings.allowed_hosts
        if not host_allowed(request.headers.get("Host"), bind, allowed):
            return error(403, "Host header not allowed (add the name to web.allowed_hosts)")
        if request.method not in SAFE_METHODS:
            refusal = write_refusal(request)
            if refusal is not None:
                return refusal
        return await handler(request)

    return [mask, crash_to_500, guard]

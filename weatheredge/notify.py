"""Push notifications through apprise, off the hot path, with notify secrets kept out of logs.

``Notifier.send`` only enqueues; one task (``run``/``start``) delivers messages in order, each to
every target, retrying a failing target with exponential backoff. Failures are logged and
recorded, never raised into the caller: a notification must not be able to stop the daemon.

Apprise URLs carry credentials (``discord://id/token``, ``json://host/secret-path``) and apprise,
urllib3 and requests all log URLs at DEBUG. Redaction therefore happens on log *records* at the
loggers that create them (so every handler, including ones added later, sees masked text) and on
the root handlers for everything else. See :func:`install_redaction`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import logging
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote

import apprise

from weatheredge.model.edge import Quote
from weatheredge.model.market import BucketMarket, TemperatureEvent
from weatheredge.model.prices import from_micros
from weatheredge.store import NotificationResult

logger = logging.getLogger(__name__)

MASK = "****"
# Shorter fragments (a path like "/api/") are not secrets, and masking them would shred every log
# line that happens to contain them.
_MIN_SECRET_LEN = 5
# A lower-case word shorter than any token worth the name: a path segment like "market".
_PUBLIC_WORD = re.compile(r"[a-z][a-z_-]{0,14}")
# Loggers that print request URLs from inside the notification call. A filter on a logger only
# sees records created by that exact logger, so they are listed one by one.
_URL_LOGGERS = ("apprise", "urllib3.connectionpool", "urllib3.util.retry", "requests")


# --- redaction -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _ParsedUrl:
    scheme: str
    userinfo: str
    host: str
    port: str
    rest: str  # path, query and fragment, with the leading separator


def _parse(url: str) -> _ParsedUrl | None:
    # Hand-rolled rather than urlsplit: apprise URLs put tokens where a host belongs
    # ("tgram://123:ABC/chat") and urlsplit raises on such "ports".
    scheme, sep, rest = url.strip().partition("://")
    if not sep or not scheme:
        return None
    cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    netloc, tail = rest[:cut], rest[cut:]
    userinfo, _, hostport = netloc.rpartition("@")
    if hostport.startswith("["):  # IPv6 literal: its colons are not a port separator
        host, _, port = hostport.partition("]")
        host, port = host + "]", port.removeprefix(":")
    else:
        host, _, port = hostport.partition(":")
    return _ParsedUrl(scheme, userinfo, host, port, tail)


def _is_network_host(host: str) -> bool:
    """True for an IP, localhost or a dotted domain; false for an id or token in host position."""
    if host.lower() == "localhost":
        return True
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        labels = host.split(".")
        return len(labels) > 1 and all(re.fullmatch(r"[A-Za-z0-9-]+", label) for label in labels)
    return True


def redact_url(url: str) -> str:
    """Scheme and network host kept, everything else masked.

    ``discord://1234/abcd`` -> ``discord://****``;
    ``json://127.0.0.1:8080/hook?x=1`` -> ``json://127.0.0.1:8080/****``.
    """
    parsed = _parse(url)
    if parsed is None:
        return MASK
    if not _is_network_host(parsed.host) or (parsed.port and not parsed.port.isdigit()):
        return f"{parsed.scheme}://{MASK}"
    hostport = f"{parsed.host}:{parsed.port}" if parsed.port else parsed.host
    masked = parsed.userinfo or parsed.rest.strip("/?#")
    return f"{parsed.scheme}://{hostport}/{MASK}" if masked else f"{parsed.scheme}://{hostport}"


def url_secrets(url: str) -> list[str]:
    """Every fragment of a notify URL that must not appear in logs.

    The URL itself, credentials, a token in host position, path segments and query values, in
    raw and percent-encoded/decoded forms (libraries log whichever form they hold).
    """
    parsed = _parse(url)
    if parsed is None:
        return _with_variants([url])
    pieces = [url, parsed.rest]
    if parsed.userinfo:
        pieces += [parsed.userinfo, *parsed.userinfo.split(":", 1)]
    if not _is_network_host(parsed.host):
        pieces += [parsed.host, parsed.port]
    path, _, query = parsed.rest.partition("?")
    query, _, fragment = query.partition("#")
    path, _, path_fragment = path.partition("#")
    pieces += [p for p in path.split("/") if p]
    pieces += [v for _, v in parse_qsl(query, keep_blank_values=False)]
    pieces += [fragment, path_fragment]
    return _with_variants(p for p in pieces if len(p) >= _MIN_SECRET_LEN)


def _with_variants(pieces: Iterable[str]) -> list[str]:
    out: set[str] = set()
    for piece in pieces:
        out.update({piece, unquote(piece), quote(piece, safe="")})
    return sorted(s for s in out if len(s) >= _MIN_SECRET_LEN)


def secret_strings(secrets: Iterable[str], urls: Iterable[str] = ()) -> set[str]:
    """Everything to mask for these secret values and notify URLs, in every form it may appear.

    A secret that is a URL (``gamma_url: !env …``) is also masked piecewise (credentials, path
    segments, query values), since error texts name the URL a request failed on with extra path
    and query appended. JSON-escaped forms cover documents served as JSON.
    """
    out: set[str] = set()
    notify = set(urls)
    for value in [*secrets, *notify]:
        if not value:
            continue
        pieces = {value, *url_secrets(value)} if "://" in value else {value}
        if value not in notify:
            # An API URL's path words ("ws/market", "api/data") are public and everywhere (job
            # names, JSON keys, metric names): masking them would break the documents, not
            # protect anything. A notify URL's segments are its token, so they stay masked.
            pieces = {p for p in pieces if p == value or not _PUBLIC_WORD.fullmatch(p)}
        for piece in pieces:
            out.update(
                {piece, json.dumps(piece)[1:-1], json.dumps(piece, ensure_ascii=False)[1:-1]}
            )
    return {s for s in out if s}


class RedactingFilter(logging.Filter):
    """Masks known secret strings in a record's message, arguments and traceback text.

    Never drops a record. Attach it to handlers (it then covers every logger that propagates to
    them) and to loggers that log secrets themselves (a logger's filter only sees records created
    by that logger, but it rewrites them in place, so every handler downstream sees the mask).
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets: frozenset[str] = frozenset()
        self._pattern: re.Pattern[str] | None = None
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        merged = self._secrets | {s for s in secrets if s}
        if merged == self._secrets:
            return
        # Longest first so a secret containing another is masked whole, not piecewise.
        ordered = sorted(merged, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(s) for s in ordered))
        self._secrets = frozenset(merged)

    def redact(self, text: str) -> str:
        pattern = self._pattern
        return pattern.sub(MASK, text) if pattern is not None else text

    def filter(self, record: logging.LogRecord) -> bool:
        if self._pattern is None:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: let the handler report it as usual
            return True
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        self._redact_traceback(record)
        return True

    def _redact_traceback(self, record: logging.LogRecord) -> None:
        # Exception messages carry URLs too (requests' ConnectionError names the full URL), so
        # format the traceback now, while the filter can still see it.
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)


# One process-wide filter, so secrets added by the runtime and by each Notifier all apply
# everywhere it is attached.
_REDACTOR = RedactingFilter()


def install_redaction(secrets: Iterable[str]) -> RedactingFilter:
    """Add secrets to the process-wide filter and make sure it is attached. Idempotent.

    Attaches to the root logger, its current handlers, and the loggers that print notify URLs.
    Call again after reconfiguring logging handlers.
    """
    _REDACTOR.add(secrets)
    root = logging.getLogger()
    targets: list[logging.Filterer] = [root, *root.handlers]
    targets += [logging.getLogger(name) for name in _URL_LOGGERS]
    for target in targets:
        if _REDACTOR not in target.filters:
            target.addFilter(_REDACTOR)
    return _REDACTOR


# --- messages --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EdgeMessage:
    kind: str  # "open", "update" or "close"
    edge_id: str | None
    city: str
    date: dt.date
    bucket: str  # label as published, e.g. "44-45°F"
    side: str  # "YES" / "NO"
    price: str  # exact decimal ask, e.g. "0.41"
    size: str  # shares available at that price
    prob: float  # probability that this side pays
    edge: float  # per share, after the taker fee
    reason: str = ""  # why a close happened
    edge_kind: str = "bucket"  # "bucket", or "ladder": side YES = buy every YES, NO = sell them

    @classmethod
    def from_quote(
        cls,
        kind: str,
        edge_id: str | None,
        event: TemperatureEvent,
        market: BucketMarket,
        q: Quote,
        reason: str = "",
    ) -> EdgeMessage:
        return cls(
            kind=kind,
            edge_id=edge_id,
            city=event.city,
            date=event.date,
            bucket=market.label,
            side=q.side.value,
            price=from_micros(q.price),
            size=from_micros(q.size),
            prob=q.prob,
            edge=q.edge,
            reason=reason,
        )


def format_edge(message: EdgeMessage) -> tuple[str, str]:
    """(title, body) of a notification. Pure.

    A close caused by a vanished ask has no quote: pass ``price=""`` and a NaN ``prob``/``edge``
    and those lines are left out rather than printed as blanks or "nan%".
    """
    m = message
    if m.edge_kind == "ladder":
        return _format_ladder(m)
    where = f"{m.city} {m.date.isoformat()} {m.bucket}"
    if m.kind == "close" or not m.price:
        title = f"Edge {'closed' if m.kind == 'close' else m.kind}: {where} {m.side}"
    else:
        title = f"Edge {m.kind}: {where} {m.side} @ {m.price}"
    lines = [f"{m.city}, {m.date.isoformat()}, bucket {m.bucket}"]
    if m.price:
        verb = "Was offered" if m.kind == "close" else "Buy"
        lines.append(f"{verb} {m.side} at {m.price} ({m.size} shares at that price)")
    if math.isfinite(m.prob) and math.isfinite(m.edge):
        lines.append(f"Probability {m.prob:.1%}, edge {m.edge:+.4f} per share after fees")
    if m.reason:
        lines.append(f"{'Opened' if m.kind == 'open' else 'Closed'}: {m.reason}")
    return title, "\n".join(lines)


def _format_ladder(m: EdgeMessage) -> tuple[str, str]:
    """A model-free arbitrage across a whole neg-risk ladder: exactly one bucket pays 1."""
    action = "buy every YES" if m.side == "YES" else "sell every YES"
    status = "closed" if m.kind == "close" else m.kind
    title = f"Ladder edge {status}: {m.city} {m.date.isoformat()} {action}"
    if m.price:
        title += f" for {m.price}"
    lines = [f"{m.city}, {m.date.isoformat()}, {m.bucket}"]
    if m.price:
        total = "best asks sum" if m.side == "YES" else "best bids sum"
        lines.append(f"{action.capitalize()}: the {total} to {m.price} after fees per set")
        lines.append(f"{m.size} sets available at those prices")
    if math.isfinite(m.edge):
        lines.append(f"Edge {m.edge:+.4f} per set, whatever the weather")
    if m.reason:
        lines.append(f"{'Opened' if m.kind == 'open' else 'Closed'}: {m.reason}")
    return title, "\n".join(lines)


# --- notifier --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Target:
    label: str  # "target 1 (json)": safe for logs and the database
    apprise: apprise.Apprise


@dataclass(frozen=True, slots=True)
class _Outcome:
    ok: bool
    attempts: int
    error: str | None


def _status(result: object) -> str:
    status = getattr(result, "status", None)
    return getattr(status, "name", None) or ("SUCCESS" if result else "FAILURE")


class Notifier:
    """Delivers EdgeMessages to apprise URLs from its own task.

    ``retries`` is the number of extra attempts per target after the first; the wait doubles
    from ``backoff_s``. ``store`` receives one NotificationResult per message (e.g. Store.submit).
    """

    def __init__(
        self,
        urls: Sequence[str],
        *,
        store: Callable[[NotificationResult], None] | None = None,
        retries: int = 3,
        backoff_s: float = 1.0,
        timeout_s: float = 15.0,
        max_queue: int = 1000,
    ) -> None:
        # Before add(): apprise logs the URL when it cannot parse one.
        install_redaction(s for url in urls for s in url_secrets(url))
        self._targets = [t for i, url in enumerate(urls, 1) if (t := _make_target(i, url))]
        self._store = store
        self._retries = max(0, retries)
        self._backoff_s = backoff_s
        self._timeout_s = timeout_s
        self._max_queue = max_queue
        # Unbounded underneath so close() can always enqueue its stop marker; send() enforces
        # max_queue itself.
        self._queue: asyncio.Queue[EdgeMessage | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._running = False
        self._closing = False
        self._in_flight = 0
        self.sent = 0
        self.failed = 0
        self.dropped = 0

    @property
    def enabled(self) -> bool:
        return bool(self._targets)

    def set_urls(self, urls: Sequence[str], retries: int) -> None:
        """New targets (a config reload): the next message goes to these; queued ones too."""
        install_redaction(s for url in urls for s in url_secrets(url))
        self._targets = [t for i, url in enumerate(urls, 1) if (t := _make_target(i, url))]
        self._retries = max(0, retries)

    def send(self, message: EdgeMessage) -> None:
        """Queue a message. Never blocks, never raises."""
        if not self._targets:
            return
        if self._closing:
            self._drop(message, "notifier is closed")
        elif self._queue.qsize() >= self._max_queue:
            self._drop(message, "queue full")
        else:
            self._queue.put_nowait(message)

    def start(self) -> asyncio.Task[None]:
        """Run the delivery loop on a task owned by the notifier (cancelled by close)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run(), name="notifier")
        return self._task

    async def run(self) -> None:
        """Deliver queued messages until close(). Use start(), or await this on your own task."""
        self._running = True
        try:
            while (message := await self._queue.get()) is not None:
                self._in_flight = 1
                try:
                    await self._deliver(message)
                except Exception:  # a bug here must not end deliveries
                    logger.exception("notifier: unexpected error delivering %s", message.edge_id)
                finally:
                    self._in_flight = 0
                    self._queue.task_done()
            self._queue.task_done()
        finally:
            self._running = False

    async def close(self, grace_s: float = 5.0) -> None:
        """Deliver what is queued within ``grace_s`` seconds, then stop. Idempotent."""
        if self._closing:
            return
        self._closing = True
        if not self._running and not self._queue.empty():
            self.start()
        if self._running or self._task is not None:
            try:
                await asyncio.wait_for(self._queue.join(), grace_s)
            except TimeoutError:
                self._abandon_queue()
        self._queue.put_nowait(None)  # ends a run() awaited on someone else's task
        if self._task is not None:
            self._task.cancel()  # only our own task; a no-op if it already ended
            await asyncio.wait([self._task])

    def _abandon_queue(self) -> None:
        left = self._in_flight
        while not self._queue.empty():
            if self._queue.get_nowait() is not None:
                left += 1
            self._queue.task_done()
        self.dropped += left
        logger.warning("notifier closed with %d message(s) undelivered", left)

    def _drop(self, message: EdgeMessage, why: str) -> None:
        self.dropped += 1
        logger.warning("notification for edge %s dropped: %s", message.edge_id, why)

    async def _deliver(self, message: EdgeMessage) -> None:
        title, body = format_edge(message)
        outcomes = await asyncio.gather(*(self._send_to(t, title, body) for t in self._targets))
        ok = all(o.ok for o in outcomes)
        if ok:
            self.sent += 1
        else:
            self.failed += 1
        errors = [
            f"{t.label}: {o.error}"
            for t, o in zip(self._targets, outcomes, strict=True)
            if not o.ok
        ]
        self._record(
            NotificationResult(
                edge_id=message.edge_id,
                kind=message.kind,
                title=title,
                body=body,
                sent_at=dt.datetime.now(dt.UTC),
                ok=ok,
                attempts=max(o.attempts for o in outcomes),
                error="; ".join(errors) or None,
            )
        )

    async def _send_to(self, target: _Target, title: str, body: str) -> _Outcome:
        total = self._retries + 1
        detail = ""
        for attempt in range(1, total + 1):
            detail = await self._attempt(target, title, body)
            if not detail:
                return _Outcome(True, attempt, None)
            logger.warning(
                "notification to %s failed (attempt %d/%d): %s",
                target.label,
                attempt,
                total,
                detail,
            )
            if attempt < total:
                await asyncio.sleep(self._backoff_s * 2 ** (attempt - 1))
        return _Outcome(False, total, f"{detail} after {total} attempt(s)")

    async def _attempt(self, target: _Target, title: str, body: str) -> str:
        """Empty string on success, else a short failure description free of URLs."""
        try:
            result = await target.apprise.async_notify(
                body=body, title=title, notify_type=apprise.NotifyType.INFO, timeout=self._timeout_s
            )
        except Exception as exc:  # apprise reports by return value; this is belt and braces
            return type(exc).__name__
        return "" if result else _status(result)

    def _record(self, result: NotificationResult) -> None:
        if self._store is None:
            return
        try:
            self._store(result)
        except Exception:
            logger.exception("notifier: recording the result failed")


def _make_target(index: int, url: str) -> _Target | None:
    scheme = url.partition("://")[0] if "://" in url else "?"
    label = f"target {index} ({scheme})"
    # Memory-only storage: apprise would otherwise cache plugin state on disk.
    apobj = apprise.Apprise(asset=apprise.AppriseAsset(storage_mode="memory"))
    if not apobj.add(url):
        logger.error("notify %s is not a usable apprise URL (%s); ignored", label, redact_url(url))
        return None
    logger.info("notify %s: %s", label, redact_url(url))
    return _Target(label, apobj)

"""Secrets kept out of logs: notify URLs and configured secrets masked on every log record.

Apprise URLs carry credentials (``discord://id/token``, ``json://host/secret-path``) and apprise,
urllib3 and requests all log URLs at DEBUG. Redaction therefore happens on log *records* at the
loggers that create them (so every handler, including ones added later, sees masked text) and on
the root handlers for everything else. See :func:`install_redaction`.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote

MASK = "****"
# Shorter fragments (a path like "/api/") are not secrets, and masking them would shred every log
# line that happens to contain them.
_MIN_SECRET_LEN = 5
# A lower-case word shorter than any token worth the name: a path segment like "market".
_PUBLIC_WORD = re.compile(r"[a-z][a-z_-]{0,14}")
# Loggers that print request URLs from inside the notification call. A filter on a logger only
# sees records created by that exact logger, so they are listed one by one.
_URL_LOGGERS = ("apprise", "urllib3.connectionpool", "urllib3.util.retry", "requests")


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

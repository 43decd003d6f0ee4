"""Turning queued tape items into JSON lines (in the writer thread, never on the hot path).

Every line is one JSON object with ``wall_ns`` (UTC wall clock), ``mono_ns`` (the monotonic
clock, comparable within one ``session``), ``kind`` and the kind's own fields: docs/tape.md.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import re
import urllib.parse
from collections.abc import Iterable
from typing import Any

import msgspec

# Query parameters whose values are credentials (CWA's Authorization, api keys, signatures).
_SECRET_PARAM = re.compile(r"key|token|secret|auth|sig|pass|credential", re.IGNORECASE)


def scrub_url(url: str, secrets: Iterable[str] = ()) -> str:
    """The URL with credential-looking query values and any known secret replaced by ``***``."""
    try:
        parts = urllib.parse.urlsplit(url)
        query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    except ValueError:
        return "<unparseable url>"
    clean = [(k, "***" if _SECRET_PARAM.search(k) else v) for k, v in query]
    netloc = parts.netloc.rsplit("@", 1)[-1]  # user:password@host
    out = urllib.parse.urlunsplit(
        (parts.scheme, netloc, parts.path, urllib.parse.urlencode(clean), "")
    )
    for secret in secrets:
        if secret and len(secret) >= 4:
            out = out.replace(secret, "***").replace(urllib.parse.quote(secret, safe=""), "***")
    return out


_ENVELOPE = frozenset({"wall_ns", "mono_ns", "kind"})


def _hook(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    if isinstance(obj, enum.Enum):
        return obj.value
    return str(obj)


_encoder = msgspec.json.Encoder(enc_hook=_hook, decimal_format="string")


def put_payload(line: dict[str, Any], name: str, data: str | bytes | None) -> None:
    """``name`` holds text as received; bytes that are not UTF-8 go to ``name_b64``."""
    if data is None:
        return
    if isinstance(data, bytes | bytearray | memoryview):
        try:
            line[name] = bytes(data).decode()
        except UnicodeDecodeError:
            line[f"{name}_b64"] = base64.b64encode(bytes(data)).decode()
        return
    line[name] = data


def encode(wall_ns: int, mono_ns: int, kind: str, fields: Any) -> bytes:
    """One JSON line (with its newline) for a queued item."""
    line: dict[str, Any] = {"wall_ns": wall_ns, "mono_ns": mono_ns, "kind": kind}
    if kind == "frame":  # the common case, queued as a tuple to keep record() cheap
        shard, epoch, raw = fields
        line["shard"], line["epoch"] = shard, epoch
        put_payload(line, "raw", raw)
    elif kind == "http":
        line.update(fields)
        put_payload(line, "body", line.pop("body", None))
    elif isinstance(fields, dict) and not _ENVELOPE.intersection(fields):
        line.update(fields)
    elif dataclasses.is_dataclass(fields):
        line["type"] = type(fields).__name__
        line["data"] = fields
    elif fields is not None:
        line["data"] = fields
    try:
        return _encoder.encode(line) + b"\n"
    except (TypeError, ValueError, OverflowError) as err:
        # A record the encoder cannot express must not stop the tape: keep its shape.
        bad = {"wall_ns": wall_ns, "mono_ns": mono_ns, "kind": "unencodable", "of": kind}
        bad["error"] = f"{type(err).__name__}: {err}"[:200]
        return _encoder.encode(bad) + b"\n"

"""One owner per token: which events may share a catalogue.

A token id (and a market or condition id) names one bucket of one event. An event listing
another event's tokens would make the engine price that event's books with the wrong ladder,
and an event reusing one token across its own buckets would price one book as several; both
are refused with a reason rather than "last writer wins".

Who keeps a contested id: the event that already owns it in the running catalogue, else the
oldest event (lowest numeric Gamma id, then listing order). A copy is necessarily created after
the event it copies, so the answer does not depend on page order or on a restart.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from weatheredge.model.market import TemperatureEvent


def _claims(event: TemperatureEvent) -> list[tuple[str, str]]:
    """(kind, id) of every identifier the event's markets claim."""
    out: list[tuple[str, str]] = []
    for m in event.markets:
        out += [("market", m.market_id), ("condition", m.condition_id)]
        out += [("token", m.yes_token), ("token", m.no_token)]
    return out


def _short(ident: str) -> str:
    return ident if len(ident) <= 16 else f"{ident[:12]}…"


def self_reuse(event: TemperatureEvent) -> str | None:
    """Why the event reuses one of its ids across its own buckets (YES == NO included), or None."""
    seen: set[tuple[str, str]] = set()
    for claim in _claims(event):
        if claim in seen:
            return f"{claim[0]} {_short(claim[1])} used twice within the event"
        seen.add(claim)
    return None


def _age_key(event: TemperatureEvent) -> float:
    return int(event.event_id) if event.event_id.isdecimal() else math.inf


def unique_owners(
    events: Iterable[TemperatureEvent], owner_of: Callable[[str], str | None] = lambda _t: None
) -> tuple[list[TemperatureEvent], list[tuple[str, str]]]:
    """Keep the events whose ids no other kept event holds; the rest as (slug, reason).

    ``owner_of(token)`` names the event that owns a token in the running catalogue (if any).
    Kept events come back in their input order.
    """
    listed = list(events)
    rejected: list[tuple[str, str]] = []

    def incumbent(event: TemperatureEvent) -> bool:
        return any(owner_of(m.yes_token) == event.event_id for m in event.markets)

    ranked = sorted(enumerate(listed), key=lambda ie: (not incumbent(ie[1]), _age_key(ie[1])))
    owners: dict[tuple[str, str], TemperatureEvent] = {}
    keep: set[int] = set()
    ids: dict[str, TemperatureEvent] = {}
    for index, event in ranked:
        if (twin := ids.get(event.event_id)) is not None:
            rejected.append((event.slug, f"event id {event.event_id} also used by {twin.slug}"))
            continue
        if reason := self_reuse(event):
            rejected.append((event.slug, reason))
            continue
        claims = _claims(event)
        clash = next((c for c in claims if c in owners), None)
        if clash is not None:
            owner = owners[clash].slug
            rejected.append((event.slug, f"{clash[0]} {_short(clash[1])} belongs to {owner}"))
            continue
        ids[event.event_id] = event
        owners.update(dict.fromkeys(claims, event))
        keep.add(index)
    return [e for i, e in enumerate(listed) if i in keep], rejected

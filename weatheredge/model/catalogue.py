"""One owner per token: which events may share a catalogue.

A token id (and a market or condition id) names one bucket of one event. An event listing
another event's tokens would make the engine price that event's books with the wrong ladder,
and an event reusing one token across its own buckets would price one book as several; both
are refused with a reason rather than "last writer wins".

Who keeps a contested id: the event that already owns it in the running catalogue, else the
oldest event (lowest numeric Gamma id, then listing order). A copy is necessarily created after
the event it copies, so the answer does not depend on page order or on a restart. But the id is
the venue's to write: a copy listing the same condition ids too, met before either is
established, leaves neither priced (the engine also drops a book the venue files under another
condition id than its claimant's, which catches a copy that kept its own).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from weatheredge.model.market import TemperatureEvent

_KINDS = ("market", "condition", "token")
Ids = tuple[list[str], list[str], list[str]]


def _ids(event: TemperatureEvent) -> Ids:
    """(market ids, condition ids, token ids) the event's buckets claim."""
    markets = event.markets
    tokens = [t for m in markets for t in (m.yes_token, m.no_token)]
    return [m.market_id for m in markets], [m.condition_id for m in markets], tokens


def _short(ident: str) -> str:
    return ident if len(ident) <= 16 else f"{ident[:12]}…"


def _reused(ids: Ids) -> str | None:
    for kind, group in zip(_KINDS, ids, strict=True):
        if len(set(group)) != len(group):
            dup = next(x for n, x in enumerate(group) if x in group[:n])
            return f"{kind} {_short(dup)} used twice within the event"
    return None


def self_reuse(event: TemperatureEvent) -> str | None:
    """Why the event reuses one of its ids across its own buckets (YES == NO included), or None."""
    return _reused(_ids(event))


def _age_key(event: TemperatureEvent) -> float:
    return int(event.event_id) if event.event_id.isdecimal() else math.inf


def unique_owners(
    events: Iterable[TemperatureEvent], owner_of: Callable[[str], str | None] | None = None
) -> tuple[list[TemperatureEvent], list[tuple[str, str]]]:
    """Keep the events whose ids no other kept event holds; the rest as (slug, reason).

    ``owner_of(token)`` names the event that owns a token in the running catalogue (if any).
    Kept events come back in their input order.
    """
    listed = list(events)
    ids = [_ids(e) for e in listed]

    def rank(i: int) -> tuple[bool, float]:
        event = listed[i]
        mine = owner_of is not None and any(
            owner_of(t) == event.event_id for t in ids[i][2][::2]
        )  # YES tokens
        return not mine, _age_key(event)

    owners: tuple[dict[str, str], ...] = ({}, {}, {})  # per kind: id -> owning slug
    condition_of: dict[str, int] = {}  # condition id -> index of the kept event listing it
    by_id: dict[str, str] = {}
    keep: list[int] = []
    rejected: list[tuple[str, str]] = []
    copied: dict[int, str] = {}  # kept, but a full copy came with it: index -> the copy's slug
    for i in sorted(range(len(listed)), key=rank):
        event, mine = listed[i], ids[i]
        reason = _reused(mine)
        if (twin := by_id.get(event.event_id)) is not None:
            reason = f"event id {event.event_id} also used by {twin}"
        for kind, group, owned in zip(_KINDS, mine, owners, strict=True):
            if reason is None and not owned.keys().isdisjoint(group):
                taken = next(x for x in group if x in owned)
                reason = f"{kind} {_short(taken)} belongs to {owned[taken]}"
        if reason is not None:
            rejected.append((event.slug, reason))
            # The same condition ids too, and the holder not yet established: the venue files
            # both events' books alike, so only the Gamma id ranks them, and a copy can pick a
            # lower one. Neither is priced until one of them is gone.
            holders = {condition_of[c] for c in mine[1] if c in condition_of}
            copied.update((j, event.slug) for j in holders if rank(j)[0])
            continue
        for group, owned in zip(mine, owners, strict=True):
            owned.update(dict.fromkeys(group, event.slug))
        condition_of.update(dict.fromkeys(mine[1], i))
        by_id[event.event_id] = event.slug
        keep.append(i)
    for j, copy in copied.items():
        keep.remove(j)
        rejected.append((listed[j].slug, f"its markets are listed by {copy} too; neither priced"))
    keep.sort()
    return [listed[i] for i in keep], rejected

"""The trader's two small shared states: why it is halted, and what it has counted."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

MANUAL, AUTO = "manual", "auto"


class Halts:
    """Halt reasons by kind (``manual`` from the operator, ``auto`` from feed health)."""

    def __init__(self) -> None:
        self._reasons: dict[str, str] = {}

    def __bool__(self) -> bool:
        return bool(self._reasons)

    def __contains__(self, kind: str) -> bool:
        return kind in self._reasons

    def set(self, kind: str, reason: str) -> bool:
        """Record a halt; True when trading was running until now."""
        first = not self._reasons
        self._reasons[kind] = reason
        return first

    def release(self, kind: str) -> bool:
        """Drop a halt of this kind; False when there was none."""
        return self._reasons.pop(kind, None) is not None

    def reason(self) -> str:
        return "; ".join(self._reasons.values())

    def view(self) -> Mapping[str, str]:
        return MappingProxyType(self._reasons)


class Counters:
    """Named event counts, reported in the trader's status."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}

    def add(self, name: str) -> None:
        self._counts[name] = self._counts.get(name, 0) + 1

    def view(self) -> Mapping[str, int]:
        return MappingProxyType(self._counts)

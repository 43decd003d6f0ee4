"""The building blocks every settings section shares: the strict section base, the bounded
number and URL types, and the run mode."""

from __future__ import annotations

import enum
from typing import Annotated

import msgspec

# Any duration above a year is a typo, and huge ones overflow the scheduler's date arithmetic.
YEAR_S = 366 * 86400.0
Probability = Annotated[float, msgspec.Meta(ge=0.0, lt=1.0)]
Seconds = Annotated[float, msgspec.Meta(gt=0, le=YEAR_S)]
Seconds0 = Annotated[float, msgspec.Meta(ge=0, le=YEAR_S)]  # 0 switches the feature off
Port = Annotated[int, msgspec.Meta(ge=0, le=65535)]
Url = Annotated[str, msgspec.Meta(pattern=r"^(https?|wss?)://[^\s/]+")]


class Mode(enum.StrEnum):
    DRY_RUN = "dry_run"
    PAPER = "paper"
    LIVE = "live"


class Section(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """A config section: frozen, keyword-only, and an unknown key is an error."""

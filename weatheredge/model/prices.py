"""Exact prices and sizes.

Polymarket sends prices and sizes as decimal strings ("0.41", ".48", "55.5"). We keep them as
integers in micro-units (1e-6) so that comparisons and tick-grid checks are exact and cheap on the
hot path. 1e-6 covers every tick the CLOB supports (finest 0.0001) and the 6-decimal pUSD amounts.
"""

from __future__ import annotations

MICRO = 1_000_000
# No order book holds a trillion shares of one bucket; a size beyond this is a broken or hostile
# feed (a 29-digit size once entered a book), so it is refused rather than priced.
MAX_SIZE_MICROS = 10**12 * MICRO
_DIGITS = frozenset("0123456789")


def to_micros(text: str) -> int:
    """Parse a non-negative decimal string into integer micro-units, exactly.

    Raises ValueError for anything that is not a plain decimal with at most 6 fraction digits
    (no sign, exponent, whitespace, NaN or infinity).
    """
    whole, dot, frac = text.partition(".")
    if not whole and not frac:
        raise ValueError(f"not a decimal: {text!r}")
    if (whole and not _DIGITS.issuperset(whole)) or (frac and not _DIGITS.issuperset(frac)):
        raise ValueError(f"not a decimal: {text!r}")
    if dot and not frac:
        raise ValueError(f"not a decimal: {text!r}")
    if len(frac) > 6:
        stripped = frac.rstrip("0")
        if len(stripped) > 6:
            raise ValueError(f"more than 6 decimals: {text!r}")
        frac = stripped
    return int(whole or "0") * MICRO + int(frac.ljust(6, "0") or "0")


def from_micros(value: int) -> str:
    """Render micro-units as the shortest exact decimal string ("0.41", "5", "0.001", "-0.41")."""
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(value), MICRO)  # divmod on a negative floors: -1 -> (-1, 999999)
    if not frac:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{frac:06d}".rstrip("0")


def on_tick_grid(price: int, tick: int) -> bool:
    """True when the price is a multiple of the tick and within [tick, 1 - tick]."""
    return tick > 0 and price % tick == 0 and tick <= price <= MICRO - tick

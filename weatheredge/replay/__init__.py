"""Replay a tape through the same decision code on a virtual clock (docs/tape.md, "Replay")."""

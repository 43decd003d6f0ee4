"""Exceptions named by what must happen next, not by where they came from."""

from __future__ import annotations


class WeatherEdgeError(Exception):
    """Base of every error weatheredge raises on purpose."""


class ConfigError(WeatherEdgeError):
    """The configuration is invalid; a human must fix it. Carries every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class StartupError(WeatherEdgeError):
    """The daemon cannot start (port busy, database unusable); one line says why and what to
    change. Raised before anything is migrated, fetched or traded."""

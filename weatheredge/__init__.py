"""weatheredge: real-time edges on Polymarket daily-temperature markets."""

__version__ = "0.1.0"

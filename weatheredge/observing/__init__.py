"""Observations: fetching each station's reports from its official feeds, and the settling rule
(which reports count) learnt per station."""

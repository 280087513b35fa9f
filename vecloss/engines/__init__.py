"""Engines: interchangeable ways of computing the same loss column."""

from __future__ import annotations

from vecloss.engines.vectorized import vectorized_losses

__all__ = ["vectorized_losses"]

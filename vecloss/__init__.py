"""vecloss: projected losses for portfolios of buildings, in one vectorized pass.

>>> import vecloss
>>> frame = vecloss.read("examples/data.json")
>>> out = vecloss.losses(frame, formula="complex", years=10, discount_rate=0.05)
>>> round(out["loss"].sum(), 6)
517.80395
"""

from __future__ import annotations

from vecloss.exceptions import InputError, UsageError, ValidationError, VeclossError
from vecloss.namespace import loss
from vecloss.pipeline import Summary, run
from vecloss.portfolio import losses, read

__version__ = "0.1.0"

__all__ = [
    "InputError",
    "Summary",
    "UsageError",
    "ValidationError",
    "VeclossError",
    "__version__",
    "loss",
    "losses",
    "read",
    "run",
]

"""vecloss: projected losses for portfolios of buildings, in one vectorized pass.

>>> import vecloss
>>> frame = vecloss.read("examples/data.json")
>>> out = vecloss.losses(frame, formula="complex", years=10, discount_rate=0.05)
>>> round(out["loss"].sum(), 6)
517.80395
"""

from __future__ import annotations

from vecloss.api import losses, read
from vecloss.exceptions import (
    InputError,
    PercentageWarning,
    UsageError,
    ValidationError,
    VeclossError,
)
from vecloss.formulas import Formula
from vecloss.namespace import loss, unchecked_loss
from vecloss.risk import RiskResult, risk, simulate
from vecloss.run.runner import run
from vecloss.run.summary import Summary
from vecloss.scenario import Scenario
from vecloss.schema import Column
from vecloss.synthetic import generate, portfolio
from vecloss.validation import Report, validate

__version__ = "0.1.0"

__all__ = [
    "Column",
    "Formula",
    "InputError",
    "PercentageWarning",
    "Report",
    "RiskResult",
    "Scenario",
    "Summary",
    "UsageError",
    "ValidationError",
    "VeclossError",
    "__version__",
    "generate",
    "loss",
    "losses",
    "portfolio",
    "read",
    "risk",
    "run",
    "simulate",
    "unchecked_loss",
    "validate",
]

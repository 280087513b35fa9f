"""Beyond the expected loss: seeded year-loss simulation, AAL, exceedance curves, VaR and TVaR.

See :func:`vecloss.risk.api.risk` and :func:`vecloss.risk.api.simulate`; the
definitions are in the README ("Risk: AAL, EP curves, VaR and TVaR").
"""

from __future__ import annotations

from vecloss.risk.api import DEFAULT_PERIODS, RETURN_PERIODS, risk, simulate
from vecloss.risk.result import EP_TYPES, RiskResult

__all__ = ["DEFAULT_PERIODS", "EP_TYPES", "RETURN_PERIODS", "RiskResult", "risk", "simulate"]

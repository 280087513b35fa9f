"""Hypothesis strategies for the valid domain of the portfolio schema."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from vecloss.formulas import names

# Ranges wide enough to cover every realistic portfolio and far beyond, while
# keeping each loss finite (i * A / 1000 <= 100; (1 + d)**T well inside float64)
# and every nonzero loss a normal float: below ~1e-308 float64 has no relative
# precision to compare, so costs and probabilities are 0 or well above it.
floor_areas = st.floats(1e-3, 1e5, allow_nan=False)
costs = st.just(0.0) | st.floats(1e-2, 1e9, allow_nan=False)
probabilities = st.just(0.0) | st.floats(1e-12, 1.0, allow_nan=False)
inflation_rates = st.floats(-0.999, 1.0, allow_nan=False)
years = st.integers(0, 100) | st.sampled_from([0, 1, 10, 30])
discount_rates = st.floats(-0.9, 1.0, allow_nan=False) | st.sampled_from([0.0, 0.03, 0.05])
formulas = st.sampled_from(names())  # every formula of the registry


@st.composite
def portfolios(draw: st.DrawFn, *, min_rows: int = 0, max_rows: int = 50) -> pl.DataFrame:
    """A valid portfolio frame with unique integer ids."""
    rows = draw(st.integers(min_rows, max_rows))

    def column(elements: st.SearchStrategy[float]) -> np.ndarray:
        return draw(hnp.arrays(np.float64, rows, elements=elements))

    return pl.DataFrame(
        {
            "buildingId": np.arange(1, rows + 1, dtype=np.int64),
            "floor_area": column(floor_areas),
            "construction_cost": column(costs),
            "hazard_probability": column(probabilities),
            "inflation_rate": column(inflation_rates),
        }
    )

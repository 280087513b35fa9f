"""``vecloss.validate``: every problem of a portfolio, as frames, without computing losses."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from vecloss.checks.ids import SeenIds
from vecloss.checks.log import FailureLog
from vecloss.display import counted, html_table
from vecloss.frames import to_polars
from vecloss.io.source import frame_source, open_source
from vecloss.run.worker import HeldRejects, Job, usable_batches
from vecloss.scenario import FormulaArg, Rates, Scenario, Years
from vecloss.schema import REQUIRED

__all__ = ["Report", "validate"]


@dataclass
class Report:
    """What :func:`validate` found.

    ``failures``: one row per (reason, column) with ``count``, the first
    ``examples`` (a list) and a ``hint``. ``rejected``: every bad row with its
    original values, its ``row`` number (from 1) and ``reason``, in the kind of frame that
    came (pandas, a pyarrow Table or RecordBatch, Polars; Polars for a file). ``rows`` is
    every row read; ``rows - bad`` are good.
    """

    input: str
    rows: int
    failures: pl.DataFrame = field(repr=False)
    rejected: Any = field(repr=False)
    log: FailureLog = field(default_factory=FailureLog, repr=False)  # the lines the CLI prints

    @property
    def bad(self) -> int:
        """How many rows break the schema."""
        return len(self.rejected)

    @property
    def valid(self) -> bool:
        """Whether every row passes."""
        return self.bad == 0

    @property
    def breaking(self) -> str:
        """``"2 of 5 rows break the schema"`` (``"1 of 5 rows breaks ..."``)."""
        verb = "breaks" if self.bad == 1 else "break"
        return f"{self.bad:,} of {counted(self.rows, 'row')} {verb} the schema"

    def _headline(self) -> str:
        if self.valid:
            return f"{self.input}: {counted(self.rows, 'row')}, no problems"
        return (
            f"{self.input}: {self.breaking} "
            f"({self.failures.height} kind{'s' if self.failures.height > 1 else ''} of problem)"
        )

    def __repr__(self) -> str:
        if self.valid:
            return f"Report({self._headline()})"
        with pl.Config(tbl_hide_dataframe_shape=True, fmt_str_lengths=60, tbl_width_chars=120):
            return f"Report({self._headline()})\n{self.failures}"

    def plot(self, *, ax: Any = None, **options: Any) -> Any:
        """Rows per broken rule (see :func:`vecloss.plots.plot_report`); returns the Axes."""
        from vecloss.plots import plot_report

        return plot_report(self, ax=ax, **options)

    def _repr_html_(self) -> str:
        parts = [f"<p><b>vecloss validate</b>: {html.escape(self._headline())}</p>"]
        if not self.valid:
            parts += [html_table(self.failures, total=["count"]), "<p>First rejected rows</p>"]
            rejected = self.rejected
            if not isinstance(rejected, pl.DataFrame):  # (pandas or pyarrow: shown the same way)
                rejected = pl.DataFrame(
                    pl.from_pandas(rejected)
                    if hasattr(rejected, "iloc")
                    else pl.from_arrow(rejected)
                )
            parts.append(html_table(rejected, rows=10))
        return "".join(parts)


def validate(
    data: Any,
    *,
    formula: FormulaArg = "complex",
    years: Years = 10,
    discount_rate: Rates = 0.05,
    table: str | None = None,
    query: str | None = None,
) -> Report:
    """Check every row of ``data`` (a frame, or any source :func:`vecloss.run` reads);
    return a :class:`Report`, never raise for bad rows.

    The model parameters matter only for the one rule that depends on them: a
    loss that overflows float64. Missing or unusable columns still raise
    :class:`~vecloss.InputError` (there are no rows to report without them).
    """
    scenario = Scenario.parse(formula, years, discount_rate)
    keep: tuple[str, ...] = ()
    given = None
    if isinstance(data, str | Path):
        src, strings = open_source(data, table=table, query=query), True
    else:  # a frame: its numbers must be numbers; its rejected rows keep every column
        given = to_polars(data, "validate()")
        frame = given.polars
        src, strings = frame_source(frame), False
        keep = tuple(c for c in frame.columns if c not in REQUIRED)
    job = Job(scenario, source=src.name, keep=keep, on_invalid="skip", strings=strings)
    log, held, seen = FailureLog(numeric=scenario.spec.numeric), HeldRejects(), SeenIds()
    rows = 0
    for part in src.parts():
        for batch, _ in usable_batches(part, job, seen=seen, log=log, rejects=held, progress=None):
            rows += batch.valid.height + batch.rejected.height
    bad = held.frame()
    rejected = pl.DataFrame() if bad is None else bad
    if given is not None:  # the kind of frame that came: pandas, pyarrow or Polars
        rejected = given.back(rejected)
    # (the columns in the order ValidationError.failures has them)
    return Report(src.name, rows, log.frame(), rejected, log)

"""The frame adapter: a frame from Python (Polars, pyarrow, pandas) as Polars, and back.

Every entry point that takes a frame converts it here once (:func:`to_polars`) and gives
its result back in the caller's kind (:meth:`Frame.with_loss`, :meth:`Frame.back`): the
index, dtypes and container kept. The bottom layer: it imports nothing else of vecloss
but the errors and the schema's names.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import polars as pl

from vecloss.exceptions import InputError, UsageError
from vecloss.schema import ID

__all__ = ["Frame", "text_ids", "to_polars"]


def text_ids(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with ids stored as categories (Categorical, Enum: an Arrow dictionary)
    as the strings they stand for: an id is a value, however it is stored."""
    if ID in frame.columns and isinstance(frame.get_column(ID).dtype, pl.Categorical | pl.Enum):
        return frame.with_columns(pl.col(ID).cast(pl.String))
    return frame


@dataclass(frozen=True)
class Frame:
    """A frame from Python as Polars, and how to give a result back in the caller's kind."""

    polars: pl.DataFrame
    kind: str  # polars, pyarrow-table, pyarrow-batch, pandas
    original: Any

    def with_loss(self, rows: np.ndarray | None, loss: np.ndarray) -> Any:
        """The caller's frame (only ``rows`` of it, 0-based, if given) plus ``loss``, its
        types, index and container kind kept."""
        data = self.original
        if self.kind == "polars":
            kept = data if rows is None else data[rows]
            column = pl.Series("loss", loss)
            return kept.with_columns(column) if "loss" in kept.columns else kept.hstack([column])
        if self.kind.startswith("pyarrow"):
            import pyarrow as pa  # (loaded already: a frame of it was made)

            kept = data if rows is None else data.take(pa.array(rows))
            column = pa.array(loss, pa.float64())
            if "loss" in kept.schema.names:  # replaced, as Polars and pandas do: never two
                return kept.set_column(kept.schema.get_field_index("loss"), "loss", column)
            return kept.append_column("loss", column)
        kept = data if rows is None else data.iloc[rows]
        return kept.assign(loss=loss)  # pandas: the index and every dtype as they came

    def back(self, result: pl.DataFrame) -> Any:
        """A new result frame (a grid's long table, groups) in the caller's kind."""
        if self.kind == "pyarrow-table":
            return result.to_arrow()
        if self.kind == "pyarrow-batch":
            import pyarrow as pa

            table = result.to_arrow().combine_chunks()
            arrays = [
                column.chunk(0) if column.num_chunks else pa.array([], column.type)
                for column in table.columns
            ]
            return pa.RecordBatch.from_arrays(arrays, schema=table.schema)
        if self.kind == "pandas":
            return result.to_pandas()
        return result


def to_polars(data: Any, what: str = "losses()") -> Frame:
    """``data`` as a :class:`Frame`; ids stored as categories (pandas ``category``, Polars
    ``Categorical``, Arrow dictionaries) are read as the strings they stand for."""
    given = _to_polars(data, what)
    polars = text_ids(given.polars)
    return given if polars is given.polars else replace(given, polars=polars)


def _from_pandas(frame: Any) -> pl.DataFrame:
    """A pandas frame as Polars; an :class:`InputError` naming the column when one holds values
    of several types (an object column of numbers and text), which Arrow cannot convert."""
    try:
        return pl.from_pandas(frame)
    except (ValueError, TypeError) as exc:  # (pyarrow's ArrowInvalid, ArrowTypeError)
        for name in frame.columns:  # (a column at a time, to name the one at fault)
            try:
                pl.from_pandas(frame[[name]])
            except (ValueError, TypeError):
                hint = (
                    f"give it one type: df[{name!r}].astype(str) for ids, "
                    f"pd.to_numeric(df[{name!r}]) for numbers"
                )
                msg = f"portfolio: column {name} mixes types of values ({exc}); hint: {hint}"
                raise InputError(msg) from exc
        raise


def _to_polars(data: Any, what: str) -> Frame:
    if isinstance(data, pl.DataFrame):
        return Frame(data, "polars", data)
    if isinstance(data, pl.LazyFrame):
        msg = (
            f"{what} takes an eager frame, got a Polars LazyFrame; "
            "hint: lf.vecloss.losses(...) adds the loss to the query, or call .collect() first"
        )
        raise UsageError(msg)
    module = type(data).__module__.split(".")[0]
    if module == "pyarrow":
        import pyarrow as pa  # (loaded already: a frame of it was made)

        if isinstance(data, pa.Table | pa.RecordBatch):
            frame = pl.from_arrow(data)
            kind = "pyarrow-table" if isinstance(data, pa.Table) else "pyarrow-batch"
            if isinstance(frame, pl.DataFrame):
                return Frame(frame, kind, data)
    if module == "pandas" and hasattr(data, "columns"):
        source = data
        if ID not in data.columns and ID in (data.index.names or []):
            source = data.reset_index()  # buildingId held in the (named) index
        return Frame(_from_pandas(source), "pandas", data)
    hint = "read a file with vecloss.read(path)"
    if isinstance(data, list | dict):  # (records as json.load gives them, or lists by column)
        call = what.removesuffix("()")
        hint = f"make a frame of it first, {call}(pl.DataFrame(data)), or {hint}"
    msg = (
        f"{what} takes a Polars DataFrame, a pyarrow Table or RecordBatch or a pandas DataFrame, "
        f"got {type(data).__name__}; hint: {hint}"
    )
    raise UsageError(msg)

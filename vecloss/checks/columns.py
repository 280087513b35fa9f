"""Column-level checks of a source, before any row is looked at: present, and of a usable type.

The message for a missing column is built here, once, for every caller: the
schema's columns and the columns asked for (``--keep``, ``--group-by``).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence

import polars as pl

from vecloss.exceptions import InputError
from vecloss.schema import ID, NUMERIC, REQUIRED, Column, Reason

__all__ = ["check_columns", "missing_columns"]


def missing_columns(
    missing: Sequence[str], present: Sequence[str], source: str, *, hint: str
) -> InputError:
    """The one error for absent columns: each with a near name when there is one, and a hint."""
    parts = []
    for name in missing:
        near = difflib.get_close_matches(name, present, n=1, cutoff=0.6)
        parts.append(f"{name} (did you mean {near[0]!r}?)" if near else name)
    plural = "s" if len(missing) > 1 else ""
    found = ", ".join(_shown(name) for name in present) or "no columns"
    msg = f"{source}: missing column{plural} {', '.join(parts)}; found {found}; hint: {hint}"
    return InputError(msg)


def check_columns(
    schema: Mapping[str, pl.DataType],
    source: str,
    *,
    carry: Sequence[str] = (),
    all_columns: Sequence[str] | None = None,
    numeric: Sequence[Column] = NUMERIC,
) -> None:
    """Raise :class:`InputError` if a required or carried column is absent, or unusable.

    ``carry`` are the extra columns asked for (kept or grouped by);
    ``all_columns`` lists every column of the source when ``schema`` holds only
    those that were read, so that the message can suggest near names; ``numeric`` are the
    numeric columns (the schema's, and a formula's extra columns).
    """
    present = list(all_columns if all_columns is not None else schema)
    required = [*REQUIRED, *(c.name for c in numeric if c.name not in REQUIRED)]
    missing = [name for name in required if name not in schema]
    if missing:
        hint = (
            _separator_hint(present, missing)
            or _spaces_hint(present, missing)
            or (
                Reason.MISSING_COLUMN.hint
                if present
                else "it holds no buildings at all (an empty array or table): give it the portfolio"
            )
        )
        raise missing_columns(missing, present, source, hint=hint)
    absent = [name for name in carry if name not in schema]
    if absent:
        raise missing_columns(
            absent,
            present,
            source,
            hint="check the spelling of the columns asked for (keep, group by, by, shared by)",
        )
    id_type = schema[ID]
    if not (id_type.is_integer() or id_type == pl.String or id_type == pl.Null):
        hint = "building ids must be integers or strings"
        if id_type.is_float():  # (as pandas keeps whole numbers in a column with a gap)
            hint += (
                ": whole numbers kept as floats (as pandas keeps a column with a missing value) "
                "become integers with .astype('Int64') in pandas, which refuses any fraction"
            )
        msg = f"{source}: column {ID} has type {id_type}; hint: {hint}"
        raise InputError(msg)
    for col in numeric:
        dtype = schema[col.name]
        if not (dtype.is_numeric() or dtype == pl.String or dtype == pl.Null):
            msg = f"{source}: column {col.name} has type {dtype}; hint: it must hold numbers"
            raise InputError(msg)


def _shown(name: str) -> str:
    """A column name as a list shows it: quoted when spaces begin or end it (or it is empty)."""
    return repr(name) if not name or name != name.strip() else name


def _spaces_hint(present: Sequence[str], missing: Sequence[str]) -> str | None:
    """A hint for names that are the missing ones with spaces around them (a header written
    ``buildingId, floor_area, ...``): None unless stripping the spaces finds every one."""
    spaced = {name.strip(): name for name in present if name != name.strip()}
    if not spaced or not set(missing) <= set(spaced):
        return None
    example = spaced[missing[0]]
    return (
        f"its column names have spaces around them ({example!r} for {missing[0]}): remove them "
        "(in a CSV file, the spaces after the commas of its header row; those around the values "
        "are fine)"
    )


def _separator_hint(present: Sequence[str], missing: Sequence[str]) -> str | None:
    """A hint for a CSV file read as one column because its values are separated by something
    other than commas (``;``, as spreadsheets write it where a comma is the decimal mark, or
    a tab): None unless the one column's name, split so, holds the missing names."""
    if len(present) != 1:
        return None
    for separator, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "bars")):
        if set(missing) <= set(present[0].split(separator)):
            return (
                f"its values are separated by {name}: vecloss reads comma-separated CSV, with "
                f"a point as the decimal mark; convert it first (in Python: "
                f"pl.read_csv(path, separator={separator!r}).write_csv(new_path))"
            )
    return None

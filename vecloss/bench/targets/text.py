"""CSV and NDJSON to a frame against Polars' readers, with each other reader alone beside."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import polars as pl

import vecloss
from vecloss.api import validated
from vecloss.bench.race import Scale, Target, race
from vecloss.bench.targets.json_arrays import _polars_of
from vecloss.bench.targets.parquet import duckdb_connection
from vecloss.io.ndjson import file_colons
from vecloss.synthetic import generate

#: What ``vecloss.read`` of NDJSON adds to Polars' reader, beside the validation: the file's
#: colons counted, which shows that no key was repeated or dropped (it runs on a thread).
KEY_COUNT = "vecloss key count alone (the file's colons)"


def text_targets(scale: Scale, folder: Path, workers: int | None, bar: Any) -> Iterator[Target]:
    """CSV -> frame and NDJSON -> frame."""
    import pyarrow.csv
    import pyarrow.json

    con = duckdb_connection(workers)
    text = {
        suffix: generate(scale.text_rows, folder / f"portfolio.{suffix}", seed=8)
        for suffix in ("csv", "ndjson")
    }
    csv, ndjson = text["csv"], text["ndjson"]
    read_csv, read_ndjson = pl.read_csv(csv), pl.read_ndjson(ndjson)
    every_row = "format='newline_delimited', sample_size=-1"
    readers: dict[str, dict[str, Callable[[], Any]]] = {
        "csv": {
            "vecloss": partial(vecloss.read, csv),
            "polars": partial(pl.read_csv, csv),
            "vecloss validation alone": partial(validated, read_csv),
            "polars read_csv, then vecloss validation": lambda: validated(pl.read_csv(csv)),
            "duckdb reader alone": partial(_polars_of, con, f"select * from read_csv('{csv}')"),
            "pyarrow reader alone": lambda: pl.from_arrow(pyarrow.csv.read_csv(csv)),
        },
        "ndjson": {
            "vecloss": partial(vecloss.read, ndjson),
            "polars": partial(pl.read_ndjson, ndjson),
            "vecloss validation alone": partial(validated, read_ndjson),
            "polars read_ndjson, then vecloss validation": lambda: validated(
                pl.read_ndjson(ndjson)
            ),
            KEY_COUNT: partial(file_colons, ndjson),
            "duckdb reader alone (types from a sample)": partial(
                _polars_of, con, f"select * from read_json('{ndjson}')"
            ),
            "duckdb reader alone (types from every row)": partial(
                _polars_of, con, f"select * from read_json('{ndjson}', {every_row})"
            ),
            "pyarrow reader alone": lambda: pl.from_arrow(pyarrow.json.read_json(ndjson)),
        },
    }
    for suffix, fns in readers.items():
        bar.set_postfix_str(f"{suffix} -> frame")
        median, answers = race(fns, max(3, scale.repeat // 2))
        for name, frame in answers.items():
            if name == KEY_COUNT:  # every line gives each of its keys once
                assert frame == scale.text_rows * answers["vecloss"].width, frame
                continue
            assert isinstance(frame, pl.DataFrame), name
            assert frame.height == scale.text_rows, name
            assert frame["buildingId"].equals(answers["vecloss"]["buildingId"]), name
        peer = f"polars read_{suffix}"
        work = f"{suffix.upper()} -> frame"
        yield Target(work, scale.text_rows, peer, median["vecloss"], median["polars"], "s", 1.0)
        for name in fns:
            if name not in ("vecloss", "polars"):
                yield Target(
                    f"{work}: {name}",
                    scale.text_rows,
                    peer,
                    median[name],
                    median["polars"],
                    "s",
                    None,
                )
        bar.update()
    con.close()

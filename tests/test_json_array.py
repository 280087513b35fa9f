"""A JSON array of objects in any layout, streamed block by block, reads as json.loads does."""

from __future__ import annotations

import gc
import itertools
import json
import re
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vecloss.io._stream as stream_io
from vecloss import InputError
from vecloss.io._array import Careful, ndjson_blocks, restore
from vecloss.io.json import iter_batches, read
from vecloss.io.ndjson import read as read_ndjson

# Strings full of what the fast way guesses on and the careful way counts.
NASTY = st.lists(st.sampled_from([*'ab},{"\\[]:\n\t é', '\\"', "},{"]), max_size=8).map("".join)
OBJECTS = st.lists(
    st.fixed_dictionaries(
        {"id": st.integers(-(2**40), 2**40), "s": NASTY, "n": st.fixed_dictionaries({"k": NASTY})}
    ),
    min_size=1,
    max_size=25,
)
LAYOUTS = st.sampled_from(
    [
        {},
        {"indent": 2},
        {"indent": 0},
        {"indent": "\t"},
        {"separators": (",", ":")},
        {"separators": (" ,\n ", " : ")},
        {"indent": 1, "separators": (" , ", ":")},
        {"ensure_ascii": False, "indent": 3},
    ]
)


def _read_in_blocks(path: Path, block: int, monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    monkeypatch.setattr(stream_io, "BLOCK_BYTES", block)
    frames = list(iter_batches(path, batch_rows=1 << 40))
    return pl.concat(frames, how="diagonal_relaxed").to_dicts()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=OBJECTS, layout=LAYOUTS, block=st.integers(1, 200), newline=st.sampled_from(["\n", "\r\n"])
)
def test_any_layout_and_any_cut_reads_as_json_loads(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    rows: list[dict],
    layout: dict,
    block: int,
    newline: str,
) -> None:
    path = tmp_path / "a.json"
    path.write_bytes(("  " + json.dumps(rows, **layout) + newline).replace("\n", newline).encode())
    assert _read_in_blocks(path, block, monkeypatch) == json.loads(path.read_bytes())


@settings(max_examples=200, deadline=None)
@given(rows=OBJECTS, layout=LAYOUTS, cuts=st.lists(st.integers(0, 10_000), max_size=8))
def test_the_careful_way_finds_the_objects_at_any_piece_edges(
    rows: list[dict], layout: dict, cuts: list[int]
) -> None:
    text = json.dumps(rows, **layout).encode().replace(b"\n", b" ")  # as the blocks have it
    body = text[text.index(b"[") + 1 : text.rindex(b"]")]
    edges = sorted({min(c, len(body)) for c in cuts} | {0, len(body)})
    careful, out = Careful(), bytearray()
    for lo, hi in itertools.pairwise(edges):
        out += careful.feed(body[lo:hi]) or b""
    out += careful.finish()
    lines = [line for line in bytes(out).split(b"\n") if line.strip()]
    assert [json.loads(line) for line in lines] == rows


def test_an_escaped_backslash_before_a_quote_at_a_piece_edge() -> None:
    body = b'{"s": "x\\\\"}, {"s": "\\"},"}'  # x\\ then a real quote; then an escaped quote
    for cut in range(len(body) + 1):
        careful = Careful()
        out = (careful.feed(body[:cut]) or b"") + (careful.feed(body[cut:]) or b"")
        out += careful.finish()
        assert [json.loads(x) for x in bytes(out).split(b"\n")] == [{"s": "x\\"}, {"s": '"},'}]


def test_a_wrong_guess_is_read_again_carefully(tmp_path: Path) -> None:
    rows = [{"id": k, "s": "},{" * (k % 3)} for k in range(500)]
    path = tmp_path / "tricky.json"
    path.write_text(json.dumps(rows, indent=2))
    blocks = list(ndjson_blocks(path, "JSON", 1 << 20))
    with pytest.raises(pl.exceptions.ComputeError):
        pl.read_ndjson(blocks[0].data)  # the fast guess cut inside a string
    restored = b"".join(restore(b.data) for b in blocks)  # the JSON again, newlines as spaces
    assert json.loads(b"[" + restored + b"]") == rows
    assert read(path).to_dicts() == rows


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "found an empty file"),
        ("   \n ", "found an empty file"),
        ('{"id": 1}', "found one object, not an array of them"),
        ('{"id": true}', "found one object, not an array of them"),
        ("{", "found a document starting with '{'"),
        ('[{"id": 1},\n{"id": 2}', "not closed"),
        ('[{"id": 1}] x', "not closed"),
    ],
)
def test_a_file_that_is_not_an_array(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        read(path)


def test_a_broken_object_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('[{"id": 1}, {"id": 2, "s": "open}, {"id": 3}]')
    with pytest.raises(InputError, match=r"broken\.json"):
        read(path)


def test_an_empty_array_is_an_empty_frame(tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    path.write_text("[\n]\n")
    assert read(path).shape == (0, 0)


def test_blocks_never_hold_a_newline_but_between_objects(tmp_path: Path) -> None:
    rows = [{"id": k, "v": float(k)} for k in range(1_000)]
    path = tmp_path / "pretty.json"
    path.write_text(json.dumps(rows, indent=4))
    blocks = list(ndjson_blocks(path, "JSON", 4_096))
    assert len(blocks) > 10
    newlines = sum(np.count_nonzero(np.frombuffer(b.data, np.uint8) == 10) for b in blocks)
    assert newlines == len(rows) - 1


@settings(max_examples=150, deadline=None)
@given(
    rows=OBJECTS,
    layout=LAYOUTS,
    block=st.integers(1, 300),
    newline=st.sampled_from(["\n", "\r\n"]),
    pass_bytes=st.sampled_from([1, 7, 64, 1 << 18]),
)
def test_blocks_give_the_array_back_with_their_colons_counted(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[dict],
    layout: dict,
    block: int,
    newline: str,
    pass_bytes: int,
) -> None:
    import vecloss.io._array as array_io

    path = tmp_path_factory.mktemp("blocks") / "a.json"
    text = (" " + json.dumps(rows, **layout) + newline).replace("\n", newline).encode()
    path.write_bytes(text)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(array_io, "PASS_BYTES", pass_bytes)
        blocks = list(ndjson_blocks(path, "JSON", block))
    for b in blocks:  # every colon counted once, in the block that holds it
        assert b.colons == b.data.count(b":")
    assert sum(b.data.count(b"\n") for b in blocks) == text.count(b"},")  # each guess, only
    assert json.loads(b"[" + b"".join(restore(b.data) for b in blocks) + b"]") == rows


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    count=st.integers(1, 100),  # (Polars takes a call's keys from its first 100 objects)
    late=st.integers(0, 110),
    null_at=st.integers(-1, 110),
    layout=LAYOUTS,
    block=st.integers(16, 400),
)
def test_a_late_key_and_nulls_read_as_json_loads_does(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    count: int,
    late: int,
    null_at: int,
    layout: dict,
    block: int,
) -> None:
    """Flat objects cut into blocks: a key that only later objects give (a later block's
    own), and a null where a number was expected, read as json.loads does."""
    rows: list[dict] = [
        {"buildingId": k, "x": k / 4 if k != null_at else None} for k in range(count)
    ]
    for row in rows[late:]:
        row["late"] = f"v{row['buildingId']}"
    path = tmp_path / "flat.json"
    path.write_text(json.dumps(rows, **layout))
    expected = [{"buildingId": r["buildingId"], "x": r["x"], "late": r.get("late")} for r in rows]
    got = _read_in_blocks(path, block, monkeypatch)
    assert [{"late": None, **r} for r in got] == expected


def test_a_file_without_ids_is_told_so_when_a_later_block_changes_type(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A null first, a number in the next block: that block is read again with text, which
    once asked for a buildingId the file does not have ("cannot read JSON: buildingId")."""
    from vecloss import read as read_portfolio

    path = tmp_path / "noid.json"
    path.write_text(json.dumps([{"id": 0, "x": None}, {"id": 1, "x": 0.25}]))
    monkeypatch.setattr(stream_io, "BLOCK_BYTES", 16)
    with pytest.raises(InputError, match="missing columns buildingId"):
        read_portfolio(path)


@pytest.mark.parametrize("suffix", [".json", ".ndjson"])
def test_a_key_first_given_after_the_hundredth_object_is_kept(tmp_path: Path, suffix: str) -> None:
    """Polars takes a call's keys from its first 100 objects; a note only the 150th building
    has must still reach the frame (it was dropped without a word)."""
    rows: list[dict] = [
        {
            "buildingId": k,
            "floor_area": 100.0,
            "construction_cost": 1000.0,
            "hazard_probability": 0.1,
            "inflation_rate": 0.02,
        }
        for k in range(1, 201)
    ]
    rows[149]["note"] = "roof: new"
    path = tmp_path / f"late{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps(rows, indent=2))
        frame = read(path)
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        frame = pl.concat(
            list(stream_io.stream_line_blocks(path, "NDJSON", batch_rows=1 << 40, columns=None))
        )
        assert read_ndjson(path)["note"].to_list() == frame["note"].to_list()  # read whole
    assert frame["note"].to_list() == [None] * 149 + ["roof: new"] + [None] * 50


@pytest.mark.parametrize(
    ("shape", "found"),
    [
        ("wrapped", "found an object whose 'buildings' holds the array"),
        ("columns", "found an object of columns (each key a list of values)"),
        ("keyed", "found an object of objects ('LOC-"),
    ],
)
def test_an_object_in_place_of_the_array_says_how_to_get_the_array(
    tmp_path: Path, shape: str, found: str
) -> None:
    """The three ways people write buildings as a JSON object each get a hint whose Python,
    run as given, writes the array vecloss reads, with the same buildings."""
    import vecloss

    frame = vecloss.portfolio(50, seed=3)
    rows = frame.to_dicts()
    document = {
        "wrapped": {"buildings": rows},
        "columns": frame.to_dict(as_series=False),
        "keyed": {r["buildingId"]: {k: v for k, v in r.items() if k != "buildingId"} for r in rows},
    }[shape]
    path, new_path = tmp_path / "portfolio.json", tmp_path / "array.json"
    path.write_text(json.dumps(document, indent=2))
    with pytest.raises(InputError) as caught:
        read(path)
    message = str(caught.value)
    assert found in message
    code = re.search(r"in Python: (.*)\)$", message)
    assert code is not None, message
    with warnings.catch_warnings():  # (the one-liner leaves closing its file to the collector)
        warnings.simplefilter("ignore", ResourceWarning)
        exec(code.group(1), {"pl": pl, "json": json, "path": path, "new_path": new_path})
        gc.collect()
    again = vecloss.read(new_path)
    assert sorted(again.columns) == sorted(frame.columns)
    assert again.sort("buildingId").equals(frame.select(again.columns).sort("buildingId"))

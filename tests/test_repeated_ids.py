"""Repeated building ids: the fast check agrees with a plain Python set, in memory and streamed.

The rule under test (vecloss.checks.ids): an id belongs to the first row that gives it, valid
or not; every later row with it is a ``duplicate_id``. Keys that are all distinct prove the ids
are; equal keys (for strings, possibly a hash collision) are confirmed against the ids. The
collision tests weaken the hash to 3 bits, so that almost every pair of ids collides.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vecloss
from vecloss.checks import ids as ids_module
from vecloss.checks import keys as keys_module
from vecloss.checks import spill as spill_module
from vecloss.checks.ids import SeenIds, distinct_keys, later_duplicates
from vecloss.kernels.blocks import jit_available

ID_VALUES = {
    "ints": st.integers(-5, 40),
    "wide ints": st.sampled_from([-(2**62), -7, 0, 3, 2**40, 2**62]),
    "strings": st.text(alphabet="AB-0", max_size=4),
}


def expected_later(values: list[object]) -> list[bool]:
    """Each row: whether an earlier row has the same (non-null) id, by a Python set."""
    seen: set[object] = set()
    later = []
    for value in values:
        later.append(value is not None and value in seen)
        if value is not None:
            seen.add(value)
    return later


def as_series(values: list[object], kind: str) -> pl.Series:
    dtype = pl.String if kind == "strings" else pl.Int64
    return pl.Series("buildingId", values, dtype=dtype)


def mask_of(series: pl.Series) -> list[bool]:
    found = later_duplicates(series)
    return [False] * series.len() if found is None else found.to_list()


@pytest.fixture
def weak_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    """String keys of 3 bits: nearly every two distinct ids collide."""
    real = ids_module.id_keys

    def three_bits(ids: pl.Series) -> np.ndarray:
        keys = real(ids)
        return keys if ids.dtype.is_integer() else keys & 7

    for module in (ids_module, spill_module):  # (every module that keys ids)
        monkeypatch.setattr(module, "id_keys", three_bits)


@pytest.fixture(params=["counted", "hashed"])
def strings_by(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """How :func:`later_duplicates` checks few string ids: counted by Polars (its default below
    ``SMALL`` ids), or hashed and checked as keys, as it does more of them."""
    if request.param == "hashed":
        monkeypatch.setattr(ids_module, "SMALL", 0)
    return str(request.param)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    kind=st.sampled_from(sorted(ID_VALUES)),
    data=st.data(),
)
def test_later_duplicates_agrees_with_a_python_set(
    kind: str, data: st.DataObject, strings_by: str
) -> None:
    values = data.draw(st.lists(st.one_of(st.none(), ID_VALUES[kind]), max_size=60))
    assert mask_of(as_series(values, kind)) == expected_later(values)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=st.lists(ID_VALUES["strings"], max_size=40))
def test_a_hash_collision_is_not_a_repeat(
    weak_hash: None, values: list[object], strings_by: str
) -> None:
    assert mask_of(as_series(values, "strings")) == expected_later(values)


def seen_across(values: list[object], kind: str, batch: int) -> list[bool]:
    """Rows marked as repeats when ``values`` arrive in batches of ``batch``: within a batch by
    :func:`later_duplicates`, across batches by :class:`SeenIds` (each id recorded once)."""
    seen, marked = SeenIds(budget=64), []
    for start in range(0, len(values), batch):
        part = as_series(values[start : start + batch], kind)
        within = np.array(mask_of(part), dtype=bool)
        firsts = part.filter(part.is_not_null() & ~pl.Series(within))
        again = dict(zip(firsts.to_list(), seen.add(firsts).to_list(), strict=True))
        marked += [bool(w) or bool(again.get(v, False)) for v, w in zip(part, within, strict=True)]
    return marked


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(kind=st.sampled_from(sorted(ID_VALUES)), batch=st.integers(1, 9), data=st.data())
def test_seen_ids_across_batches_agree_with_a_python_set(
    kind: str, batch: int, data: st.DataObject
) -> None:
    values = data.draw(st.lists(st.one_of(st.none(), ID_VALUES[kind]), max_size=50))
    assert seen_across(values, kind, batch) == expected_later(values)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=st.integers(1, 9), values=st.lists(ID_VALUES["strings"], max_size=50))
def test_collisions_across_batches_are_confirmed_against_the_ids(
    weak_hash: None, batch: int, values: list[object]
) -> None:
    # a budget of 64 bytes: the earlier ids are spilled to files after every batch or two
    assert seen_across(values, "strings", batch) == expected_later(values)


#: Each way of telling keys apart, forced on small inputs: the table of slots (the default
#: up to ``keys.SLOTS`` keys without Numba), Polars' sort past it, NumPy's sort in place (a
#: whole run's keys at its end, past ``keys.COPIED_AT_MOST``), Polars' sort of a copy of
#: such keys (up to ``keys.COPIED_AT_MOST``), the slots with a spread that puts every key in
#: the same slot (each round frees one key; the sort takes the rest), and the compiled check
#: (Numba's partitions and hash sets: the default from ``keys.COMPILED`` keys when it is installed),
#: also in place (a whole run's keys at its end, from ``keys.COMPILED_IN_PLACE``) and on a
#: copy of such keys (up to ``keys.COPIED_AT_MOST``).
WAYS = [
    "slots",
    "sort",
    "sort-in-place",
    "sort-copied-in-place",
    "slots-collide",
    "compiled",
    "compiled-in-place",
    "compiled-copied-in-place",
]


@pytest.fixture(params=WAYS)
def way(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param.startswith("compiled"):
        if not jit_available():
            pytest.skip("the compiled id check needs the jit extra (numba)")
        monkeypatch.setattr(keys_module, "COMPILED_LOADED", 2)
        monkeypatch.setenv("VECLOSS_JIT", "1")
    else:
        monkeypatch.setenv("VECLOSS_JIT", "0")
    if request.param.startswith("sort"):
        monkeypatch.setattr(keys_module, "SLOTS", 0)
    if request.param in ("sort-in-place", "compiled-in-place"):
        monkeypatch.setattr(keys_module, "COPIED_AT_MOST", 0)
    if request.param == "slots-collide":
        monkeypatch.setattr(keys_module, "_SPREAD", (1, 1, 1))  # keys < 2**40: all in slot 0
    return str(request.param)


@pytest.mark.parametrize(
    "keys",
    [
        np.random.default_rng(1).permutation(5_000) + 10**12,  # dense, shuffled: flags
        np.random.default_rng(2).integers(-(2**62), 2**62, 5_000),  # sparse
        np.random.default_rng(3).permutation(5_000) * 7919 - 10**6,  # 32-bit offsets
        np.array([-(2**31), 2**32 - 2**31 - 1, 5]),  # offsets 0 and 2**32 - 1
        np.array([2**63 - 1, -(2**63), 0]),  # the extremes of int64
    ],
    ids=["dense", "sparse", "narrow", "narrow-edges", "extremes"],
)
def test_distinct_keys_finds_one_repeat_anywhere(keys: np.ndarray, way: str) -> None:
    if way == "slots-collide":
        # the keys' ranks, small and distinct, so that the identity spread collides
        keys = np.argsort(np.argsort(keys[:50])) * 3 + 1
    in_place = way.endswith("in-place")
    before = np.sort(keys)
    checked = keys.copy()
    assert distinct_keys(checked, in_place=in_place)
    assert np.array_equal(np.sort(checked), before)  # (in place: the same keys, in any order)
    last = len(keys) - 1
    for source, target in [(0, last), (last, last // 2), (last // 2, 0)]:
        repeated = keys.copy()
        repeated[target] = repeated[source]
        assert not distinct_keys(repeated, in_place=in_place)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.integers(-(2**63), 2**63 - 1), min_size=2, max_size=300),
    st.lists(st.tuples(st.integers(0, 299), st.integers(0, 299)), max_size=3),
)
def test_slots_agree_with_a_set(values: list[int], repeats: list[tuple[int, int]]) -> None:
    # repeats copied anywhere; keys that share slots (hypothesis favours small and equal-bit
    # values) go round again; a spread that fails leaves them to the sort
    for source, target in repeats:
        values[target % len(values)] = values[source % len(values)]
    keys = np.array(values, dtype=np.int64)
    want = len(set(values)) == len(values)
    assert keys_module._distinct_slots(keys) == want
    assert distinct_keys(keys) == want
    # another caller holds the kept arrays: this one makes its own
    with keys_module._SCRATCH.lock:
        assert keys_module._distinct_slots(keys) == want
    with pytest.MonkeyPatch.context() as patch:
        # slots by the lowest bit, then by the highest bits
        patch.setattr(keys_module, "_SPREAD", (1 << 63, 1))
        assert keys_module._distinct_slots(keys) == want


needs_numba = pytest.mark.skipif(not jit_available(), reason="needs the jit extra (numba)")


@needs_numba
@settings(max_examples=200)
@given(
    st.lists(st.integers(-(2**63), 2**63 - 1), min_size=2, max_size=300),
    st.lists(st.tuples(st.integers(0, 299), st.integers(0, 299)), max_size=3),
)
def test_the_compiled_check_agrees_with_a_set(
    values: list[int], repeats: list[tuple[int, int]]
) -> None:
    for source, target in repeats:
        values[target % len(values)] = values[source % len(values)]
    keys = np.array(values, dtype=np.int64)
    found = keys_module._distinct_compiled(keys)
    assert found is None or found == (len(set(values)) == len(values))


@needs_numba
@pytest.mark.parametrize("rows", [5_000, 300_000])  # several partitions; two threads
def test_the_compiled_check_finds_a_repeat_in_any_partition(rows: int) -> None:
    keys = np.random.default_rng(rows).integers(-(2**63), 2**63 - 1, rows)
    keys[rows // 3] = 0  # the key whose spread is 0 (kept beside the tables)
    assert keys_module._distinct_compiled(keys) is True
    spread = keys.view(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    order = np.argsort(spread)  # by partition: the first, the last and a middle one
    for source, target in [(order[0], order[1]), (order[-1], order[-2]), (rows // 3, 7)]:
        repeated = keys.copy()
        repeated[target] = repeated[source]
        assert keys_module._distinct_compiled(repeated) is False


@needs_numba
def test_the_compiled_check_gives_keys_that_defeat_its_spread_to_the_sort() -> None:
    # keys whose spreads are 1, 2, 3, ...: one partition, one run of slots, ever longer probes
    inverse = pow(0x9E3779B97F4A7C15, -1, 1 << 64)
    keys = (np.arange(1, 50_001, dtype=np.uint64) * np.uint64(inverse)).view(np.int64)
    assert keys_module._distinct_compiled(keys) is None
    in_place = keys.copy()
    assert keys_module._distinct_compiled_in_place(in_place) is None
    assert np.array_equal(np.sort(in_place), np.sort(keys))  # (its values given back)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VECLOSS_JIT", "1")
        assert distinct_keys(keys)
        keys[-1] = keys[0]
        assert not distinct_keys(keys)


@pytest.mark.parametrize("kind", ["ints", "strings"])
def test_a_repeat_names_both_rows_at_any_size(kind: str) -> None:
    frame = vecloss.portfolio(300_000, seed=3, ids="strings" if kind == "strings" else "shuffled")
    first, later = 12_345, 250_000
    dirty = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == later)
        .then(pl.lit(frame["buildingId"][first]))
        .otherwise(pl.col("buildingId"))
        .alias("buildingId")
    )
    assert vecloss.losses(frame).height == frame.height
    report = vecloss.validate(dirty)
    assert report.rejected["row"].to_list() == [later + 1]
    assert "duplicate_id" in report.rejected["reason"][0]
    with pytest.raises(vecloss.ValidationError, match=str(frame["buildingId"][first])):
        vecloss.losses(dirty)


CSV_HEAD = "buildingId,floor_area,construction_cost,hazard_probability,inflation_rate\n"


@pytest.mark.parametrize("engine", ["vectorized", "loop"])
def test_d2_an_invalid_rows_id_counts_as_seen_at_every_batch_size(
    tmp_path: Path, engine: str
) -> None:
    # the first row of id 1 is invalid (no inflation rate); the second repeats its id
    source = tmp_path / "d.csv"
    source.write_text(CSV_HEAD + "1,2000,1200,0.1,\n1,1500,1300,0.2,0.04\n2,100,10,0.1,0.01\n")
    results = []
    for batch_rows in (1, 2, 3, 100):
        rejects = tmp_path / f"r{batch_rows}.csv"
        summary = vecloss.run(
            source, batch_rows=batch_rows, engine=engine, on_invalid="skip", rejects=rejects
        )
        table = pl.read_csv(rejects, infer_schema=False)
        results.append((summary.rows, table["row"].to_list(), table["reason"].to_list()))
    assert results[0] == (1, ["1", "2"], ["inflation_rate: null", "buildingId: duplicate_id"])
    assert all(result == results[0] for result in results)


@settings(max_examples=40, deadline=None)
@given(
    ids=st.lists(st.sampled_from(["a", "b", "c", "d", "e", None]), min_size=1, max_size=12),
    bad=st.lists(st.booleans(), min_size=12, max_size=12),
    batch_rows=st.integers(1, 5),
)
def test_skip_mode_gives_the_same_rows_and_rejects_at_every_batch_size(
    tmp_path_factory: pytest.TempPathFactory,
    ids: list[str | None],
    bad: list[bool],
    batch_rows: int,
) -> None:
    folder = tmp_path_factory.mktemp("batches")
    lines = [f"{i or ''},100,{'' if bad[k] else 10},0.1,0.01" for k, i in enumerate(ids)]
    source = folder / "p.csv"
    source.write_text(CSV_HEAD + "\n".join(lines) + "\n")
    outcomes = []
    for rows in (batch_rows, len(ids)):
        rejects = folder / f"r{rows}.csv"
        out = folder / f"o{rows}.csv"
        summary = vecloss.run(source, out, batch_rows=rows, on_invalid="skip", rejects=rejects)
        written = pl.read_csv(out, infer_schema=False)["buildingId"].to_list()
        rejected = pl.read_csv(rejects, infer_schema=False)
        outcomes.append((written, rejected["row"].to_list(), rejected["reason"].to_list()))
        assert summary.rows + rejected.height == len(ids)
    assert outcomes[0] == outcomes[1]
    # the rows written are exactly those a Python set keeps: first of their id, and valid
    later = expected_later(list(ids))
    kept = [i for k, i in enumerate(ids) if i is not None and not later[k] and not bad[k]]
    assert outcomes[0][0] == kept


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_fail_mode_streamed_names_a_repeat_across_batches(tmp_path: Path, suffix: str) -> None:
    # the ids of a run in fail mode are checked once, at the end; a repeat found then is
    # named as the batch-by-batch check names it
    frame = vecloss.portfolio(5_000, seed=4)
    dirty = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 4_321)
        .then(pl.lit(frame["buildingId"][7]))
        .otherwise(pl.col("buildingId"))
        .alias("buildingId")
    )
    source = tmp_path / f"p{suffix}"
    dirty.write_csv(source) if suffix == ".csv" else dirty.write_parquet(source)
    output = tmp_path / "out.parquet"
    with pytest.raises(vecloss.ValidationError, match=str(frame["buildingId"][7])) as caught:
        vecloss.run(source, output, batch_rows=1_000)
    failures = caught.value.failures
    assert failures["reason"].to_list() == ["duplicate_id"]
    assert failures["count"].to_list() == [1]
    assert not output.exists()


def test_a_hash_collision_across_batches_is_no_repeat_in_fail_mode(
    weak_hash: None, tmp_path: Path
) -> None:
    # every few string ids share a 3-bit key: the check at the end suspects repeats, the
    # exact pass finds none, and the first pass's output stands, whole
    frame = vecloss.portfolio(3_000, seed=5)
    source, output = tmp_path / "p.parquet", tmp_path / "out.parquet"
    frame.write_parquet(source)
    summary = vecloss.run(source, output, batch_rows=700)
    assert summary.rows == 3_000
    written = pl.read_parquet(output)
    assert written["buildingId"].to_list() == frame["buildingId"].to_list()
    expected = vecloss.losses(frame)["loss"]
    assert written["loss"].equals(expected)


@pytest.mark.parametrize("batch_rows", [1, 100])
def test_u2_ids_past_two_to_the_63_are_checked_like_any_other(
    tmp_path: Path, batch_rows: int
) -> None:
    # hardening U2: a JSON id of 2**63 or more (a 128-bit integer column) was an internal error
    big = [2**63, 2**70, 2**63]
    rows = [
        {
            "buildingId": i,
            "floor_area": 10,
            "construction_cost": 5,
            "hazard_probability": 0.1,
            "inflation_rate": 0.01,
        }
        for i in big
    ]
    source = tmp_path / "big.json"
    source.write_text(json.dumps(rows))
    rejects = tmp_path / "r.csv"
    summary = vecloss.run(source, batch_rows=batch_rows, on_invalid="skip", rejects=rejects)
    assert summary.rows == 2
    table = pl.read_csv(rejects, infer_schema=False)
    assert table["row"].to_list() == ["3"]
    assert table["reason"].to_list() == ["buildingId: duplicate_id"]
    with pytest.raises(vecloss.ValidationError, match=str(2**63)):
        vecloss.run(source, batch_rows=batch_rows)


@settings(max_examples=100)
@given(
    rows=st.none() | st.integers(1, 12),
    batches=st.lists(st.lists(st.integers(-(2**63), 2**63 - 1), max_size=9), max_size=6),
)
def test_the_key_log_gives_back_every_key_logged(
    rows: int | None, batches: list[list[int]]
) -> None:
    # blocks of 4 keys: batches across blocks, a known count of rows overrun into blocks
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(spill_module, "BLOCK_KEYS", 4)
        log = spill_module.KeyLog(rows, budget=1 << 20)
        for batch in batches:
            log.add(np.array(batch, dtype=np.int64))
        logged = [key for batch in batches for key in batch]
        assert log.keys().tolist() == logged
        assert log.keys().tolist() == logged  # (asked again: the same keys)

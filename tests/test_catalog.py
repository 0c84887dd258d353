"""pzmpi.io.catalog: any row range of any layout reads as Arrow reads the whole file; nulls, types, missing
columns and damaged files give errors that name the file and the column."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pzmpi.core.errors import InputFileError
from pzmpi.io.catalog import CatalogFile, chunk_of_batch, iter_chunks

COLUMNS = ["f64", "f32", "i64", "i32", "flag"]


def mixed_table(rows: int, seed: int, nulls: bool) -> pa.Table:
    """Every numeric kind, with repeated values (dictionaries stay small) and, if asked, nulls in all but i64."""
    rng = np.random.default_rng(seed)
    mask = (rng.random(rows) < 0.1) if nulls else None
    values = {"f64": rng.standard_normal(rows) * 1e3, "f32": rng.integers(0, 50, rows).astype(np.float32),
              "i64": rng.integers(-2**40, 2**40, rows), "i32": rng.integers(0, 300, rows).astype(np.int32),
              "flag": rng.random(rows) < 0.7}
    values["f64"][rng.random(rows) < 0.05] = np.nan
    return pa.table({name: pa.array(v, mask=mask if name in ("f64", "f32", "flag") else None)
                     for name, v in values.items()})


def arrow_rows(path: Path, columns: list[str], start: int, stop: int) -> dict[str, np.ndarray]:
    """What the reader must give: the whole file read by Arrow, then sliced, nulls as the reader's policy says."""
    table = pq.read_table(path, columns=columns).slice(start, stop - start).combine_chunks()
    batch = table.to_batches()[0] if table.num_rows else pa.record_batch(
        [pa.array([], type=f.type) for f in table.schema], schema=table.schema)
    return chunk_of_batch(str(path), batch, columns)


def catalog_rows(path: Path, columns: list[str], start: int, stop: int, chunk: int) -> dict[str, np.ndarray]:
    with CatalogFile(str(path), columns) as reader:
        chunks = list(reader.iter_rows(start, stop, chunk))
    assert all(len(c[columns[0]]) <= chunk for c in chunks)
    return {name: np.concatenate([c[name] for c in chunks]) if chunks else np.empty(0) for name in columns}


def assert_same(got: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> None:
    for name, values in expected.items():
        assert got[name].dtype == values.dtype, name
        np.testing.assert_array_equal(got[name], values, err_msg=name)


LAYOUTS = [
    {},
    {"compression": "none"},
    {"compression": "zstd", "data_page_version": "2.0"},
    {"compression": "gzip", "use_dictionary": False},
    {"compression": "lz4", "data_page_version": "2.0", "use_dictionary": False, "data_page_size": 2000},
    {"compression": "snappy", "use_dictionary": False, "column_encoding": {"f64": "BYTE_STREAM_SPLIT",
                                                                          "f32": "BYTE_STREAM_SPLIT"}},
    {"use_dictionary": False, "column_encoding": {"i64": "DELTA_BINARY_PACKED", "i32": "DELTA_BINARY_PACKED"},
     "data_page_size": 3000},
]


@pytest.mark.parametrize("layout", range(len(LAYOUTS)))
@pytest.mark.parametrize("nulls", [False, True])
def test_any_row_range_in_any_chunk_size_gives_arrows_values(tmp_path, layout, nulls):
    path = tmp_path / "t.parquet"
    pq.write_table(mixed_table(5000, layout, nulls), path, row_group_size=1300, **LAYOUTS[layout])
    rng = np.random.default_rng(layout)
    for start, stop, chunk in [(0, 5000, 100000), (0, 5000, 333), (1300, 2600, 1300), (1299, 1301, 1)] + [
            tuple(sorted(rng.integers(0, 5001, 2))) + (int(rng.integers(1, 2000)),) for _ in range(4)]:
        assert_same(catalog_rows(path, COLUMNS, start, stop, chunk), arrow_rows(path, COLUMNS, start, stop))


def test_kinds_row_groups_and_missing_columns_are_known_before_any_row_is_read(tmp_path):
    path = tmp_path / "t.parquet"
    pq.write_table(mixed_table(2000, 1, True), path, row_group_size=700)
    with CatalogFile(str(path), ["flag", "i32", "absent", "f64"]) as reader:
        assert reader.num_rows == 2000 and reader.row_groups == (700, 700, 600)
        assert reader.kinds == {"flag": "boolean", "i32": "integer", "f64": "floating"}
        with pytest.raises(InputFileError, match=r"t\.parquet: missing column\(s\) absent"):
            reader.check_columns()
    assert_same(catalog_rows(path, ["flag", "i32", "f64"], 650, 1500, 400),
                arrow_rows(path, ["flag", "i32", "f64"], 650, 1500))


@pytest.mark.parametrize("array, kind", [
    (pa.array(["a", "b"]), "string"),
    (pa.array([[1.0], [2.0]]), "list<element: double>"),
    (pa.array([1, 2], type=pa.timestamp("ms")), "timestamp[ms]"),
])
def test_a_column_that_is_not_a_number_is_an_error_naming_the_file_and_the_column(tmp_path, array, kind):
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"x": array}), path)
    with CatalogFile(str(path), ["x"]) as catalog:
        assert catalog.kinds["x"] == kind
        with pytest.raises(InputFileError, match=rf"t\.parquet: column x has type {re.escape(kind)}, expected a number"):
            list(catalog.iter_rows(0, 2, 10))


def test_integer_nulls_are_an_error_only_in_the_rows_asked_for_and_boolean_nulls_false(tmp_path):
    path = tmp_path / "t.parquet"
    ids = pa.array(np.arange(3000), mask=(np.arange(3000) >= 2500) & (np.arange(3000) < 2510))
    flags = pa.array(np.arange(3000) % 3 == 0, mask=np.arange(3000) % 7 == 0)
    pq.write_table(pa.table({"id": ids, "flag": flags}), path, row_group_size=1000)
    np.testing.assert_array_equal(catalog_rows(path, ["flag"], 0, 3000, 5000)["flag"],
                                  (np.arange(3000) % 3 == 0) & (np.arange(3000) % 7 != 0))
    np.testing.assert_array_equal(catalog_rows(path, ["id"], 0, 2400, 1000)["id"], np.arange(2400))
    with pytest.raises(InputFileError, match=r"t\.parquet: column id has 10 null value\(s\)"):
        catalog_rows(path, ["id"], 2000, 3000, 1000)


def test_a_column_asked_for_twice_is_read_once_and_rows_past_the_end_are_an_error(tmp_path):
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"x": np.arange(100.0)}), path)
    with CatalogFile(str(path), ["x", "x"]) as catalog:
        assert catalog.columns == ["x"]
        np.testing.assert_array_equal(next(catalog.iter_rows(0, 100, 1000))["x"], np.arange(100.0))
        with pytest.raises(InputFileError, match=r"rows 0-120 asked for, past its 100 rows"):
            list(catalog.iter_rows(0, 120, 1000))


def test_an_id_column_must_be_integer(tmp_path):
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"objectId": np.arange(10.0), "x": np.arange(10.0)}), path)
    with pytest.raises(InputFileError, match=r"t\.parquet: id column objectId has type floating, expected an integer"):
        list(iter_chunks(str(path), 0, 10, ["objectId", "x"], 5))


def test_damaged_files_are_errors_that_name_the_file(tmp_path):
    """A truncated footer fails at open; damaged pages fail when their rows are read, with the file named."""
    path = tmp_path / "t.parquet"
    pq.write_table(mixed_table(4000, 3, False), path, row_group_size=1000, compression="snappy")
    data = path.read_bytes()
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(data[:-100])
    with pytest.raises(InputFileError, match=r"cut\.parquet: cannot open"):
        CatalogFile(str(cut), COLUMNS)
    failures = 0
    for seed in range(20):
        damaged = bytearray(data)
        rng = np.random.default_rng(seed)
        for offset in rng.integers(4, len(data) // 2, 8):
            damaged[offset] ^= int(rng.integers(1, 256))
        bad = tmp_path / f"bad{seed}.parquet"
        bad.write_bytes(bytes(damaged))
        try:
            catalog_rows(bad, COLUMNS, 0, 4000, 1000)
        except InputFileError as error:
            assert f"bad{seed}.parquet" in str(error)
            failures += 1
    assert failures > 0  # damage to page headers and values: some is detected, and none crashes

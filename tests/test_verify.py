"""pzmpi verify: each per-file check as a pure function, the duplicate search, the reports, and MPI runs.

The MPI tests build one release whose catalog holds every problem a transfer
can show (docs/verify.md) and check that each is reported with its file and
column, that the good files are fully checked, the exit status, and that
``mpiexec -n 1`` and ``-n 3`` give the same report.json but for its "run" block.
"""

from __future__ import annotations

import hashlib
import json
import sys
import textwrap
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import mpi_environment, run_pzmpi

from pzmpi.acquire.release_init import create_release, describe_file
from pzmpi.acquire.verify import checks, command, duplicates, statistics
from pzmpi.acquire.verify.checks import row_group_end
from pzmpi.core import mpi, sharding
from pzmpi.core.checksum import SequentialHasher
from pzmpi.core.errors import ConfigError
from pzmpi.core.release import Release
from pzmpi.datasets.synthetic import object_catalog, with_bad_photometry
from pzmpi.photometry.bands import ZP_NJY

ROWS = 300
ROW_GROUP_ROWS = 100
REQUIRED = checks.expand_columns(checks.DEFAULT_REQUIRED)
PHOTOMETRIC = checks.photometric_columns(REQUIRED)


def write(path: Path, table: pa.Table, row_group_rows: int = ROW_GROUP_ROWS) -> Path:
    pq.write_table(table, path, row_group_size=row_group_rows)
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def schema_of(table: pa.Table) -> list[dict[str, str]]:
    return [{"name": f.name, "type": str(f.type)} for f in table.schema]


def task_for(path: Path, expected_sha256: str | None = None, expected_rows: int | None = None) -> checks.FileTask:
    return checks.FileTask(0, path.name, str(path), path.stat().st_size,
                           expected_sha256 if expected_sha256 is not None else sha256(path), expected_rows,
                           "the manifest SUMS")


def check(path: Path, reference: list[dict[str, str]], **expected) -> checks.FileCheck:
    return checks.check_file(task_for(path, **expected), reference, REQUIRED, PHOTOMETRIC)


def kinds(result: dict) -> list[tuple[str, str | None]]:
    return [(entry["kind"], entry["column"]) for entry in result["issues"]]


def corrupt_row_group(path: Path, row_group: int, column: int) -> None:
    """Overwrite one column chunk of one row group: its footer stays readable, its pages do not decode."""
    chunk = pq.ParquetFile(path).metadata.row_group(row_group).column(column)
    start = chunk.dictionary_page_offset or chunk.data_page_offset
    data = bytearray(path.read_bytes())
    data[start:start + chunk.total_compressed_size] = b"\xab" * chunk.total_compressed_size
    path.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def reference() -> list[dict[str, str]]:
    return schema_of(object_catalog(1, "dp02", seed=0))


# --- pure functions ---------------------------------------------------------------------------

def test_required_columns_expand_bands():
    assert REQUIRED[:3] == ["objectId", "coord_ra", "coord_dec"]
    assert "y_cModelFluxErr" in REQUIRED and len(REQUIRED) == 15
    assert PHOTOMETRIC == [c for c in REQUIRED if c.endswith(("Flux", "FluxErr"))]
    assert checks.expand_columns(["a", "{band}_x", "a"], ("g", "r")) == ["a", "g_x", "r_x"]
    with pytest.raises(ConfigError, match="only '{band}'"):
        checks.expand_columns(["{filter}_psfFlux"])


def test_manifest_formats_and_errors():
    a, b = "a" * 64, "B" * 64
    text = f"{a}  one.parquet\n{b} *./sub/two.parquet\n\n\\{a}  odd\\\\name\\nx.parquet\n{a}  one.parquet\n"
    assert checks.parse_manifest(text, "m.sha256") == {
        "one.parquet": a, "sub/two.parquet": b.lower(), "odd\\name\nx.parquet": a}
    with pytest.raises(ConfigError, match="m.sha256, line 2"):
        checks.parse_manifest(f"{a}  one.parquet\nnot a checksum line\n", "m.sha256")
    with pytest.raises(ConfigError, match="one.parquet is listed twice"):
        checks.parse_manifest(f"{a}  one.parquet\n{b}  one.parquet\n", "m.sha256")


def test_schema_comparison_reports_every_difference():
    reference = [{"name": "a", "type": "int64"}, {"name": "b", "type": "double"}, {"name": "c", "type": "bool"}]
    actual = [{"name": "b", "type": "float"}, {"name": "a", "type": "int64"}, {"name": "d", "type": "double"}]
    difference = checks.compare_schema(reference, actual)
    assert difference == {"missing": ["c"], "extra": ["d"],
                          "type_changed": [{"column": "b", "expected": "double", "found": "float"}]}
    warnings = checks.schema_warnings("f.parquet", difference)
    assert [(w["kind"], w["file"], w["column"]) for w in warnings] == [
        ("schema", "f.parquet", "c"), ("schema", "f.parquet", "d"), ("schema", "f.parquet", "b")]
    assert "type float, reference double" in warnings[2]["message"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_value_stats_count_every_kind(dtype):
    values = np.array([0.0, -0.0, -5.0, np.nan, np.inf, -np.inf, 2.5, 7.0, -1.0], dtype=dtype)
    stats = statistics.value_stats(values, nulls=1)
    assert stats == {"rows": 9, "null": 1, "nan": 1, "inf": 2, "zero": 2, "negative": 2, "min": -5.0, "max": 7.0}
    merged = statistics.merge_stats(stats, statistics.value_stats(np.array([np.nan, 100.0], dtype=dtype)))
    assert (merged["rows"], merged["nan"], merged["max"], merged["min"]) == (11, 2, 100.0, -5.0)
    assert statistics.value_stats(np.array([np.nan], dtype=dtype))["min"] is None
    assert statistics.fractions(statistics.empty_stats())["nan"] is None


def test_photometry_limits_flux_and_error_columns():
    flux = statistics.value_stats(np.array([1.0, -1.0, 0.0, 3.0]))
    (warning,) = checks.photometry_warnings("f", "g_cModelFlux", flux)
    assert warning["column"] == "g_cModelFlux" and "1 zero" in warning["message"]
    assert "negative" not in warning["message"]  # negative fluxes: noise, below the 50% limit
    (warning,) = checks.photometry_warnings("f", "g_cModelFluxErr", statistics.value_stats(np.array([1.0, -1.0, 2.0])))
    assert "1 negative" in warning["message"]
    assert checks.photometry_warnings("f", "g_cModelFlux", statistics.value_stats(np.array([1.0, 2.0]))) == []


def test_histograms_use_the_engine_zero_point():
    histograms = statistics.Histograms.empty()
    flux = np.array([10 ** (-0.4 * (20.02 - ZP_NJY)), 10 ** (-0.4 * (13.0 - ZP_NJY)), 10 ** (-0.4 * (40 - ZP_NJY)),
                     0.0, -3.0, np.nan, np.inf])
    statistics.bin_magnitudes(flux, ZP_NJY, histograms.magnitude[1])
    counts = histograms.magnitude[1]
    expected_bin = int((20.02 - statistics.MAG_START) / statistics.MAG_WIDTH)
    assert counts[1 + expected_bin] == 1 and counts[0] == 1 and counts[statistics.MAG_BINS + 1] == 1
    assert counts[statistics.MAG_BINS + 2] == 4 and counts.sum() == 7
    ra = np.array([0.0, 359.99, 60.1, np.nan, 400.0, 60.1])
    dec = np.array([-90.0, 90.0, -30.0, 0.0, 0.0, -91.0])
    bad_ra, bad_dec, *ranges = statistics.bin_positions(ra, dec, histograms.sky)
    assert (bad_ra, bad_dec) == (2, 1)
    assert ranges == [0.0, 359.99, -90.0, 90.0]
    assert histograms.sky.sum() == 3
    assert histograms.sky[0, 0] == histograms.sky[-1, -1] == 1
    assert histograms.sky[int(60.0 / statistics.SKY_BIN_DEG), int(60.1 / statistics.SKY_BIN_DEG)] == 1
    other = statistics.Histograms.empty()
    other.merge(histograms)
    other.merge(histograms)
    assert other.sky.sum() == 6 and other.magnitude.sum() == 14


def test_footprints_merge():
    a = {**statistics.empty_footprint(), "ra_min": 10.0, "ra_max": 11.0, "dec_min": -5.0, "dec_max": -4.0,
         "tracts": {"12": 3, "9": 1}}
    b = {**statistics.empty_footprint(), "ra_min": 9.0, "ra_max": 10.5, "dec_min": -4.5, "dec_max": -1.0, "bad_ra": 2,
         "tracts": {"12": 1}}
    merged = statistics.merge_footprints(statistics.merge_footprints(statistics.empty_footprint(), a), b)
    assert merged == {"ra_min": 9.0, "ra_max": 11.0, "dec_min": -5.0, "dec_max": -1.0, "bad_ra": 2, "bad_dec": 0,
                      "tracts": {"9": 1, "12": 4}}


def test_good_file_is_fully_checked(tmp_path, reference):
    table = object_catalog(ROWS, "dp02", seed=1, first_id=10, tract=3830)
    result = check(write(tmp_path / "good.parquet", table), reference, expected_rows=ROWS).result
    assert result["issues"] == []
    assert (result["rows"], result["footer_rows"], result["row_groups"]) == (ROWS, ROWS, 3)
    assert result["columns"] == table.num_columns
    assert result["sha256"] == result["expected_sha256"]
    g = table["g_cModelFlux"].to_numpy()
    assert result["photometry"]["g_cModelFlux"]["max"] == g.max()
    assert result["photometry"]["g_cModelFlux"]["negative"] == int((g < 0).sum())
    ra = table["coord_ra"].to_numpy()
    assert (result["footprint"]["ra_min"], result["footprint"]["ra_max"]) == (ra.min(), ra.max())
    assert result["footprint"]["tracts"] == {"3830": ROWS}
    full = check(tmp_path / "good.parquet", reference)
    assert np.array_equal(full.ids, np.arange(10, 10 + ROWS))
    assert full.histograms.magnitude.sum() == 6 * ROWS and full.histograms.sky.sum() == ROWS
    assert full.seconds["checksum"] > 0 and full.seconds["decode"] > 0


def test_sequential_hash_is_the_files_sha256_whatever_the_steps(tmp_path):
    path = tmp_path / "bytes.bin"
    path.write_bytes(np.random.default_rng(3).bytes(3 * (1 << 22) + 5))
    with SequentialHasher(path) as hasher:
        for stop in (4, 4, 3, 1 << 22, 10, 9 << 21, 1 << 40):  # repeated, backwards and past the end
            hasher.hash_up_to(stop)
        assert hasher.hashed == path.stat().st_size and hasher.hexdigest() == sha256(path)
    with SequentialHasher(path) as hasher:
        hasher.hash_up_to(100)
        path.write_bytes(b"short")  # replaced while read
        assert hasher.hexdigest() is None and "shrank" in str(hasher.error)


def test_each_row_group_is_hashed_right_after_it_is_decoded(tmp_path, reference, monkeypatch):
    """The bytes are read from storage once: hashed while the page cache still holds the row group."""
    path = write(tmp_path / "good.parquet", object_catalog(ROWS, "dp02", seed=1))
    metadata = pq.read_metadata(path)
    events = []
    real_read, real_hash = pq.ParquetFile.read_row_group, SequentialHasher.hash_up_to
    monkeypatch.setattr(pq.ParquetFile, "read_row_group",
                        lambda self, i, **kw: events.append(("decode", i)) or real_read(self, i, **kw))
    monkeypatch.setattr(SequentialHasher, "hash_up_to",
                        lambda self, stop: events.append(("hash", min(stop, self.size))) or real_hash(self, stop))
    assert check(path, reference).result["issues"] == []
    ends = [row_group_end(metadata, i) for i in range(3)]
    assert events == [("decode", 0), ("hash", ends[0]), ("decode", 1), ("hash", ends[1]), ("decode", 2),
                      ("hash", ends[2]), ("hash", path.stat().st_size)]
    assert path.stat().st_size - ends[2] < 20_000  # only the footer is left for the end


def test_truncated_file_is_unreadable_but_still_checksummed(tmp_path, reference):
    path = write(tmp_path / "cut.parquet", object_catalog(ROWS, "dp02", seed=1))
    expected = sha256(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    outcome = check(path, reference, expected_sha256=expected)
    assert kinds(outcome.result) == [("checksum", None), ("readable", None)]
    assert "unreadable parquet footer" in outcome.result["issues"][1]["message"]
    assert outcome.result["sha256"] == sha256(path) and outcome.ids.size == 0


def test_undecodable_row_group_is_named_and_the_others_are_read(tmp_path, reference):
    path = write(tmp_path / "bad_page.parquet", object_catalog(ROWS, "dp02", seed=1))
    corrupt_row_group(path, row_group=1, column=5)
    outcome = check(path, reference)
    assert kinds(outcome.result) == [("readable", None)]
    assert "row group 1 of 3 does not decode" in outcome.result["issues"][0]["message"]
    assert outcome.result["bad_row_groups"] == [1]
    assert outcome.result["rows"] == 2 * ROW_GROUP_ROWS and outcome.ids.size == 2 * ROW_GROUP_ROWS


def test_checksum_and_row_count_against_expectations(tmp_path, reference):
    path = write(tmp_path / "f.parquet", object_catalog(ROWS, "dp02", seed=1))
    result = check(path, reference, expected_sha256="0" * 64, expected_rows=ROWS + 1).result
    assert kinds(result) == [("checksum", None), ("row_count", None)]
    assert result["issues"][0]["message"] == f"sha256 {sha256(path)}, the manifest SUMS says {'0' * 64}"
    assert "the release record 301" in result["issues"][1]["message"]


@pytest.mark.parametrize("style", ["dp02", "dp1"])
def test_missing_column_changed_type_and_bad_photometry(tmp_path, style):
    """DP0.2 (float64 fluxes) and DP1 (float32 fluxes, each file checked against its own release's schema)."""
    reference = schema_of(object_catalog(1, style, seed=0))
    table = object_catalog(ROWS, style, seed=1)
    dropped = write(tmp_path / "drop.parquet", table.drop_columns(["r_cModelFlux"]))
    result = check(dropped, reference).result
    assert kinds(result) == [("required_columns", "r_cModelFlux"), ("schema", "r_cModelFlux")]
    assert result["missing_required"] == ["r_cModelFlux"] and "r_cModelFlux" not in result["photometry"]

    index = table.schema.get_field_index("i_cModelFlux")
    stored, other = (pa.float64(), pa.float32()) if style == "dp02" else (pa.float32(), pa.float64())
    assert table.schema.field(index).type == stored
    recast = table.set_column(index, "i_cModelFlux", table["i_cModelFlux"].cast(other))
    result = check(write(tmp_path / "cast.parquet", recast), reference).result
    assert kinds(result) == [("schema", "i_cModelFlux")]
    assert f"type {other}, reference {stored}" in result["issues"][0]["message"]
    assert result["photometry"]["i_cModelFlux"]["rows"] == ROWS

    result = check(write(tmp_path / "bad.parquet", with_bad_photometry(table, "g")), reference).result
    stats = result["photometry"]
    flux, error = stats["g_cModelFlux"], stats["g_cModelFluxErr"]
    assert (flux["zero"], flux["nan"], flux["inf"]) == (1, 1, 1) and flux["negative"] >= 1
    assert (error["nan"], error["inf"], error["negative"], error["zero"]) == (1, 1, 1, 1)
    warned = {entry["column"]: entry["message"] for entry in result["issues"]}
    assert set(warned) == {"g_cModelFlux", "g_cModelFluxErr"}
    assert "1 zero" in warned["g_cModelFlux"] and "1 inf" in warned["g_cModelFlux"]
    assert all(f"1 {kind}" in warned["g_cModelFluxErr"] for kind in ("inf", "zero", "negative"))


def test_empty_file_and_ids_that_cannot_be_checked(tmp_path, reference):
    table = object_catalog(ROWS, "dp02", seed=1)
    result = check(write(tmp_path / "empty.parquet", table.slice(0, 0)), reference, expected_rows=0).result
    assert kinds(result) == [("empty", None)]
    assert result["rows"] == 0 and result["photometry"]["g_cModelFlux"]["min"] is None

    ids = pa.array([None] + list(range(1, ROWS)), pa.int64())
    nulls = table.set_column(0, "objectId", ids)
    outcome = check(write(tmp_path / "nulls.parquet", nulls), reference)
    assert kinds(outcome.result) == [("unique_ids", "objectId")] and outcome.ids.size == ROWS - 1
    floats = table.set_column(0, "objectId", table["objectId"].cast(pa.float64()))
    outcome = check(write(tmp_path / "float_ids.parquet", floats), reference)
    assert kinds(outcome.result) == [("schema", "objectId"), ("unique_ids", "objectId")]


def test_owner_ranks_spread_ids():
    ids = np.arange(0, 4000 * 16, 16, dtype=np.int64)  # a stride that id % size would pile on one rank
    owners = sharding.owner_ranks(ids, 4)
    assert owners.min() >= 0 and owners.max() == 3
    assert np.bincount(owners).min() > 800
    assert np.array_equal(owners, sharding.owner_ranks(ids.copy(), 4))


def test_find_duplicates_within_and_across_files():
    ids = np.array([5, 1, 2, 3, 3, 9, 2, 7, 7, 7, 8], dtype=np.int64)
    files = np.array([0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2], dtype=np.int32)
    found = duplicates.find_duplicates(ids, files, n_files=3)
    assert (found["ids"], found["within_file"], found["across_files"], found["extra_rows"]) == (3, 2, 2, 4)
    assert found["examples"] == [[2, [[0, 1], [1, 1]]], [3, [[0, 2]]], [7, [[1, 1], [2, 2]]]]
    assert found["rows_per_file"].tolist() == [[2, 0, 2], [1, 2, 2]]
    assert duplicates.find_duplicates(ids, files, 3, max_examples=1)["examples"] == [[2, [[0, 1], [1, 1]]]]
    assert duplicates.find_duplicates(np.empty(0, np.int64), np.empty(0, np.int32), 3)["ids"] == 0


@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_duplicate_summary_does_not_depend_on_the_number_of_owners(size):
    rng = np.random.default_rng(7)
    ids = rng.integers(0, 500, 800)
    files = rng.integers(0, 6, 800).astype(np.int32)
    whole = duplicates.find_duplicates(ids, files, 6, max_examples=15)
    owners = sharding.owner_ranks(ids, size)
    parts = [duplicates.find_duplicates(ids[owners == r], files[owners == r], 6, max_examples=15) for r in range(size)]
    assert np.array_equal(sum(p.pop("rows_per_file") for p in parts), whole.pop("rows_per_file"))
    assert duplicates.merge_duplicate_summaries(parts, max_examples=15) == whole


def test_alltoallv_on_one_rank():
    comm = mpi.world().Dup()
    ids, files = mpi.alltoallv_arrays(comm, [np.arange(4, dtype=np.int64), np.arange(4, dtype=np.int32)], [4])
    assert ids.tolist() == [0, 1, 2, 3] and files.dtype == np.int32
    with pytest.raises(ValueError, match="2 counts for 1 ranks"):
        mpi.alltoallv_arrays(comm, [np.arange(4)], [2, 2])
    assert mpi.reduce_sum_to_root(comm, np.ones((2, 2), dtype=np.int64)).sum() == 4
    comm.Free()


def test_distributed_duplicates_on_one_rank_take_the_arrays():
    comm = mpi.world().Dup()
    id_parts = [np.array([1, 2, 3, 2], dtype=np.int64), np.array([3, 4], dtype=np.int64)]
    file_parts = [np.zeros(4, dtype=np.int32), np.ones(2, dtype=np.int32)]
    summary, rows_per_file = duplicates.distributed_duplicates(comm, id_parts, file_parts, 2)
    assert id_parts == [] and file_parts == []
    assert (summary["ids"], summary["within_file"], summary["across_files"], summary["extra_rows"]) == (2, 1, 1, 2)
    assert summary["examples"] == [[2, [[0, 2]]], [3, [[0, 1], [1, 1]]]]
    assert rows_per_file.tolist() == [[2, 0], [1, 1]]
    comm.Free()


@pytest.mark.mpi
def test_alltoallv_under_mpiexec(tmp_path):
    script = tmp_path / "exchange.py"
    script.write_text(textwrap.dedent("""
        import numpy as np
        from pzmpi.core import mpi
        comm = mpi.world()
        rank, size = comm.Get_rank(), comm.Get_size()
        counts = [rank + dest for dest in range(size)]  # rank r sends r + d values to rank d
        values = np.concatenate([np.full(c, 100 * rank + dest, dtype=np.int64) for dest, c in enumerate(counts)])
        (received,) = mpi.alltoallv_arrays(comm, [values], counts)
        expected = np.concatenate([np.full(src + rank, 100 * src + rank) for src in range(size)])
        assert np.array_equal(received, expected), (rank, received)
        total = mpi.reduce_sum_to_root(comm, np.full(3, rank, dtype=np.int64))
        if rank == 0:
            assert total.tolist() == [sum(range(size))] * 3
            print("exchange ok")
    """))
    import subprocess

    result = subprocess.run(["mpiexec", "-n", "3", sys.executable, str(script)], env=mpi_environment(),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "exchange ok" in result.stdout


# --- under mpiexec, on a release with every problem ---------------------------------------------

GOOD = ["good_a.parquet", "good_b.parquet"]


def build_damaged_release(root: Path) -> tuple[Path, Path]:
    """A release whose catalog has every problem verify must report; returns (catalog folder, manifest).

    The manifest is written from the files as shipped; then the "transfer" truncates
    one file, changes the bytes of another, loses a third and adds a file the
    manifest does not list. The release record is made from the files as received.
    """
    catalog = root / "catalog"
    catalog.mkdir(parents=True)
    table = {name: object_catalog(ROWS, "dp02", seed=i, first_id=1 + i * ROWS, tract=3828 + i)
             for i, name in enumerate(GOOD + ["cut.parquet", "altered.parquet", "lost.parquet", "extra.parquet",
                                              "no_flux.parquet", "recast.parquet", "dups.parquet", "bad_phot.parquet",
                                              "empty.parquet"])}
    for name in GOOD + ["cut.parquet", "altered.parquet", "lost.parquet"]:
        write(catalog / name, table[name])
    write(catalog / "no_flux.parquet", table["no_flux.parquet"].drop_columns(["r_cModelFlux"]))
    recast = table["recast.parquet"]
    write(catalog / "recast.parquet", recast.set_column(recast.schema.get_field_index("tract"), "tract",
                                                          recast["tract"].cast(pa.int32())))
    dups = table["dups.parquet"]
    ids = dups["objectId"].to_numpy().copy()
    ids[:50] = np.arange(ROWS + 1, ROWS + 51)  # the first 50 ids of good_b.parquet
    ids[101] = ids[100]
    write(catalog / "dups.parquet", dups.set_column(0, "objectId", pa.array(ids)))
    write(catalog / "bad_phot.parquet", with_bad_photometry(table["bad_phot.parquet"], "g"))
    write(catalog / "empty.parquet", table["empty.parquet"].slice(0, 0))
    manifest = root / "SHA256SUMS"
    manifest.write_text("".join(f"{sha256(p)}  {p.name}\n" for p in sorted(catalog.glob("*.parquet"))))

    cut = catalog / "cut.parquet"
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size * 2 // 3])
    write(catalog / "altered.parquet", table["altered.parquet"], row_group_rows=150)  # same rows, other bytes
    (catalog / "lost.parquet").unlink()
    write(catalog / "extra.parquet", table["extra.parquet"])
    described = [describe_file(p, catalog) for p in sorted(catalog.glob("*.parquet"))]
    create_release(root / "releases", "damaged", catalog, described, "test")
    return catalog, manifest


@pytest.fixture(scope="module")
def damaged(tmp_path_factory) -> dict:
    """The damaged release verified with its manifest on 1 rank and on 3 ranks."""
    root = tmp_path_factory.mktemp("damaged")
    catalog, manifest = build_damaged_release(root)
    runs = {}
    for ranks in (1, 3):
        result = run_pzmpi(["verify", "damaged", "--releases", str(root / "releases"), "--manifest", str(manifest)],
                           ranks=ranks, cwd=root)
        runs[ranks] = result
    record = Release.open(root / "releases", "damaged").record
    reports = [json.loads(Path(run["report_json"]).read_text()) for run in record["verify_runs"]]
    return {"root": root, "catalog": catalog, "runs": runs, "record": record, "reports": reports}


def issues_of(report: dict, file: str) -> list[tuple[str, str | None]]:
    return sorted((e["kind"], e["column"]) for e in report["failures"] + report["warnings"] if e["file"] == file)


@pytest.mark.mpi
def test_every_problem_is_reported_with_file_and_column(damaged):
    for ranks, result in damaged["runs"].items():
        assert result.returncode == command.EXIT_BLOCKING_FAILURE, (ranks, result.stdout, result.stderr)
    report = damaged["reports"][0]
    assert not report["passed"]
    assert issues_of(report, "cut.parquet") == [("checksum", None), ("readable", None)]
    assert issues_of(report, "altered.parquet") == [("checksum", None)]
    assert issues_of(report, "lost.parquet") == [("present", None)]
    assert issues_of(report, "extra.parquet") == [("checksum", None)]
    assert issues_of(report, "no_flux.parquet") == [("required_columns", "r_cModelFlux"), ("schema", "r_cModelFlux")]
    assert issues_of(report, "recast.parquet") == [("schema", "tract")]
    assert issues_of(report, "dups.parquet") == [("unique_ids", "objectId")]
    assert issues_of(report, "good_b.parquet") == [("unique_ids", "objectId")]
    assert issues_of(report, "bad_phot.parquet") == [("photometry", "g_cModelFlux"), ("photometry", "g_cModelFluxErr")]
    assert issues_of(report, "empty.parquet") == [("empty", None)]
    assert issues_of(report, "good_a.parquet") == []
    assert report["counts"]["failures"] == {"present": 1, "readable": 1, "checksum": 3, "row_count": 0,
                                            "required_columns": 1, "unique_ids": 2}
    assert {c["check"]: c["passed"] for c in report["checks"]}["schema"] is False
    assert report["checksums_from"] == "the manifest SHA256SUMS"


@pytest.mark.mpi
def test_duplicates_and_statistics_in_the_report(damaged):
    report = damaged["reports"][0]
    found = report["duplicates"]
    assert (found["ids"], found["within_file"], found["across_files"]) == (51, 1, 50)
    assert found["examples"][0] == {"id": ROWS + 1, "files": [{"file": "dups.parquet", "rows": 1},
                                                                    {"file": "good_b.parquet", "rows": 1}]}
    assert len(found["examples"]) == duplicates.DUPLICATE_EXAMPLES == found["max_examples"]
    files = {f["file"]: f for f in report["files"]}
    assert files["dups.parquet"]["duplicate_rows"] == {"within_file": 2, "across_files": 50}
    assert files["good_b.parquet"]["duplicate_rows"] == {"within_file": 0, "across_files": 50}
    bad = files["bad_phot.parquet"]["photometry"]
    assert (bad["g_cModelFlux"]["zero"], bad["g_cModelFlux"]["nan"], bad["g_cModelFlux"]["inf"]) == (1, 1, 1)
    assert (bad["g_cModelFluxErr"]["negative"], bad["g_cModelFluxErr"]["zero"]) == (1, 1)
    for name, tract in (("good_a.parquet", 3828), ("good_b.parquet", 3829), ("altered.parquet", 3831)):
        entry = files[name]  # good files are fully checked, whatever else failed
        assert (entry["rows"], entry["footer_rows"], len(entry["photometry"])) == (ROWS, ROWS, 12)
        assert entry["sha256"] == sha256(damaged["catalog"] / name)
        assert entry["footprint"]["tracts"] == {str(tract): ROWS}
    assert files["lost.parquet"]["present"] is False
    present_rows = sum(f["rows"] for f in report["files"] if f["present"])
    assert report["counts"]["rows"] == present_rows == 8 * ROWS  # 11 files: cut unreadable, empty, lost
    magnitude = report["histograms"]["magnitude"]["bands"]["g"]
    binned = magnitude["below"] + sum(magnitude["counts"]) + magnitude["above"]
    assert binned + magnitude["no_magnitude"] == present_rows
    assert sum(map(sum, report["histograms"]["sky"]["counts"])) == present_rows
    assert report["photometry"]["g_cModelFlux"]["zero"] >= 1


@pytest.mark.mpi
def test_one_and_three_ranks_give_the_same_report(damaged):
    one, three = damaged["reports"]
    assert one["run"]["ranks"] == 1 and three["run"]["ranks"] == 3
    assert {k: v for k, v in one.items() if k != "run"} == {k: v for k, v in three.items() if k != "run"}
    assert damaged["runs"][1].stdout.split("report:")[0] == damaged["runs"][3].stdout.split("report:")[0]


@pytest.mark.mpi
def test_summary_record_and_html(damaged):
    stdout = damaged["runs"][3].stdout
    assert "FAILED" in stdout
    for line in ("readable: cut.parquet", "checksum: altered.parquet",
                 "checksum: extra.parquet: not listed in the manifest SHA256SUMS",
                 "present: lost.parquet", "required_columns: no_flux.parquet [r_cModelFlux]",
                 "unique_ids: dups.parquet [objectId]", "unique_ids: good_b.parquet [objectId]"):
        assert line in stdout
    runs = damaged["record"]["verify_runs"]
    assert len(runs) == 2 and runs[0]["passed"] is False and runs[0]["failures"]["checksum"] == 3
    html = Path(runs[1]["report_html"]).read_text()
    assert html.count("data:image/png;base64,") == 3
    assert "r_cModelFlux" in html and "no_flux.parquet" in html and "FAILED" in html
    assert damaged["record"]["history"][-1]["command"].startswith("pzmpi verify damaged")


@pytest.mark.mpi
def test_clean_release_passes_with_record_checksums(tmp_path):
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    for i, name in enumerate(GOOD):
        write(catalog / name, object_catalog(ROWS, "dp1", seed=i, first_id=1 + i * ROWS, tract=3828 + i))
    described = [describe_file(p, catalog) for p in sorted(catalog.iterdir())]
    create_release(tmp_path / "releases", "dp1", catalog, described, "test")
    arguments = ["verify", "dp1", "--releases", str(tmp_path / "releases")]
    result = run_pzmpi(arguments, ranks=2, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASSED" in result.stdout and "release record" in result.stdout

    write(catalog / GOOD[1], object_catalog(ROWS, "dp1", seed=9, first_id=1 + ROWS, tract=3829))
    result = run_pzmpi(arguments + ["--required", "objectId", "{band}_psfFlux"], ranks=2, cwd=tmp_path)
    assert result.returncode == command.EXIT_BLOCKING_FAILURE
    assert f"checksum: {GOOD[1]}: sha256" in result.stdout
    record = Release.open(tmp_path / "releases", "dp1").record
    report = json.loads(Path(record["verify_runs"][-1]["report_json"]).read_text())
    assert report["photometric_columns"] == [f"{b}_psfFlux" for b in "ugrizy"]
    assert [r["passed"] for r in record["verify_runs"]] == [True, False]


@pytest.mark.mpi
def test_configuration_problems_exit_2_on_every_rank(tmp_path):
    result = run_pzmpi(["verify", "nowhere", "--releases", str(tmp_path)], ranks=2)
    assert result.returncode == 2 and result.stderr.count("no release 'nowhere'") == 1
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    write(catalog / "a.parquet", object_catalog(10, "dp02", seed=0))
    create_release(tmp_path / "releases", "r", catalog, [describe_file(catalog / "a.parquet", catalog)], "test")
    bad = tmp_path / "bad.sha256"
    bad.write_text("nonsense\n")
    result = run_pzmpi(["verify", "r", "--releases", str(tmp_path / "releases"), "--manifest", str(bad)], ranks=2)
    assert result.returncode == 2 and "bad.sha256, line 1" in result.stderr

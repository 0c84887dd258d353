"""pzmpi skinny: magnitudes equal the plain formulas, invalid photometry follows the policy, and the
MPI command writes the same bytes on any number of ranks, reports bad inputs, resumes and feeds pzmpi run."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import h5py
import hpgeom
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from astropy import units
from astropy.coordinates import SkyCoord
from conftest import run_pzmpi, write_config

from pzmpi.acquire.release_init import catalog_files, create_release, describe_file
from pzmpi.acquire.skinny.command import result_settings
from pzmpi.acquire.skinny.config import build_skinny_config
from pzmpi.acquire.skinny.convert import check_schema, convert_chunk
from pzmpi.acquire.skinny.output import STATISTICS_COLUMNS, encode_table, mag_column, magerr_column, output_schema
from pzmpi.acquire.skinny.process import process_pieces, regroup_rows
from pzmpi.acquire.skinny.slicing import InputFooter, adjacent_runs, release_inputs, slice_rows, split_inputs
from pzmpi.core.errors import ConfigError, InputFileError
from pzmpi.core.release import Release
from pzmpi.datasets.synthetic import object_catalog, with_bad_photometry, write_catalog
from pzmpi.estimators.cleaning import clean_chunk
from pzmpi.estimators.config import CleaningConfig, InputConfig
from pzmpi.io.catalog import CatalogFile, chunk_of_batch
from pzmpi.photometry.bands import LSST_EXTINCTION, LSST_MAG_LIMITS
from pzmpi.photometry.dust import load_map

ZP = 2.5 * np.log10(3631e9)  # REFERENCE.md section 2: m = -2.5 log10(f / nJy) + 2.5 log10(3631e9)
BANDS = ["u", "g", "r", "i", "z", "y"]


def make_config(tmp_path: Path, preset: str = "dp02", **sections: dict):
    raw = {"input": {"preset": preset}, "output": {"folder": "out"}}
    for section, keys in sections.items():
        raw.setdefault(section, {}).update(keys)
    return build_skinny_config(raw, base_dir=tmp_path, source=str(tmp_path / "skinny.toml"))


def as_chunk(table: pa.Table, columns: list[str]) -> dict[str, np.ndarray]:
    """The table's columns as the reader hands them to the conversion (nulls as NaN or False)."""
    return chunk_of_batch("x.parquet", table.select(columns).combine_chunks().to_batches()[0], columns)


def expected_magnitudes(table: pa.Table, band: str, ebv: np.ndarray | float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """REFERENCE.md's formulas in plain float64 numpy (meaningful for valid fluxes only)."""
    flux = table[f"{band}_cModelFlux"].to_numpy().astype(np.float64)
    error = table[f"{band}_cModelFluxErr"].to_numpy().astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = -2.5 * np.log10(flux) + ZP - LSST_EXTINCTION[band] * ebv
        mag_err = 2.5 / np.log(10.0) * error / flux
    return mag, mag_err


def valid(table: pa.Table, band: str) -> np.ndarray:
    flux = table[f"{band}_cModelFlux"].to_numpy().astype(np.float64)
    error = table[f"{band}_cModelFluxErr"].to_numpy().astype(np.float64)
    return np.isfinite(flux) & (flux > 0) & np.isfinite(error) & (error >= 0)


# -- configuration -------------------------------------------------------------------------------------------

def test_presets_name_the_rubin_columns(tmp_path):
    dp02 = make_config(tmp_path, "dp02")
    assert dp02.input_columns()[:5] == ["objectId", "coord_ra", "coord_dec", "u_cModelFlux", "u_cModelFluxErr"]
    assert dp02.columns["primary_column"] == "detect_isPrimary" and "ebv" not in dp02.input_columns()
    dp1 = make_config(tmp_path, "dp1", dereddening={"method": "column"})
    assert dp1.columns["primary_column"] == "" and dp1.input_columns()[-1] == "ebv"
    assert make_config(tmp_path, "dp02", input={"primary_cut": False}).columns["primary_column"] == ""
    custom = make_config(tmp_path, "", input={"id_column": "id", "ra_column": "ra", "dec_column": "dec",
                                              "flux_column": "flux_{band}", "flux_error_column": "err_{band}",
                                              "bands": ["g", "r"]})
    assert custom.input_columns() == ["id", "ra", "dec", "flux_g", "err_g", "flux_r", "err_r"]
    assert custom.folder == str(tmp_path / "out")


@pytest.mark.parametrize("preset, sections, message", [
    ("", {}, "'input.id_column' is required without an 'input.preset'"),
    ("dp3", {}, "'input.preset' must be one of dp02, dp1"),
    ("dp02", {"dereddening": {"method": "column"}}, "'dereddening.ebv_column' is required"),
    ("dp1", {"dereddening": {"method": "map"}}, "'dereddening.map' is required"),
    ("dp1", {"dereddening": {"method": "sfd"}}, "'dereddening.method' must be one of"),
    ("dp1", {"input": {"flux_column": "flux"}}, "must contain '{band}'"),
    ("dp1", {"output": {"decimals": 12}}, "'output.decimals'"),
    ("dp1", {"output": {"nondetect_val": 30.0}}, "could be a real magnitude"),
    ("dp1", {"output": {"max_rows_per_file": 0}}, "'output.max_rows_per_file' must be at least 1"),
    ("dp1", {"output": {"mag_limits": {"u": 27.0}}}, "'output.mag_limits' has no number for band(s) g"),
    ("dp1", {"output": {"rows": 5}}, "unknown key 'output.rows'"),
])
def test_configuration_mistakes_name_the_key(tmp_path, preset, sections, message):
    with pytest.raises(ConfigError) as error:
        make_config(tmp_path, preset, **sections)
    assert message in str(error.value) and "skinny.toml" in str(error.value)


def test_result_key_ignores_what_cannot_change_the_bytes(tmp_path):
    base = make_config(tmp_path).result_key("")
    assert make_config(tmp_path, run={"rows_per_chunk": 7, "threads_per_rank": 2},
                       output={"folder": "elsewhere", "resume": False}).result_key("") == base
    assert make_config(tmp_path, output={"decimals": 3}).result_key("") != base
    assert make_config(tmp_path, output={"compression": "zstd"}).result_key("") != base


# -- conversion ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("style", ["dp02", "dp1"])
def test_magnitudes_equal_the_formulas_to_float32_precision(tmp_path, style):
    table = object_catalog(3000, style, seed=3)
    dered = {"method": "column"} if style == "dp1" else {}
    config = make_config(tmp_path, style, dereddening=dered)
    out = convert_chunk(as_chunk(table, config.input_columns()), config, None).columns
    keep = table["detect_isPrimary"].to_numpy() if style == "dp02" else np.ones(table.num_rows, bool)
    ebv = table["ebv"].to_numpy().astype(np.float64) if style == "dp1" else 0.0
    np.testing.assert_array_equal(out["objectId"], table["objectId"].to_numpy()[keep])
    np.testing.assert_array_equal(out["coord_ra"], table["coord_ra"].to_numpy()[keep])
    for band in BANDS:
        mag, mag_err = expected_magnitudes(table, band, ebv)
        good = valid(table, band)[keep]
        assert out[mag_column(band)].dtype == np.float32 and out[magerr_column(band)].dtype == np.float32
        np.testing.assert_array_max_ulp(out[mag_column(band)][good], mag[keep][good].astype(np.float32), maxulp=1)
        np.testing.assert_array_max_ulp(out[magerr_column(band)][good], mag_err[keep][good].astype(np.float32),
                                        maxulp=1)
        assert good.mean() > 0.9


@pytest.mark.parametrize("style", ["dp02", "dp1"])
@pytest.mark.parametrize("nondetect", [99.0, -99.0, math.nan])
def test_invalid_photometry_is_a_nondetection_never_inf_nan_or_negative_error(tmp_path, style, nondetect):
    table = with_bad_photometry(object_catalog(200, style, seed=4), "g")
    flux = table["r_cModelFlux"].to_numpy().copy()
    flux[10], flux[11] = -np.inf, np.nan
    table = table.set_column(table.schema.get_field_index("r_cModelFlux"), "r_cModelFlux",
                             pa.array(flux, mask=np.arange(200) == 11))  # row 11: a null flux
    config = make_config(tmp_path, style, input={"primary_cut": False}, output={"nondetect_val": nondetect})
    converted = convert_chunk(as_chunk(table, config.input_columns()), config, None)
    for band in BANDS:
        mags, errs = converted.columns[mag_column(band)], converted.columns[magerr_column(band)]
        detected = valid(table, band)
        marked = np.isnan(mags) if math.isnan(nondetect) else mags == np.float32(nondetect)
        np.testing.assert_array_equal(marked, ~detected, err_msg=band)
        assert converted.nondetections[band] == np.count_nonzero(~detected)
        assert np.all(np.isfinite(errs)) and np.all(errs >= 0)
        assert np.all(np.isfinite(mags[detected]))
    assert not valid(table, "g")[:7].any() and not valid(table, "r")[[10, 11]].any()
    # a non-detection's error: its 1-sigma limiting magnitude when its flux error is usable, else the band limit
    err = converted.columns["magerr_g"]
    flux_err = table["g_cModelFluxErr"].to_numpy().astype(np.float64)
    np.testing.assert_allclose(err[:4], (-2.5 * np.log10(flux_err[:4]) + ZP).astype(np.float32), rtol=1e-6)
    assert np.all(err[4:7] == np.float32(LSST_MAG_LIMITS["g"]))
    assert err[7] == (0.0 if valid(table, "g")[7] else np.float32(LSST_MAG_LIMITS["g"]))  # a zero flux error


def test_primary_cut_keeps_primary_rows_in_order_and_a_null_flag_drops_the_row(tmp_path):
    table = object_catalog(500, "dp02", seed=6)
    flags = table["detect_isPrimary"].to_numpy()
    table = table.set_column(table.schema.get_field_index("detect_isPrimary"), "detect_isPrimary",
                             pa.array(flags, mask=np.arange(500) == 0))
    config = make_config(tmp_path, "dp02")
    out = convert_chunk(as_chunk(table, config.input_columns()), config, None)
    expected = table["objectId"].to_numpy()[flags & (np.arange(500) != 0)]
    np.testing.assert_array_equal(out.columns["objectId"], expected)
    assert out.rows_read == 500 and 400 < len(expected) < 500


def test_a_chunk_without_a_primary_row_writes_no_row(tmp_path):
    table = object_catalog(300, "dp02", seed=6)
    table = table.set_column(table.schema.get_field_index("detect_isPrimary"), "detect_isPrimary",
                             pa.array(np.zeros(300, dtype=bool)))
    config = make_config(tmp_path, "dp02")
    out = convert_chunk(as_chunk(table, config.input_columns()), config, None)
    assert out.rows_read == 300 and all(len(values) == 0 for values in out.columns.values())
    assert out.nondetections == {band: 0 for band in config.bands}


def test_rounding_to_n_decimals(tmp_path):
    table = object_catalog(1000, "dp1", seed=7)
    config = make_config(tmp_path, "dp1", output={"decimals": 3})
    out = convert_chunk(as_chunk(table, config.input_columns()), config, None).columns
    good = valid(table, "i")
    mag, mag_err = expected_magnitudes(table, "i")
    np.testing.assert_array_equal(out["mag_i"][good], np.round(mag[good], 3).astype(np.float32))
    np.testing.assert_array_equal(out["magerr_i"][good], np.round(mag_err[good], 3).astype(np.float32))
    assert np.all(out["mag_i"][~good] == 99.0)


def test_output_files_have_required_columns_and_statistics_only_where_readers_skip(tmp_path):
    table = object_catalog(3000, "dp1", seed=11)
    config = make_config(tmp_path, "dp1", output={"row_group_rows": 1000})
    converted = convert_chunk(as_chunk(table, config.input_columns()), config, None).columns
    def encode() -> bytes:
        return encode_table(converted, config.bands, config.row_group_rows, config.compression, {"rows": 3000})

    content = encode()
    assert encode() == content
    parquet = pq.ParquetFile(pa.BufferReader(content))
    names = output_schema(config.bands).names
    assert parquet.schema_arrow.names == names and not any(f.nullable for f in parquet.schema_arrow)
    assert [parquet.schema_arrow.field(name).type for name in names[:4]] == [pa.int64(), pa.float64(), pa.float64(),
                                                                            pa.float32()]
    assert json.loads(parquet.schema_arrow.metadata[b"pzmpi.skinny"]) == {"rows": 3000}
    assert parquet.metadata.num_row_groups == 3
    for group in range(3):
        chunks = {chunk.path_in_schema: chunk
                  for chunk in (parquet.metadata.row_group(group).column(i) for i in range(len(names)))}
        assert {name for name, chunk in chunks.items() if chunk.is_stats_set} == set(STATISTICS_COLUMNS)
        ids = converted["objectId"][group * 1000:(group + 1) * 1000]
        assert (chunks["objectId"].statistics.min, chunks["objectId"].statistics.max) == (ids.min(), ids.max())
        assert all("RLE_DICTIONARY" not in chunk.encodings for chunk in chunks.values())
        assert {name for name, chunk in chunks.items() if "BYTE_STREAM_SPLIT" in chunk.encodings} == \
            {mag_column(b) for b in config.bands} | {magerr_column(b) for b in config.bands} | {"coord_ra", "coord_dec"}
        assert "DELTA_BINARY_PACKED" in chunks["objectId"].encodings
    read = parquet.read()
    for name in names:
        np.testing.assert_array_equal(read[name].to_numpy(), converted[name], err_msg=name)


def test_files_are_cut_into_row_ranges_named_after_the_input():
    inputs = [InputFooter("b/tract2.parquet", "/c/b/tract2.parquet", 10, 2500),
              InputFooter("tract1.parquet", "/c/tract1.parquet", 20, 900),
              InputFooter("empty.parquet", "/c/empty.parquet", 5, 0)]
    pieces = split_inputs(inputs, 1000)
    assert [p.output_name for p in pieces] == ["b__tract2.rows0-1000.parquet", "b__tract2.rows1000-2000.parquet",
                                               "b__tract2.rows2000-2500.parquet", "tract1.parquet"]
    assert max(p.num_rows for p in pieces) <= 1000 and sum(p.num_rows for p in pieces) == 3400
    with pytest.raises(ConfigError, match="would both write a__b.parquet"):
        split_inputs([InputFooter("a/b.parquet", "1", 1, 1), InputFooter("a__b.parquet", "2", 1, 1)], 10)


@pytest.mark.parametrize("seed", range(30))
def test_slices_are_as_few_as_cutting_every_max_rows_and_cut_at_row_groups_where_they_can(seed):
    rng = np.random.default_rng(seed)
    max_rows = int(rng.integers(1, 2000))
    row_groups = tuple(int(r) for r in rng.integers(0, 3 * max_rows, size=int(rng.integers(1, 12))))
    ranges = slice_rows(row_groups, max_rows)
    total = sum(row_groups)
    assert len(ranges) == -(-total // max_rows)
    assert [a for a, _ in ranges] == [0] + [b for _, b in ranges[:-1]] and (ranges[-1][1] if ranges else 0) == total
    assert all(0 < b - a <= max_rows for a, b in ranges)
    boundaries = set(np.cumsum(row_groups).tolist())
    for k, (a, b) in enumerate(ranges[:-1], start=1):  # a cut inside a row group only where no boundary could do
        if b not in boundaries:
            lowest = total - (len(ranges) - k) * max_rows  # what the ranges after the cut can hold
            assert b == a + max_rows and not [e for e in boundaries if max(lowest, a + 1) <= e <= b]


def test_slices_pack_whole_row_groups_when_that_costs_no_extra_file():
    assert slice_rows((50_000,) * 8, 150_000) == [(0, 150_000), (150_000, 300_000), (300_000, 400_000)]
    assert slice_rows((300, 1200, 300, 300), 1000) == [(0, 300), (300, 1300), (1300, 2100)]
    assert slice_rows((2500,), 1000) == [(0, 1000), (1000, 2000), (2000, 2500)]  # one row group: every max_rows
    assert slice_rows((2000,) * 25, 25_000) == [(0, 25_000), (25_000, 50_000)]  # aligning would cost a third file
    inputs = [InputFooter("t.parquet", "/t.parquet", 1, 400, (100,) * 4), InputFooter("u.parquet", "/u.parquet", 1,
                                                                                        400)]
    assert [p.output_name for p in split_inputs(inputs, 250)] == [
        "t.rows0-200.parquet", "t.rows200-400.parquet", "u.rows0-250.parquet", "u.rows250-400.parquet"]


def test_the_release_record_gives_the_row_groups_that_slices_follow(tmp_path):
    write_catalog(tmp_path / "catalog", "dp1", 2, 1000, row_group_rows=300)
    make_release(tmp_path / "releases", "dp1", tmp_path / "catalog")
    release = Release.open(tmp_path / "releases", "dp1")
    footers, unreadable = release_inputs(release)
    assert unreadable == {} and [f.row_groups for f in footers] == [(300, 300, 300, 100)] * 2
    assert [(p.row_start, p.row_stop) for p in split_inputs(footers[:1], 700)] == [(0, 600), (600, 1000)]
    release.files[0]["row_groups"] = [300, 300]  # edited by hand: no longer the file's rows
    assert release_inputs(release)[0][0].row_groups == ()


def test_regrouping_a_stream_gives_exactly_each_size_in_order():
    chunks = [{"i": np.arange(a, b)} for a, b in ((0, 7), (7, 8), (8, 30), (30, 31))]
    groups = list(regroup_rows(iter(chunks), [3, 10, 0, 17, 1]))
    assert [sum(len(c["i"]) for c in g) for g in groups] == [3, 10, 0, 17, 1]
    np.testing.assert_array_equal(np.concatenate([c["i"] for g in groups for c in g]), np.arange(31))


def test_adjacent_ranges_of_one_file_form_one_run():
    pieces = split_inputs([InputFooter("a.parquet", "/a.parquet", 1, 2500), InputFooter("b.parquet", "/b.parquet", 1,
                                                                                          900)], 1000)
    assert [[p.output_name for p in run] for run in adjacent_runs(pieces)] == [
        ["a.rows0-1000.parquet", "a.rows1000-2000.parquet", "a.rows2000-2500.parquet"], ["b.parquet"]]
    assert [len(run) for run in adjacent_runs([pieces[0], pieces[2], pieces[3]])] == [1, 1, 1]


def file_pieces(tmp_path: Path, path: Path, max_rows: int, **output):
    config = make_config(tmp_path, "dp02", output={"max_rows_per_file": max_rows, **output})
    Path(config.folder).mkdir(exist_ok=True)
    footer = InputFooter(path.name, str(path), path.stat().st_size, pq.read_metadata(path).num_rows)
    return config, split_inputs([footer], max_rows)


def run_pieces(config, pieces) -> dict:
    settings = result_settings(config)
    return {piece.output_name: outcome for piece, outcome in
            process_pieces(pieces, config, None, settings["result_key"], settings["settings"])}


def count_opens(monkeypatch) -> list[str]:
    import pzmpi.acquire.skinny.process

    opened: list[str] = []
    monkeypatch.setattr(pzmpi.acquire.skinny.process, "CatalogFile", lambda path, columns: opened.append(path) or CatalogFile(path, columns))
    return opened


def test_a_files_ranges_are_read_in_one_pass_and_written_as_when_read_apart(tmp_path, monkeypatch):
    (path,) = write_catalog(tmp_path / "catalog", "dp02", 1, 5000, row_group_rows=1500)
    config, pieces = file_pieces(tmp_path, path, 1200, resume=False)
    opened = count_opens(monkeypatch)
    together = run_pieces(config, pieces)
    assert opened == [str(path)] and len(together) == 5 and not any(o.error for o in together.values())
    digests_together = digests(Path(config.folder))
    apart = {}
    for piece in pieces:  # one piece at a time: the file opened anew, row groups at the cuts decoded twice
        apart.update(run_pieces(config, [piece]))
    assert len(opened) == 6 and digests(Path(config.folder)) == digests_together
    assert {n: (o.rows, o.sha256, o.nondetections) for n, o in apart.items()} == \
        {n: (o.rows, o.sha256, o.nondetections) for n, o in together.items()}


def test_a_damaged_row_group_fails_only_the_ranges_it_holds(tmp_path, monkeypatch):
    (path,) = write_catalog(tmp_path / "catalog", "dp02", 1, 3000, row_group_rows=1000)
    group = pq.read_metadata(path).row_group(1)
    offset = min(group.column(i).data_page_offset for i in range(group.num_columns))
    damaged = bytearray(path.read_bytes())
    damaged[offset:offset + 64] = b"\xff" * 64  # the page headers of row group 1 no longer parse
    path.write_bytes(bytes(damaged))
    config, pieces = file_pieces(tmp_path, path, 1000)
    opened = count_opens(monkeypatch)
    outcomes = run_pieces(config, pieces)
    names = [p.output_name for p in pieces]
    assert [bool(outcomes[n].error) for n in names] == [False, True, False]
    assert outcomes[names[1]].error.startswith(f"{path}: cannot decode rows 1000-2000")
    assert sorted(digests(Path(config.folder))) == [names[0], names[2]]
    assert opened == [str(path)]  # the retries read the open file again: its footer is parsed once


def test_a_file_that_changed_fails_each_of_its_ranges_after_one_open(tmp_path, monkeypatch):
    (path,) = write_catalog(tmp_path / "catalog", "dp1", 1, 3000)
    config, pieces = file_pieces(tmp_path, path, 1000)
    pq.write_table(pq.read_table(path).slice(0, 2500), path)  # after the registration
    opened = count_opens(monkeypatch)
    outcomes = run_pieces(config, pieces)
    assert len(outcomes) == 3 and opened == [str(path)]
    assert all(o.error.startswith(f"{path}: ") and "2500 rows, where the release record has" in o.error
               and "3000 rows" in o.error for o in outcomes.values())


def test_a_row_range_streams_exactly_its_rows(tmp_path):
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"objectId": np.arange(5000), "x": np.arange(5000.0)}), path, row_group_size=1000)
    with CatalogFile(str(path), ["objectId"]) as catalog:
        chunks = list(catalog.iter_rows(1500, 3700, 700))
    ids = np.concatenate([c["objectId"] for c in chunks])
    np.testing.assert_array_equal(ids, np.arange(1500, 3700))
    assert max(len(c["objectId"]) for c in chunks) <= 700


def test_schema_problems_name_the_file_and_column(tmp_path):
    config = make_config(tmp_path, "dp02")
    table = object_catalog(10, "dp02", seed=1)
    pq.write_table(table.drop_columns(["g_cModelFluxErr", "i_cModelFlux"]), tmp_path / "f.parquet")
    with CatalogFile(str(tmp_path / "f.parquet"), config.input_columns()) as catalog:
        with pytest.raises(InputFileError, match=r"f\.parquet: missing column\(s\) g_cModelFluxErr, i_cModelFlux"):
            catalog.check_columns()
    retyped = table.set_column(table.schema.get_field_index("r_cModelFlux"), "r_cModelFlux",
                               pa.array(["1.0"] * 10))
    pq.write_table(retyped, tmp_path / "g.parquet")
    with CatalogFile(str(tmp_path / "g.parquet"), config.input_columns()) as catalog:
        with pytest.raises(InputFileError, match="g.parquet: column r_cModelFlux has type string, expected a number"):
            check_schema(str(tmp_path / "g.parquet"), catalog.kinds, config)


def test_run_reads_skinny_magnitudes_as_it_reads_the_fluxes(tmp_path):
    """pzmpi run's cleaning gives the same magnitudes from the skinny table as from the catalog's fluxes."""
    table = with_bad_photometry(object_catalog(300, "dp1", seed=8), "u")
    config = make_config(tmp_path, "dp1", input={"primary_cut": False})
    skinny = convert_chunk(as_chunk(table, config.input_columns()), config, None).columns
    common = dict(paths=["x"], id_column="objectId", bands=BANDS, magnitude_nondetect_val=99.0, ebv_column="ebv",
                  ra_column="", dec_column="")
    from_flux = InputConfig(flux_column="{band}_cModelFlux", flux_error_column="{band}_cModelFluxErr",
                            magnitude_column="", magnitude_error_column="", **common)
    from_mag = InputConfig(flux_column="", flux_error_column="", magnitude_column="mag_{band}",
                           magnitude_error_column="magerr_{band}", **common)
    cleaning = CleaningConfig(deredden=False, extinction=dict(LSST_EXTINCTION), nondetect_val=99.0,
                              mag_limits=dict(LSST_MAG_LIMITS), magnitude_dtype="float32")
    raw = {name: table[name].to_numpy() for name in config.input_columns()}
    direct = clean_chunk(raw, from_flux, cleaning)
    via_skinny = clean_chunk(skinny, from_mag, cleaning)
    for name, values in direct.columns.items():
        np.testing.assert_array_equal(via_skinny.columns[name], values, err_msg=name)
    assert via_skinny.nondetections == direct.nondetections


def test_map_dereddening_subtracts_a_times_the_map_value(tmp_path):
    nside = 32
    values = np.random.default_rng(3).uniform(0, 0.3, 12 * nside * nside)
    np.save(tmp_path / "ebv.npy", values)
    table = object_catalog(500, "dp02", seed=9)
    config = make_config(tmp_path, "dp02", input={"primary_cut": False},
                         dereddening={"method": "map", "map": "ebv.npy", "map_ordering": "ring",
                                      "map_frame": "galactic"})
    dust = load_map(config.map_path, config.map_ordering, config.map_frame, config.map_column)
    out = convert_chunk(as_chunk(table, config.input_columns()), config, dust).columns
    galactic = SkyCoord(ra=table["coord_ra"].to_numpy() * units.deg, dec=table["coord_dec"].to_numpy() * units.deg,
                        frame="icrs").galactic
    ebv = values[hpgeom.angle_to_pixel(nside, galactic.l.deg, galactic.b.deg, nest=False)]
    good = valid(table, "r")
    mag, _ = expected_magnitudes(table, "r", ebv)
    np.testing.assert_array_max_ulp(out["mag_r"][good], mag[good].astype(np.float32), maxulp=1)


# -- the command, under MPI ----------------------------------------------------------------------------------

def make_release(root: Path, name: str, catalog: Path) -> None:
    described = [describe_file(path, catalog) for path in catalog_files(catalog)]
    create_release(root, name, catalog, described, f"test release {name}")


def dp02_catalog(folder: Path, n_files: int = 3, rows: int = 2500) -> Path:
    paths = write_catalog(folder, "dp02", n_files, rows, seed=11, row_group_rows=500)
    table = with_bad_photometry(pq.read_table(paths[0]), "z")
    pq.write_table(table, paths[0], row_group_size=500)
    return folder


def skinny_toml(path: Path, preset: str = "dp02", **output) -> Path:
    return write_config(path, input={"preset": preset}, output={"folder": "out", "max_rows_per_file": 1000, **output})


def skinny(tmp_path: Path, name: str, config: Path, ranks: int, *extra: str):
    return run_pzmpi(["skinny", name, str(config), "--releases", str(tmp_path / "releases"), *extra], ranks=ranks)


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.parquet"))}


@pytest.mark.mpi
def test_one_and_three_ranks_write_identical_files(tmp_path):
    make_release(tmp_path / "releases", "dp02", dp02_catalog(tmp_path / "catalog"))
    config = skinny_toml(tmp_path / "skinny.toml", decimals=4)
    one = skinny(tmp_path, "dp02", config, 1, "--set", "output.folder=one")
    three = skinny(tmp_path, "dp02", config, 3, "--set", "output.folder=three")
    assert one.returncode == 0, one.stderr
    assert three.returncode == 0, three.stderr
    assert len(digests(tmp_path / "one")) == 9 and digests(tmp_path / "one") == digests(tmp_path / "three")
    manifest = json.loads((tmp_path / "three" / "manifest.json").read_text())
    assert manifest == json.loads((tmp_path / "one" / "manifest.json").read_text())
    assert {f["name"]: f["sha256"] for f in manifest["files"]} == digests(tmp_path / "three")
    assert manifest["rows"] == sum(pq.read_metadata(tmp_path / "three" / f["name"]).num_rows
                                   for f in manifest["files"])
    assert all(f["rows"] <= 1000 for f in manifest["files"])
    sums = (tmp_path / "three" / "sha256sums.txt").read_text().splitlines()
    assert sums == [f"{f['sha256']}  {f['name']}" for f in manifest["files"]]
    record = Release.open(tmp_path / "releases", "dp02").record
    entry = record["skinny_tables"][-1]
    assert entry["output_folder"] == str(tmp_path / "three") and entry["rows"] == manifest["rows"]
    assert entry["files"] == manifest["files"] and entry["failures"] == [] and "decimals = 4" in entry["config"]


@pytest.mark.mpi
def test_bad_inputs_are_reported_and_the_rest_is_written(tmp_path):
    catalog = dp02_catalog(tmp_path / "catalog", n_files=5, rows=1500)
    good, truncated, dropped, retyped, changed = sorted(catalog.glob("*.parquet"))
    truncated.write_bytes(truncated.read_bytes()[:-5000])
    pq.write_table(pq.read_table(dropped).drop_columns(["i_cModelFlux"]), dropped, row_group_size=500)
    table = pq.read_table(retyped)
    flux = table["g_cModelFluxErr"].to_numpy().astype(str)
    pq.write_table(table.set_column(table.schema.get_field_index("g_cModelFluxErr"), "g_cModelFluxErr",
                                    pa.array(flux)), retyped, row_group_size=500)
    make_release(tmp_path / "releases", "dp02", catalog)
    pq.write_table(pq.read_table(changed).slice(0, 1400), changed, row_group_size=500)  # after the registration
    result = skinny(tmp_path, "dp02", skinny_toml(tmp_path / "skinny.toml"), 3)
    assert result.returncode == 3, result.stderr
    assert f"{truncated}: unreadable when the release was registered" in result.stderr
    assert f"{changed}: " in result.stderr and "1400 rows, where the release record has" in result.stderr
    assert f"{dropped}: missing column(s) i_cModelFlux" in result.stderr
    assert f"{retyped}: column g_cModelFluxErr has type string, expected a number" in result.stderr
    written = digests(tmp_path / "out")
    assert sorted(written) == [f"{good.stem}.rows{a}-{b}.parquet" for a, b in ((0, 1000), (1000, 1500))]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert {f["input"] for f in manifest["failures"]} == {truncated.name, dropped.name, retyped.name, changed.name}
    entry = Release.open(tmp_path / "releases", "dp02").record["skinny_tables"][-1]
    assert len(entry["failures"]) == len(manifest["failures"]) and len(entry["files"]) == 2


@pytest.mark.mpi
def test_a_rerun_skips_finished_files_and_a_changed_configuration_recomputes(tmp_path):
    make_release(tmp_path / "releases", "dp1", write_catalog(tmp_path / "catalog", "dp1", 2, 1500, seed=2)[0].parent)
    config = skinny_toml(tmp_path / "skinny.toml", "dp1")
    first = skinny(tmp_path, "dp1", config, 2)
    assert first.returncode == 0, first.stderr
    out = tmp_path / "out"
    stamps = {p.name: p.stat().st_mtime_ns for p in out.glob("*.parquet")}
    again = skinny(tmp_path, "dp1", config, 2)
    assert again.returncode == 0 and "4 files (4 already done)" in again.stdout
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.parquet")} == stamps
    before = digests(out)
    changed = skinny(tmp_path, "dp1", config, 2, "--set", "dereddening.method=column")
    assert changed.returncode == 0 and "(0 already done)" in changed.stdout
    assert set(digests(out)) == set(before) and all(digests(out)[n] != before[n] for n in before)
    resized = skinny(tmp_path, "dp1", config, 2, "--set", "output.max_rows_per_file=5000")
    assert resized.returncode == 0, resized.stderr
    assert sorted(digests(out)) == ["dp1_object_tract3828.parquet", "dp1_object_tract3829.parquet"]
    record = Release.open(tmp_path / "releases", "dp1").record
    (entry,) = record["skinny_tables"]  # one table per output folder: the latest
    assert [f["name"] for f in entry["files"]] == sorted(digests(out)) and "max_rows_per_file = 5000" in entry["config"]
    skinny_commands = [h["command"] for h in record["history"] if h["command"].startswith("pzmpi skinny dp1")]
    assert len(skinny_commands) == 4


@pytest.mark.mpi
def test_configuration_errors_exit_2_on_every_rank(tmp_path):
    config = skinny_toml(tmp_path / "skinny.toml")
    missing = skinny(tmp_path, "nope", config, 2)
    assert missing.returncode == 2 and missing.stderr.count("no release 'nope'") == 1
    make_release(tmp_path / "releases", "dp02", dp02_catalog(tmp_path / "catalog", n_files=1, rows=10))
    bad_map = skinny(tmp_path, "dp02", config, 2, "--set", "dereddening.method=map", "--set", "dereddening.map=x.npy")
    assert bad_map.returncode == 2 and "'dereddening.map' points to a missing file" in bad_map.stderr


@pytest.mark.mpi
def test_pzmpi_run_indexes_every_row_of_the_skinny_tables(tmp_path, models):
    make_release(tmp_path / "releases", "dp02", dp02_catalog(tmp_path / "catalog", n_files=2, rows=1200))
    made = skinny(tmp_path, "dp02", skinny_toml(tmp_path / "skinny.toml"), 2)
    assert made.returncode == 0, made.stderr
    rows = json.loads((tmp_path / "out" / "manifest.json").read_text())["rows"]
    config = write_config(tmp_path / "run.toml",
                          input={"paths": "out", "magnitude_column": "mag_{band}",
                                 "magnitude_error_column": "magerr_{band}", "magnitude_nondetect_val": 99.0},
                          estimator={"name": "gpz", "model": str(models["gpz"])}, output={"folder": "run"})
    result = run_pzmpi(["run", str(config)], ranks=2)
    assert result.returncode == 0, result.stderr
    with h5py.File(tmp_path / "run" / "index.hdf5") as index:
        ids = index["ancil/objectId"][:]
        assert len(ids) == rows and np.all(np.isfinite(index["data/yvals"][:]))
    skinny_ids = np.concatenate([pq.read_table(p, columns=["objectId"])["objectId"].to_numpy()
                                 for p in sorted((tmp_path / "out").glob("*.parquet"))])
    np.testing.assert_array_equal(np.sort(ids), np.sort(skinny_ids))

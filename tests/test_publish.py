"""pzmpi publish, package and verify-package under mpiexec: a HATS catalog that the hats library validates and
lsdb joins with an Object catalog on objectId, byte-identical on 1, 2 and 4 ranks and after a kill; a package
whose every breakage verify-package names."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import mpi_environment, object_input, run_pzmpi, write_config

pytestmark = pytest.mark.mpi
CODES = ("bpz", "gpz")


def published_files(out: Path) -> dict[str, bytes]:
    """Every data file of a published collection (properties hold a creation date, so they are left out)."""
    return {str(path.relative_to(out)): path.read_bytes() for path in sorted(out.rglob("*.parquet"))} | {
        str(path.relative_to(out)): path.read_bytes() for path in sorted(out.rglob("_*metadata"))}


@pytest.fixture(scope="module")
def runs(tmp_path_factory, sample, models) -> Path:
    folder = tmp_path_factory.mktemp("publish")
    for name in CODES:
        config = write_config(folder / f"{name}.toml", input=object_input(str(sample / "catalog")),
                              estimator={"name": name, "model": str(models[name])},
                              output={"folder": f"run-{name}", "carry_columns": ["redshift"],
                                      "estimator_columns": ["loc", "scale"] if name == "gpz" else []},
                              run={"rows_per_chunk": 3000})
        result = run_pzmpi(["run", str(config)], ranks=2, cwd=folder)
        assert result.returncode == 0, result.stderr
    return folder


def publish(folder: Path, out: str, ranks: int, *more: str) -> subprocess.CompletedProcess[str]:
    return run_pzmpi(["publish", "run-bpz", "run-gpz", "--out", out, "--max-rows", "3000", *more], ranks=ranks,
                     cwd=folder)


def object_catalog(sample: Path, folder: Path) -> Path:
    """The sample's Object table as a HATS catalog, made by lsdb (not by pzmpi)."""
    import lsdb

    frame = pq.read_table(sample / "catalog").to_pandas()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lsdb.from_dataframe(frame, ra_column="coord_ra", dec_column="coord_dec", catalog_name="object",
                            partition_rows=4000, highest_order=8).write_catalog(folder / "object")
    return folder / "object"


def test_the_table_is_valid_byte_identical_on_1_2_4_ranks_and_joins_the_object_catalog(runs, sample):
    import lsdb
    import qp

    from pzmpi.deliver.hats_catalog import is_valid_collection

    files = {}
    for ranks in (1, 2, 4):
        result = publish(runs, f"table{ranks}", ranks)
        assert result.returncode == 0, result.stderr
        assert "published 20,449 objects of bpz, gpz" in result.stdout
        assert is_valid_collection(runs / f"table{ranks}")
        files[ranks] = published_files(runs / f"table{ranks}")
    assert len(files[1]) > 5 and files[1] == files[2] == files[4]

    objects = object_catalog(sample, runs)
    photoz = lsdb.open_catalog(runs / "table1")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        joined = lsdb.open_catalog(objects).join(photoz, left_on="objectId", right_on="objectId",
                                                 suffixes=("", "_pz"), suffix_method="overlapping_columns").compute()
        found = photoz.id_search(values={"objectId": [int(joined["objectId"].iloc[7])]}).compute()
    catalog = pq.read_table(sample / "catalog", columns=["objectId", "redshift"]).to_pandas()
    assert len(joined) == len(catalog) and joined["objectId"].is_unique
    assert set(joined["objectId"]) == set(catalog["objectId"]) and len(found) == 1
    joined = joined.set_index("objectId")
    for code in CODES:
        with h5py.File(runs / f"run-{code}" / "index.hdf5", "r") as index:
            ids, zmode = index["ancil/objectId"][:], index["ancil/zmode"][:]
        with h5py.File(runs / f"run-{code}" / "index.hdf5", "r") as index:
            pdfs = index["data/yvals"][:]
        np.testing.assert_allclose(joined.loc[ids, f"{code}_z_mode"].to_numpy(), zmode, rtol=2.0 ** -15)
        if code == "gpz":  # GPz's own Gaussian, as RAIL's qp.stats.norm holds it
            gaussian = qp.Ensemble(qp.stats.norm, data=dict(
                loc=joined.loc[ids, "gpz_pdf_loc"].to_numpy()[:, None].astype(np.float64),
                scale=joined.loc[ids, "gpz_pdf_scale"].to_numpy()[:, None].astype(np.float64)))
            grid = np.linspace(0.0, 3.0, pdfs.shape[1])
            np.testing.assert_allclose(gaussian.pdf(grid), pdfs, rtol=2e-3, atol=1e-6 * float(pdfs.max()))
            assert "gpz_pdf_packed" not in joined.columns
            continue
        packed = np.stack(joined.loc[ids, f"{code}_pdf_packed"].to_numpy())
        scale = joined.loc[ids, f"{code}_pdf_ymax"].to_numpy()
        assert packed.shape == pdfs.shape and packed.dtype == np.uint8
        np.testing.assert_allclose(packed / 255.0 * scale[:, None], pdfs, rtol=0,
                                   atol=float(pdfs.max()) * (1.0 / 255 + 2.0 ** -14))
    truth = catalog.set_index("objectId").loc[joined.index, "redshift"].to_numpy()
    np.testing.assert_array_equal(joined["redshift_pz"].to_numpy(), truth)  # a carried column, as it was read


def test_like_uses_the_object_catalogs_partitions(runs, sample, tmp_path):
    import hats

    objects = runs / "object" if (runs / "object").exists() else object_catalog(sample, runs)
    result = publish(runs, str(tmp_path / "like"), 2, "--like", str(objects))
    assert result.returncode == 0, result.stderr
    mine = sorted(hats.read_hats(tmp_path / "like").main_catalog.get_healpix_pixels())
    assert mine == sorted(hats.read_hats(objects).get_healpix_pixels())


def test_a_killed_publish_run_again_writes_the_same_bytes(runs, tmp_path):
    reference = runs / "table2"
    if not reference.exists():
        assert publish(runs, "table2", 2).returncode == 0
    command = ["mpiexec", "-n", "2", sys.executable, "-m", "pzmpi", "publish", "run-bpz", "run-gpz", "--out",
               str(tmp_path / "killed"), "--max-rows", "3000"]
    process = subprocess.Popen(command, cwd=runs, env=mpi_environment(), start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    partial = tmp_path / "killed.inprogress" / "object_photoz" / "dataset"
    deadline = time.monotonic() + 120
    while not list(partial.glob("Norder=*/Dir=*/*.parquet")) and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert not (tmp_path / "killed").exists() and (tmp_path / "killed.inprogress").exists()
    result = publish(runs, str(tmp_path / "killed"), 2)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "killed.inprogress").exists()
    assert published_files(tmp_path / "killed") == published_files(reference)


def rewrite(path: Path, content: bytes) -> None:
    """Replace a file (a new inode: the package's hard links to the run stay untouched)."""
    temp = path.with_name(path.name + ".new")
    temp.write_bytes(content)
    temp.replace(path)


def reseal(package: Path, name: str) -> None:
    """Put a changed file's new checksum in the manifest, as a careless edit would."""
    from pzmpi.core.checksum import sha256_of_file

    manifest = package / "MANIFEST.sha256"
    lines = [f"{sha256_of_file(package / name)}  {name}" if line.endswith(f"  {name}") else line
             for line in manifest.read_text().splitlines()]
    manifest.write_text("\n".join(lines) + "\n")


def first_partition(package: Path) -> str:
    path = sorted((package / "table" / "object_photoz" / "dataset").glob("Norder=*/Dir=*/*.parquet"))[0]
    return str(path.relative_to(package))


def break_flipped_byte(package: Path) -> str:
    name = "archive/bpz/pieces/dc2_object_001.hdf5"
    content = bytearray((package / name).read_bytes())
    content[len(content) // 2] ^= 0x01
    rewrite(package / name, bytes(content))
    return f"checksum differs: {name}"


def break_missing_file(package: Path) -> str:
    (package / "configs" / "gpz.toml").unlink()
    return "missing file: configs/gpz.toml"


def break_extra_file(package: Path) -> str:
    (package / "reports" / "notes.txt").parent.mkdir(exist_ok=True)
    (package / "reports" / "notes.txt").write_text("not delivered")
    return "file not in the manifest: reports/notes.txt"


def break_duplicated_id(package: Path) -> str:
    name = first_partition(package)
    table = pq.read_table(package / name)
    doubled = pa.concat_tables([table, table.slice(0, 1)]).sort_by([("_healpix_29", "ascending")])
    sink = pa.BufferOutputStream()
    pq.write_table(doubled, sink)
    rewrite(package / name, sink.getvalue().to_pybytes())
    reseal(package, name)
    return f"duplicated objectId in the table: 1 (e.g. {table.column('objectId')[0].as_py()})"


def break_missing_id(package: Path) -> str:
    name = first_partition(package)
    table = pq.read_table(package / name)
    sink = pa.BufferOutputStream()
    pq.write_table(table.slice(1), sink)
    rewrite(package / name, sink.getvalue().to_pybytes())
    reseal(package, name)
    return f"catalog objectId missing from the table: 1 (e.g. {table.column('objectId')[0].as_py()})"


@pytest.mark.parametrize("breakage", [None, break_flipped_byte, break_missing_file, break_extra_file,
                                      break_duplicated_id, break_missing_id])
def test_verify_package_names_every_breakage(runs, sample, tmp_path, breakage):
    table = runs / "table2"
    if not table.exists():
        assert publish(runs, "table2", 2).returncode == 0
    made = runs / "package"
    if not made.exists():
        result = run_pzmpi(["package", "run-bpz", "run-gpz", "--table", "table2", "--out", "package"], ranks=2,
                           cwd=runs)
        assert result.returncode == 0, result.stderr
    package = tmp_path / "package"
    shutil.copytree(made, package)
    expected = breakage(package) if breakage else None
    result = run_pzmpi(["verify-package", str(package), "--catalog", str(sample / "catalog")], ranks=2)
    if expected is None:
        assert result.returncode == 0, result.stdout + result.stderr
        assert "passed" in result.stdout
        assert {"README.md", "metadata.json", "configs", "archive", "table"} <= {p.name for p in package.iterdir()}
        catalogs = json.loads((package / "metadata.json").read_text())["table"]  # under hats.properties' own names
        assert catalogs["object_photoz"]["hats_nrows"] == 20449 == catalogs["object_photoz_objectId_index"]["hats_nrows"]
        assert catalogs["object_photoz"]["dataproduct_type"] == "object"
        assert "Objects: 20449." in (package / "README.md").read_text()
        import qp

        archived = qp.read(str(package / "archive" / "bpz" / "index.hdf5"))  # the archive, as qp reads it
        with h5py.File(runs / "run-bpz" / "index.hdf5", "r") as index:
            full = index["data/yvals"][:]
        np.testing.assert_array_equal(archived.ancil["objectId"], qp.read(str(runs / "run-bpz" / "index.hdf5"))
                                      .ancil["objectId"])
        with h5py.File(package / "archive" / "bpz" / "index.hdf5", "r") as index:
            np.testing.assert_allclose(index["data/yvals"][:], full, rtol=2.0 ** -11)
        assert archived.npdf == len(full)
    else:
        assert result.returncode == 4, result.stdout + result.stderr
        assert f"PROBLEM: {expected}" in result.stdout, result.stdout


def test_runs_of_different_catalogs_are_refused_with_an_object_named(runs, tmp_path):
    moved = tmp_path / "run-gpz"
    shutil.copytree(runs / "run-gpz", moved)
    piece = sorted((moved / "pieces").glob("*.hdf5"))[0]
    with h5py.File(piece, "r+") as handle:
        handle["ancil/coord_ra"][:] += 1e-6  # 3.6 milliarcseconds: the same HEALPix pixel, another position
    result = run_pzmpi(["publish", str(runs / "run-bpz"), str(moved), "--out", str(tmp_path / "t")], ranks=2)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.count("is at another position than in") == 1 and str(moved) in result.stderr
    assert not (tmp_path / "t").exists()


def test_an_incomplete_run_is_refused_unless_allowed_and_then_its_objects_have_null_columns(runs, tmp_path):
    partial = tmp_path / "run-bpz"
    shutil.copytree(runs / "run-bpz", partial)
    missing = sorted((partial / "pieces").glob("*.hdf5"))[1]
    with h5py.File(missing, "r") as handle:
        lost = set(handle["ancil/objectId"][:].tolist())
    missing.unlink()
    arguments = ["publish", str(partial), str(runs / "run-gpz"), "--out", str(tmp_path / "t"), "--max-rows", "3000"]
    refused = run_pzmpi(arguments, ranks=2)
    assert refused.returncode == 2 and "1 of 4 pieces have no file" in refused.stderr, refused.stderr
    allowed = run_pzmpi([*arguments, "--allow-incomplete"], ranks=2)
    assert allowed.returncode == 0, allowed.stderr
    table = pq.read_table(tmp_path / "t" / "object_photoz" / "dataset",
                          columns=["objectId", "bpz_z_mode", "bpz_pdf_packed", "gpz_z_mode"]).to_pandas()
    assert len(table) == 20449 and table["objectId"].is_unique and table["gpz_z_mode"].notna().all()
    without = set(table.loc[table["bpz_z_mode"].isna(), "objectId"])
    assert without == lost and table.loc[table["bpz_z_mode"].isna(), "bpz_pdf_packed"].isna().all()

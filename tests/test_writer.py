"""Writing: qp-readable pieces, written atomically, and a virtual index over them."""

import os

import h5py
import numpy as np
import pytest
import qp

from pzmpi.core.errors import InputFileError
from pzmpi.core.files import write_bytes_atomically, write_text_atomically
from pzmpi.io.pieces import INDEX_PARTS_FOLDER, PieceWriter, is_complete, write_index, write_run_index

GRID = np.linspace(0.0, 3.0, 31)
POINTS = ["zmode", "zmean"]


def write_piece(path, ids, dtype="float32", compression="none"):
    pdfs = np.abs(np.sin(np.outer(ids + 1, GRID)))
    with PieceWriter(path, len(ids), GRID, dtype, POINTS, compression) as writer:
        half = len(ids) // 2
        for part in (slice(0, half), slice(half, None)):
            points = {"zmode": GRID[np.argmax(pdfs[part], axis=1)], "zmean": np.full(len(ids[part]), 1.0)}
            writer.write(ids[part], pdfs[part], points, {"tb": ids[part].astype(np.float64)})
        writer.commit({"result_key": "abc", "input_file": "in.parquet", "row_start": 0, "row_stop": len(ids)})
    return pdfs


@pytest.mark.parametrize("dtype, compression", [("float32", "none"), ("float64", "gzip")])
def test_piece_opens_with_qp(tmp_path, dtype, compression):
    ids = np.arange(10, 20, dtype=np.int64)
    pdfs = write_piece(tmp_path / "p.hdf5", ids, dtype, compression)
    ensemble = qp.read(str(tmp_path / "p.hdf5"))
    assert ensemble.npdf == 10
    np.testing.assert_array_equal(ensemble.ancil["objectId"], ids)
    with h5py.File(tmp_path / "p.hdf5") as handle:
        assert handle["data/yvals"].dtype == np.dtype(dtype)
        np.testing.assert_array_equal(handle["data/yvals"][()], pdfs.astype(dtype))
        np.testing.assert_array_equal(handle["ancil/tb"][()], ids.astype(np.float64))
        assert handle.attrs["input_file"] == "in.parquet"
    identity = {"result_key": "abc", "input_file": "in.parquet", "row_start": 0, "row_stop": 10}
    assert is_complete(tmp_path / "p.hdf5", identity)
    assert not is_complete(tmp_path / "p.hdf5", {**identity, "result_key": "computed another way"})
    assert not is_complete(tmp_path / "p.hdf5", {**identity, "row_stop": 12})
    assert not is_complete(tmp_path / "p.hdf5", {**identity, "input_size": 99})  # never recorded: not this run's
    assert not (tmp_path / "p.hdf5.inprogress").exists()


def test_failure_leaves_no_file(tmp_path):
    final = tmp_path / "p.hdf5"
    with pytest.raises(RuntimeError):
        with PieceWriter(final, 10, GRID, "float32", POINTS, "none") as writer:
            raise RuntimeError("estimator crashed")
    assert not final.exists() and not (tmp_path / "p.hdf5.inprogress").exists()
    with pytest.raises(InputFileError, match="announced 10"):
        with PieceWriter(final, 10, GRID, "float32", POINTS, "none") as writer:
            writer.commit({})
    assert not final.exists()


def test_every_final_name_is_given_to_bytes_already_on_storage(tmp_path, monkeypatch):
    """Each rename follows an fsync of the very file renamed: a crash cannot leave a torn 'finished' file."""
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}"))),
                                                 real_fsync(fd)))
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append(("replace", str(a))), real_replace(a, b)))
    write_piece(tmp_path / "p.hdf5", np.arange(4, dtype=np.int64))
    write_text_atomically(tmp_path / "t.json", "{}")
    write_bytes_atomically(tmp_path / "b.bin", b"\x00\x01")
    write_index(tmp_path / "index.hdf5", [(tmp_path / "p.hdf5", 4)])
    temps = [str(tmp_path / f"{name}.inprogress") for name in ("p.hdf5", "t.json", "b.bin", "index.hdf5")]
    assert events == [event for temp in temps for event in (("fsync", temp), ("replace", temp))]
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01" and (tmp_path / "t.json").read_text() == "{}"


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "record.json"
    target.write_text("old")
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError("disk quota exceeded")))
    with pytest.raises(OSError, match="quota"):
        write_text_atomically(target, "new")
    assert target.read_text() == "old" and not (tmp_path / "record.json.inprogress").exists()


def test_index_concatenates_pieces_in_order_and_moves_with_the_folder(tmp_path):
    run = tmp_path / "run"
    (run / "pieces").mkdir(parents=True)
    write_piece(run / "pieces" / "b.hdf5", np.arange(5, dtype=np.int64))
    write_piece(run / "pieces" / "a.hdf5", np.arange(100, 107, dtype=np.int64))
    total = write_index(run / "index.hdf5", [(run / "pieces" / "b.hdf5", 5), (run / "pieces" / "a.hdf5", 7)])
    assert total == 12
    moved = tmp_path / "moved"
    run.rename(moved)
    ensemble = qp.read(str(moved / "index.hdf5"))
    np.testing.assert_array_equal(ensemble.ancil["objectId"], np.r_[np.arange(5), np.arange(100, 107)])
    with h5py.File(moved / "index.hdf5") as index, h5py.File(moved / "pieces" / "a.hdf5") as piece:
        assert index["data/yvals"].is_virtual
        np.testing.assert_array_equal(index["data/yvals"][5:], piece["data/yvals"][()])


def test_a_large_run_has_its_index_split_into_parts_and_reads_as_one_table(tmp_path):
    run = tmp_path / "run"
    (run / "pieces").mkdir(parents=True)
    pieces, ids = [], []
    for number in range(23):
        piece_ids = np.arange(10 * number, 10 * number + 1 + number % 3, dtype=np.int64)
        write_piece(run / "pieces" / f"{number:03d}.hdf5", piece_ids)
        pieces.append((run / "pieces" / f"{number:03d}.hdf5", len(piece_ids)))
        ids.append(piece_ids)
    total = write_run_index(run / "index.hdf5", pieces, part_pieces=10)
    assert total == sum(len(i) for i in ids)
    parts = sorted((run / INDEX_PARTS_FOLDER).iterdir())
    assert [p.name for p in parts] == ["part-00000.hdf5", "part-00001.hdf5", "part-00002.hdf5"]
    whole = write_index(tmp_path / "whole.hdf5", pieces)
    assert whole == total
    with h5py.File(run / "index.hdf5") as top, h5py.File(tmp_path / "whole.hdf5") as unsplit:
        assert len(top["data/yvals"].virtual_sources()) == 3  # the top index maps the parts, not the pieces
        for name in ("data/yvals", "ancil/objectId", "ancil/zmode", "meta/xvals"):
            np.testing.assert_array_equal(top[name][()], unsplit[name][()])
    run.rename(tmp_path / "moved")
    np.testing.assert_array_equal(qp.read(str(tmp_path / "moved" / "index.hdf5")).ancil["objectId"], np.concatenate(ids))

    again = write_run_index(tmp_path / "moved" / "index.hdf5", [(tmp_path / "moved" / "pieces" / "000.hdf5", 1)],
                            part_pieces=10)
    assert again == 1 and not list((tmp_path / "moved" / INDEX_PARTS_FOLDER).iterdir())  # stale parts removed
    assert write_run_index(tmp_path / "moved" / "index.hdf5", [], part_pieces=10) == 0
    assert not (tmp_path / "moved" / "index.hdf5").exists()

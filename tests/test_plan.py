"""Planning: listing inputs, pieces independent of the world size, balanced assignment."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pzmpi.compute.plan import (InputFile, in_listed_order, make_plan, plan_from_footers, read_footers, shares_of,
                                split_into_pieces)
from pzmpi.core.errors import ConfigError
from pzmpi.core.sharding import assign_in_order, assign_pieces
from pzmpi.io.catalog import list_input_files


def write_parquet(path, rows, row_group_rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"objectId": np.arange(rows, dtype=np.int64)}), path, row_group_size=row_group_rows)
    return path


def test_list_input_files_from_folder_glob_and_list(tmp_path):
    a = write_parquet(tmp_path / "cat" / "b.parquet", 10, 5)
    b = write_parquet(tmp_path / "cat" / "a.parquet", 10, 5)
    (tmp_path / "cat" / "notes.txt").write_text("not parquet")
    assert list_input_files([str(tmp_path / "cat")]) == [str(b), str(a)]
    assert list_input_files([str(tmp_path / "cat" / "*.parquet")]) == [str(b), str(a)]
    listing = tmp_path / "files.txt"
    listing.write_text("# inputs\ncat/b.parquet\n\n")
    assert list_input_files([str(listing)]) == [str(a)]
    with pytest.raises(ConfigError, match="input.paths"):
        list_input_files([str(tmp_path / "nowhere")])
    with pytest.raises(ConfigError, match="matched no parquet file"):
        list_input_files([str(tmp_path / "cat" / "*.fits")])


def test_pieces_follow_row_groups_and_limit():
    files = [InputFile("/d/a.parquet", 2500, (10, 10, 5)), InputFile("/d/b.parquet", 700, (7,)),
             InputFile("/d/empty.parquet", 100, ())]
    pieces = split_into_pieces(files, max_rows_per_piece=20)
    assert [(p.path, p.row_start, p.row_stop) for p in pieces] == [
        ("/d/a.parquet", 0, 20), ("/d/a.parquet", 20, 25), ("/d/b.parquet", 0, 7)]
    assert [p.output_name for p in pieces] == ["a.rows0-20.hdf5", "a.rows20-25.hdf5", "b.hdf5"]
    assert [(p.row_group_start, p.row_group_stop) for p in pieces] == [(0, 2), (2, 3), (0, 1)]
    # a single row group larger than the limit is a piece of its own
    assert len(split_into_pieces([InputFile("/d/big.parquet", 5000, (50,))], 20)) == 1


def test_same_stem_in_two_folders_gives_distinct_outputs():
    files = [InputFile("/d/x/t.parquet", 500, (5,)), InputFile("/d/y/t.parquet", 500, (5,))]
    assert [p.output_name for p in split_into_pieces(files, 100)] == ["x__t.hdf5", "y__t.hdf5"]


def test_assignment_balances_rows_not_files():
    rows = [1000, 10, 10, 10, 990, 500, 500]
    assignment = assign_pieces(rows, 3)
    loads = sorted(sum(rows[i] for i in ranks) for ranks in assignment)
    assert loads == [1000, 1010, 1010]  # 3020 rows: the best possible split
    assert sorted(i for ranks in assignment for i in ranks) == list(range(len(rows)))
    assert all(ranks == sorted(ranks) for ranks in assignment)
    assert assign_pieces(rows, 3) == assignment  # deterministic


@pytest.mark.parametrize("seed", range(20))
def test_in_order_assignment_gives_consecutive_runs_within_one_piece_of_an_equal_share(seed):
    rng = np.random.default_rng(seed)
    rows = [int(r) for r in rng.integers(1, 150001, size=int(rng.integers(1, 60)))]
    n_ranks = int(rng.integers(1, 9))
    assignment = assign_in_order(rows, n_ranks)
    assert len(assignment) == n_ranks and [i for ranks in assignment for i in ranks] == list(range(len(rows)))
    share = sum(rows) / n_ranks
    for ranks in assignment:
        assert abs(sum(rows[i] for i in ranks) - share) <= max(rows)
    assert assign_in_order(rows, n_ranks) == assignment


def test_in_order_assignment_keeps_a_files_equal_pieces_together():
    assert assign_in_order([100] * 6, 2) == [[0, 1, 2], [3, 4, 5]]  # two files of three pieces: one each
    assert assign_in_order([100] * 6, 3) == [[0, 1], [2, 3], [4, 5]]
    assert assign_in_order([5, 5], 4) == [[], [0], [], [1]]
    assert assign_in_order([], 3) == [[], [], []]


def test_more_ranks_than_pieces_leaves_ranks_idle():
    assert assign_pieces([5, 5], 4) == [[0], [1], [], []]


def test_plan_sets_unreadable_files_aside_and_is_rank_count_independent(tmp_path):
    write_parquet(tmp_path / "a.parquet", 3000, 1000)
    write_parquet(tmp_path / "b.parquet", 1000, 1000)
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 this is not parquet")
    plans = {n: make_plan([str(tmp_path)], n, max_rows_per_piece=2000) for n in (1, 2, 3)}
    for plan in plans.values():
        assert list(plan.unreadable) == [str(tmp_path / "broken.parquet")]
        assert "broken.parquet" in plan.unreadable[str(tmp_path / "broken.parquet")]
        assert plan.total_rows == 4000
    assert plans[1].pieces == plans[2].pieces == plans[3].pieces
    assert [plans[3].rows_of(r) for r in range(3)] == [2000, 1000, 1000]
    assert '"rows_per_rank"' in plans[3].to_json()


def test_footers_read_in_shares_give_the_plan_of_one_reader(tmp_path):
    """What every rank of a run reads (``shares_of``), merged back (``in_listed_order``), is the serial plan."""
    for k in range(7):
        write_parquet(tmp_path / f"f{k}.parquet", 1000 + 100 * k, 500)
    (tmp_path / "f3.parquet").write_bytes(b"PAR1 this is not parquet")
    paths = list_input_files([str(tmp_path)])
    serial = make_plan([str(tmp_path)], 4, max_rows_per_piece=1200)
    for ranks in (1, 2, 3, 4, 9):
        shares = [read_footers(share)[0] for share in shares_of(paths, ranks)]
        plan = plan_from_footers(paths, in_listed_order(shares), 4, max_rows_per_piece=1200)
        assert plan == serial
    assert list(serial.unreadable) == [str(tmp_path / "f3.parquet")]


def test_recorded_layouts_spare_the_footers_of_unchanged_files_only(tmp_path):
    for k in range(3):
        write_parquet(tmp_path / f"f{k}.parquet", 1000, 400)
    paths = list_input_files([str(tmp_path)])
    read_all, read = read_footers(paths)
    assert read == 3
    recorded = {f.path: (f.size_bytes, list(f.row_group_rows)) for f in read_all}
    recorded[paths[0]] = (1, [1000])  # a file whose size changed since it was recorded is read again
    footers, read = read_footers(paths, recorded)
    assert read == 1 and footers == read_all

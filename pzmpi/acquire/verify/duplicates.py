"""Duplicated objectIds across the whole catalog, found under MPI without gathering the ids.

Each objectId goes to an owner rank chosen by a mixing hash of the id
(``pzmpi.core.sharding.owner_ranks``); an all-to-all exchange delivers every id
to its owner, which finds the ids it received more than once. No rank ever
holds more than its share of the ids (docs/verify.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pzmpi.acquire.verify.checks import ID_COLUMN, issue
from pzmpi.core import mpi
from pzmpi.core.sharding import owner_ranks

DUPLICATE_EXAMPLES = 20  # duplicated ids listed in the report (the smallest ones); the total is always given


def find_duplicates(ids: np.ndarray, files: np.ndarray, n_files: int,
                    max_examples: int = DUPLICATE_EXAMPLES) -> dict[str, Any]:
    """Ids that occur more than once among (id, file index) pairs: counts, examples and rows per file.

    Returns ``ids`` (distinct ids seen more than once), ``within_file`` (of those, ids
    repeated inside one file), ``across_files`` (ids held by two files or more),
    ``extra_rows`` (rows beyond the first of each id), ``examples`` (the smallest
    ``max_examples`` duplicated ids, each with [file index, rows] pairs) and
    ``rows_per_file`` (2 x n_files: rows whose id repeats within their file, rows
    whose id also appears in another file). One sort of the ids finds the rows
    whose id repeats; only those few are analysed further, so the memory beyond
    the inputs is about 18 bytes a row.
    """
    order = np.argsort(ids)
    sorted_ids = ids[order]
    repeats_next = sorted_ids[1:] == sorted_ids[:-1]
    del sorted_ids
    repeated = np.zeros(ids.size, dtype=bool)
    repeated[:-1] = repeats_next
    repeated[1:] |= repeats_next
    extra_rows = int(repeats_next.sum())
    del repeats_next
    keep = order[repeated]
    del order, repeated
    summary = _describe_duplicates(ids[keep], files[keep], n_files, max_examples)
    summary["extra_rows"] = extra_rows
    return summary


def _describe_duplicates(ids: np.ndarray, files: np.ndarray, n_files: int, max_examples: int) -> dict[str, Any]:
    """The counts and examples of ``find_duplicates``, from rows whose ids all occur at least twice."""
    rows_per_file = np.zeros((2, n_files), dtype=np.int64)
    summary: dict[str, Any] = {"ids": 0, "within_file": 0, "across_files": 0, "extra_rows": 0, "examples": [],
                               "rows_per_file": rows_per_file}
    if ids.size == 0:
        return summary
    order = np.lexsort((files, ids))
    ids, files = ids[order], files[order]
    new_id = np.ones(ids.size, dtype=bool)
    new_id[1:] = ids[1:] != ids[:-1]
    new_pair = new_id.copy()
    new_pair[1:] |= files[1:] != files[:-1]
    id_group = np.cumsum(new_id) - 1
    n_ids = int(id_group[-1]) + 1
    pair_start = np.flatnonzero(new_pair)
    pair_rows = np.diff(np.append(pair_start, ids.size))
    pair_group = id_group[pair_start]
    pair_files = files[pair_start]
    files_per_id = np.bincount(pair_group, minlength=n_ids)
    repeated_pair = pair_rows > 1
    across_pair = files_per_id[pair_group] > 1
    np.add.at(rows_per_file[0], pair_files[repeated_pair], pair_rows[repeated_pair])
    np.add.at(rows_per_file[1], pair_files[across_pair], pair_rows[across_pair])
    first_pair = np.searchsorted(pair_group, np.arange(min(n_ids, max_examples)))
    examples = [[int(ids[pair_start[first]]),
                 [[int(pair_files[p]), int(pair_rows[p])] for p in range(first, first + files_per_id[group])]]
                for group, first in enumerate(first_pair)]
    summary.update(ids=n_ids, within_file=int(np.unique(pair_group[repeated_pair]).size),
                   across_files=int((files_per_id > 1).sum()), examples=examples)
    return summary


def merge_duplicate_summaries(parts: list[dict[str, Any]], max_examples: int = DUPLICATE_EXAMPLES) -> dict[str, Any]:
    """Summaries of disjoint sets of ids (one per owner rank) as one; the smallest examples are kept."""
    merged: dict[str, Any] = {key: sum(part[key] for part in parts)
                              for key in ("ids", "within_file", "across_files", "extra_rows")}
    merged["examples"] = sorted((e for part in parts for e in part["examples"]), key=lambda e: e[0])[:max_examples]
    return merged


def distributed_duplicates(comm: mpi.Comm, id_parts: list[np.ndarray], file_parts: list[np.ndarray],
                           n_files: int) -> tuple[dict[str, Any] | None, np.ndarray | None]:
    """Collective: route each id to its owner rank, find duplicates there, combine on the root.

    ``id_parts`` and ``file_parts`` are this rank's ids and file indices, one array
    per file; the lists are emptied, so that each array is freed as soon as it has
    been copied, and a rank never holds more than about 30 bytes per row of its
    share (docs/verify.md). Returns, on the root, the merged summary and the
    (2, n_files) rows-per-file counts; (None, None) elsewhere.
    """
    ids = _take_all(id_parts, np.int64)
    files = _take_all(file_parts, np.int32)
    owners = owner_ranks(ids, comm.Get_size())
    counts = np.bincount(owners, minlength=comm.Get_size())
    order = np.argsort(owners, kind="stable")
    del owners
    ids = ids[order]
    files = files[order]
    del order
    received_ids, received_files = mpi.alltoallv_arrays(comm, [ids, files], counts)
    del ids, files
    summary = find_duplicates(received_ids, received_files, n_files)
    del received_ids, received_files
    rows_per_file = mpi.reduce_sum_to_root(comm, summary.pop("rows_per_file"))
    parts = mpi.gather_to_root(comm, summary)
    if parts is None:
        return None, None
    return merge_duplicate_summaries(parts), rows_per_file


def duplicate_issues(names: list[str], rows_per_file: np.ndarray) -> list[dict[str, Any]]:
    """One blocking failure per file holding rows with a duplicated id."""
    found = []
    for index in np.flatnonzero(rows_per_file.sum(axis=0)):
        within, across = (int(v) for v in rows_per_file[:, index])
        parts = ([f"{within} row(s) share an id with another row of this file"] if within else []) + \
                ([f"{across} row(s) have an id also found in another file"] if across else [])
        found.append(issue("unique_ids", names[index], "; ".join(parts), ID_COLUMN))
    return found


def _take_all(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    """The parts as one array, emptying the list so that the array is their only copy."""
    whole = np.concatenate(parts) if parts else np.empty(0, dtype=dtype)
    parts.clear()
    return whole

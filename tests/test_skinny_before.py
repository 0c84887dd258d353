"""Skinny tables made by this code equal, value for value, those made before pzmpi read and wrote parquet
through pyarrow alone and looked dust maps up through hpgeom and astropy (tests/data/skinny_before, made by
the code of commit 9e870c6 from the same synthetic catalogs: DP0.2 with a Galactic HEALPix dust map and the
primary cut, DP1 with its ebv column and 4 decimals)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from pzmpi.acquire.release_init import catalog_files, create_release, describe_file
from pzmpi.acquire.skinny.command import result_settings
from pzmpi.acquire.skinny.config import build_skinny_config
from pzmpi.acquire.skinny.process import process_pieces
from pzmpi.acquire.skinny.slicing import release_inputs, split_inputs
from pzmpi.core.release import Release
from pzmpi.datasets.synthetic import with_bad_photometry, write_catalog
from pzmpi.photometry.dust import load_map

BEFORE = Path(__file__).parent / "data" / "skinny_before"
CONFIGS = {
    "dp02": {"input": {"preset": "dp02"},
             "dereddening": {"method": "map", "map": "ebv.npy", "map_ordering": "ring", "map_frame": "galactic"},
             "output": {"folder": "out", "max_rows_per_file": 1500}},
    "dp1": {"input": {"preset": "dp1"}, "dereddening": {"method": "column"},
            "output": {"folder": "out", "max_rows_per_file": 1500, "decimals": 4}},
}


def dust_map(nside: int = 32) -> np.ndarray:
    """The map the fixtures were made with: a deterministic pattern, no random generator."""
    pixel = np.arange(12 * nside * nside, dtype=np.float64)
    return 0.02 + 0.15 * (0.5 + 0.5 * np.sin(pixel * 0.37)) ** 3


def values_digest(path: Path) -> str:
    table = pq.read_table(path)
    digest = hashlib.sha256()
    for name in table.column_names:
        digest.update(name.encode())
        digest.update(table[name].to_numpy().tobytes())
    return digest.hexdigest()


@pytest.mark.parametrize("style", ["dp02", "dp1"])
def test_skinny_tables_equal_those_made_before_the_change(tmp_path, style):
    catalog = tmp_path / "catalog"
    paths = write_catalog(catalog, style, 2, 2000, seed=5, row_group_rows=500)
    pq.write_table(with_bad_photometry(pq.read_table(paths[0]), "g"), paths[0], row_group_size=500)
    inputs = json.loads((BEFORE / "inputs.json").read_text())
    assert {f"{style}/{p.name}": values_digest(p) for p in paths} == \
        {k: v for k, v in inputs.items() if k.startswith(f"{style}/")}, "the synthetic catalogs changed"
    np.save(tmp_path / "ebv.npy", dust_map())
    config = build_skinny_config(CONFIGS[style], base_dir=tmp_path, source=str(tmp_path / "skinny.toml"))
    create_release(tmp_path / "releases", style, catalog, [describe_file(p, catalog) for p in catalog_files(catalog)],
                   "test")
    footers, _ = release_inputs(Release.open(tmp_path / "releases", style))
    dust = load_map(config.map_path, config.map_ordering, config.map_frame, config.map_column) \
        if config.ebv_method == "map" else None
    settings = result_settings(config)
    (tmp_path / "out").mkdir()
    outcomes = list(process_pieces(split_inputs(footers, config.max_rows_per_file), config, dust,
                                   settings["result_key"], settings["settings"]))
    assert not any(outcome.error for _, outcome in outcomes)
    made = sorted((tmp_path / "out").glob("*.parquet"))
    before = sorted((BEFORE / style).glob("*.parquet"))
    assert [p.name for p in made] == [p.name for p in before]
    for new, old in zip(made, before):
        new_table, old_table = pq.read_table(new), pq.read_table(old)
        assert new_table.schema.remove_metadata() == old_table.schema.remove_metadata(), new.name
        for name in old_table.column_names:
            np.testing.assert_array_equal(new_table[name].to_numpy(), old_table[name].to_numpy(),
                                          err_msg=f"{new.name} {name}")

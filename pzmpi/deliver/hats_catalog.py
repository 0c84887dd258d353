"""The federated table on disk: a HATS collection written through the ``hats`` library's own functions.

Layout (what hats-import writes, and what ``lsdb.open_catalog`` reads)::

    OUT/collection.properties          the photo-z catalog and its objectId index, for lsdb's id_search
    OUT/<name>/hats.properties, partition_info.csv, skymap.fits, point_map.fits
    OUT/<name>/dataset/_metadata, _common_metadata, Norder=k/Dir=d/Npix=n.parquet
    OUT/<name>_objectId_index/...      objectId -> (Norder, Npix), parts sorted by objectId

Partition files are written by whichever rank owns the pixel; each returns its
parquet footer, and the root writes ``_metadata`` from those footers (no file
is opened twice), then the partition list, skymaps and properties, last.
Nothing here depends on the number of ranks: a pixel's file is a function of
its rows alone.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

SPATIAL_INDEX = "_healpix_29"
SORT_COLUMNS = [SPATIAL_INDEX, "objectId"]
INDEX_COLUMNS = ["objectId", "Norder", "Npix"]
INDEX_ROWS_PER_PART = 2_000_000  # about 30 MB of index per part file
SKYMAP_ALT_ORDERS = [2, 4]
ZSTD_LEVEL = 3  # docs/publish.md: 3.6% more bytes than level 9 in 72% of its time, and a third of level 15's


@dataclass(frozen=True)
class PixelRanges:
    """Non-overlapping HEALPix pixels of mixed orders, sorted by their range of ``_healpix_29`` values."""

    orders: np.ndarray
    pixels: np.ndarray
    starts: np.ndarray
    stops: np.ndarray

    @classmethod
    def of(cls, pixels: list[tuple[int, int]]) -> PixelRanges:
        from hats.pixel_math.spatial_index import healpix_to_spatial_index

        orders = np.array([o for o, _ in pixels], dtype=np.int64)
        numbers = np.array([p for _, p in pixels], dtype=np.int64)
        starts = np.asarray(healpix_to_spatial_index(orders, numbers), dtype=np.int64)
        order = np.argsort(starts, kind="stable")
        orders, numbers, starts = orders[order], numbers[order], starts[order]
        stops = np.asarray(healpix_to_spatial_index(orders, numbers + 1), dtype=np.int64)
        return cls(orders, numbers, starts, stops)

    def __len__(self) -> int:
        return len(self.orders)

    def locate(self, spatial_index: np.ndarray) -> np.ndarray:
        """The position of each value's pixel in this list; -1 for a value that no pixel covers."""
        found = np.searchsorted(self.starts, spatial_index, side="right") - 1
        inside = (found >= 0) & (spatial_index < self.stops[np.maximum(found, 0)])
        return np.where(inside, found, -1)


def spatial_index(ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    """HATS's ``_healpix_29`` of each position (int64, nested order 29)."""
    from hats.pixel_math.spatial_index import compute_spatial_index

    return np.asarray(compute_spatial_index(np.asarray(ra, np.float64), np.asarray(dec, np.float64)), np.int64)


def adaptive_pixels(histogram: np.ndarray, order: int, max_rows: int) -> list[tuple[int, int]]:
    """hats-import's partitioning of an order-``order`` row histogram: pixels of at most ``max_rows`` rows."""
    from hats.pixel_math import generate_alignment

    alignment = generate_alignment(histogram, highest_order=order, lowest_order=0, threshold=max_rows,
                                   drop_empty_siblings=True, use_lower_order=True)
    effective = int(np.log2(len(alignment) // 12) // 2)
    occupied = np.unique(np.nonzero(histogram)[0] >> (2 * (order - effective)))
    return sorted({(int(alignment[i][0]), int(alignment[i][1])) for i in occupied})


def pixels_like(path: str) -> list[tuple[int, int]]:
    """The partition pixels of an existing HATS catalog (or of a collection's main catalog)."""
    import hats
    from hats.catalog import CatalogCollection

    catalog = hats.read_hats(path)
    if isinstance(catalog, CatalogCollection):
        catalog = catalog.main_catalog
    return sorted((p.order, p.pixel) for p in catalog.get_healpix_pixels())


def pixel_file(catalog_dir: Path, order: int, pixel: int) -> Path:
    from hats.io import paths
    from hats.pixel_math import HealpixPixel

    return Path(str(paths.pixel_catalog_file(catalog_dir, HealpixPixel(order, pixel)).path))


def write_kwargs(schema: pa.Schema, sort_columns: list[str]) -> dict[str, object]:
    """hats's own parquet settings (zstd, byte-stream-split floats, delta-coded sorted ids) for ``schema``.

    One change: zstd level ZSTD_LEVEL where hats uses 15, which took three times as long to write a photo-z
    table for 7% fewer bytes (docs/publish.md).
    """
    from hats.io import file_io

    ordering = [(name, "ascending") for name in sort_columns]
    return file_io.get_parquet_write_table_kwargs(
        schema, write_table_kwargs={"sorting_columns": pq.SortingColumn.from_ordering(schema, ordering),
                                    "compression_level": ZSTD_LEVEL})


def write_table_file(path: Path, table: pa.Table, sort_columns: list[str]) -> pq.FileMetaData:
    """Write ``table`` sorted by ``sort_columns`` under a temporary name, rename it, return its footer."""
    table = table.sort_by([(name, "ascending") for name in sort_columns])
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(path.name + ".part")  # not "Npix*.parquet": hats's validation must never see it
    collector: list[pq.FileMetaData] = []
    pq.write_table(table, temp, metadata_collector=collector, **write_kwargs(table.schema, sort_columns))
    temp.replace(path)
    return collector[0]


def write_parquet_metadata(dataset_dir: Path, schema: pa.Schema, footers: list[tuple[str, pq.FileMetaData]]) -> None:
    """``_metadata`` (every file's row groups, in the order given) and ``_common_metadata`` of ``dataset_dir``."""
    from hats.io import file_io

    collected = []
    for relative_path, footer in footers:
        footer.set_file_path(relative_path)
        collected.append(footer)
    file_io.write_parquet_metadata(schema, dataset_dir / "_metadata", metadata_collector=collected,
                                   write_statistics=True)
    file_io.write_parquet_metadata(schema, dataset_dir / "_common_metadata")


def finish_catalog(catalog_dir: Path, name: str, schema: pa.Schema, footers: dict[tuple[int, int], pq.FileMetaData],
                   histogram: np.ndarray, order: int, max_rows: int, builder: str,
                   extra_properties: dict[str, str]) -> int:
    """Write the catalog's metadata once every partition file exists; returns its row count."""
    from hats.catalog import PartitionInfo, TableProperties
    from hats.io import file_io, paths
    from hats.io.skymap import write_skymap
    from hats.pixel_math import HealpixPixel

    pixels = sorted(footers)
    dataset = catalog_dir / "dataset"
    write_parquet_metadata(dataset, schema, [(str(pixel_file(catalog_dir, o, p).relative_to(dataset)), footers[o, p])
                                             for o, p in pixels])
    info = PartitionInfo.from_healpix([HealpixPixel(o, p) for o, p in pixels])
    info.write_to_file(catalog_path=catalog_dir)
    write_skymap(histogram=histogram, catalog_dir=catalog_dir, orders=SKYMAP_ALT_ORDERS)
    file_io.write_fits_image(histogram, paths.get_point_map_file_pointer(catalog_dir))
    rows = int(sum(footer.num_rows for footer in footers.values()))
    TableProperties(catalog_name=name, catalog_type="object", total_rows=rows, ra_column="coord_ra",
                    dec_column="coord_dec", healpix_column=SPATIAL_INDEX, healpix_order=29, npix_suffix=".parquet",
                    skymap_order=order, skymap_alt_orders=SKYMAP_ALT_ORDERS, hats_max_rows=max_rows,
                    moc_sky_fraction=f"{info.calculate_fractional_coverage():.5f}",
                    hats_order=info.get_highest_order(), hats_cols_sort=" ".join(SORT_COLUMNS[1:]),
                    **extra_properties, **TableProperties.new_provenance_dict(catalog_dir, builder=builder)
                    ).to_properties_file(catalog_dir)
    return rows


def index_part_of(ids: np.ndarray, low: int, high: int, parts: int) -> np.ndarray:
    """Which of ``parts`` equal objectId ranges over [low, high] each id falls in: contiguous, sorted parts."""
    width = (high - low) // parts + 1  # Python ints: exact for any int64 range
    offsets = np.asarray(ids, dtype=np.int64).view(np.uint64) - np.uint64(low % (1 << 64))  # wraps to id - low
    return (offsets // np.uint64(width)).astype(np.int64)


def index_part_file(index_dir: Path, part: int) -> Path:
    return index_dir / "dataset" / "index" / f"part.{part}.parquet"


def finish_index(index_dir: Path, catalog_name: str, footers: dict[int, pq.FileMetaData], builder: str) -> None:
    """The objectId index catalog's metadata, once its parts exist."""
    from hats.catalog import TableProperties

    schema = index_schema()
    dataset = index_dir / "dataset"
    write_parquet_metadata(dataset, schema, [(str(index_part_file(index_dir, part).relative_to(dataset)),
                                              footers[part]) for part in sorted(footers)])
    rows = int(sum(footer.num_rows for footer in footers.values()))
    TableProperties(catalog_name=f"{catalog_name}_objectId_index", catalog_type="index", total_rows=rows,
                    primary_catalog=catalog_name, indexing_column="objectId", npix_suffix=".parquet",
                    **TableProperties.new_provenance_dict(index_dir, builder=builder)).to_properties_file(index_dir)


def index_schema() -> pa.Schema:
    return pa.schema([("objectId", pa.int64()), ("Norder", pa.uint8()), ("Npix", pa.uint64())])


def finish_collection(out: Path, catalog_name: str) -> None:
    """``collection.properties``: lsdb opens ``out`` as the catalog and finds its objectId index by itself."""
    from hats.catalog import CollectionProperties

    CollectionProperties(name=catalog_name, hats_primary_table_url=catalog_name,
                         all_indexes={"objectId": f"{catalog_name}_objectId_index"},
                         default_index="objectId").to_properties_file(out)


def primary_catalog(collection: Path) -> Path:
    """The catalog a collection written by ``finish_collection`` names as primary (hats's own reader)."""
    from hats.catalog import CollectionProperties

    return collection / CollectionProperties.read_from_dir(collection).hats_primary_table_url


def catalog_properties(catalog_dir: Path) -> dict[str, object]:
    """A catalog's ``hats.properties`` under the names the file uses (``hats_nrows``, ``dataproduct_type``...), the
    hats fields and the extra ones (``pzmpi_*``) alike."""
    from hats.catalog import TableProperties

    properties = TableProperties.read_from_dir(catalog_dir)
    return {**properties.explicit_dict(by_alias=True), **properties.extra_dict()}


def is_valid_collection(path: Path) -> bool:
    """The hats library's own strict validation of a collection: its catalog and index."""
    from hats.io.validation import is_valid_collection as hats_is_valid_collection

    return bool(hats_is_valid_collection(path, strict=True))


def replace_folder(temp: Path, final: Path) -> None:
    """Put a finished ``temp`` folder in place of ``final`` (an older publication is removed first)."""
    if final.exists():
        shutil.rmtree(final)
    temp.rename(final)

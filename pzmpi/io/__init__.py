"""Files in and out of the engine: parquet catalogs in (through pyarrow), HDF5 pieces out (through h5py)."""

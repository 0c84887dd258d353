"""Catalogs to try and test pzmpi on: RAIL's DC2 sample as an Object catalog, and synthetic DP0.2/DP1 catalogs."""

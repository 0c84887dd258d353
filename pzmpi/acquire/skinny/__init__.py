"""Skinny tables: a release's Object catalog reduced to ids, positions and AB magnitudes (docs/skinny.md)."""

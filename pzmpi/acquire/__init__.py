"""Stage I, data acquisition: the release record, integrity checks of the transferred catalog and skinny tables.

It hands the next stages files (skinny tables, reports) and the release record, never objects.
"""

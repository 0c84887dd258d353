"""``pzmpi verify``: integrity checks of a transferred catalog and its QA report (docs/verify.md)."""

"""The documentation keeps up with the code: every configuration key is documented."""

from pathlib import Path

from pzmpi.config import SCHEMA, load_config

DOCS = Path(__file__).parent.parent / "docs"


def test_every_configuration_key_is_documented():
    text = (DOCS / "configuration.md").read_text()
    for section, keys in SCHEMA.items():
        body = text.split(f"## [{section}]", 1)[1].split("\n## ", 1)[0]
        for key in keys:
            assert f"| `{key}` |" in body, f"{section}.{key} is missing from docs/configuration.md"


def test_example_configurations_are_valid():
    examples = sorted((DOCS / "examples").glob("*.toml"))
    assert examples
    for path in examples:
        load_config(path)

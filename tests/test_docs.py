"""The documentation keeps up with the code: every configuration key of a run and of skinny tables is documented."""

from pathlib import Path

from pzmpi.config import SCHEMA, load_config
from pzmpi.skinny_config import SKINNY_SCHEMA

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


def test_every_skinny_configuration_key_is_documented():
    text = (DOCS / "skinny.md").read_text()
    for section, keys in SKINNY_SCHEMA.items():
        body = text.split(f"### [{section}]", 1)[1].split("\n### ", 1)[0]
        for key in keys:
            assert f"| `{key}` |" in body, f"{section}.{key} is missing from docs/skinny.md"

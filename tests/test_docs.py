"""The documentation keeps up with the code: every configuration key is documented, every example is valid."""

import re
from pathlib import Path

import pytest

from pzmpi.acquire.skinny.config import SKINNY_SCHEMA
from pzmpi.core.tomlconfig import read_toml, validate_sections
from pzmpi.estimators.config import SCHEMA, load_config
from pzmpi.train.evaluate_config import EVALUATE_SCHEMA
from pzmpi.train.trainingset_config import TRAINING_SET_SCHEMA

DOCS = Path(__file__).parent.parent / "docs"


@pytest.mark.parametrize("document, schema, heading", [
    ("configuration.md", SCHEMA, "## "),
    ("skinny.md", SKINNY_SCHEMA, "### "),
    ("validation.md", EVALUATE_SCHEMA, "### "),
    ("training_set.md", TRAINING_SET_SCHEMA, "### "),
])
def test_every_configuration_key_is_documented(document, schema, heading):
    text = (DOCS / document).read_text()
    for section, keys in schema.items():
        body = text.split(f"{heading}[{section}]", 1)[1].split(f"\n{heading}", 1)[0]
        for key in keys:
            assert f"| `{key}` |" in body, f"{section}.{key} is missing from docs/{document}"


def test_example_configurations_are_valid():
    examples = sorted((DOCS / "examples").rglob("*.toml"))
    assert len(examples) >= 12  # the estimators' and the release chain's (examples/release/)
    for path in examples:
        # these name what the demo makes: run folders, the sample's files, a release's record
        schema = {"evaluate.toml": EVALUATE_SCHEMA, "training_set.toml": TRAINING_SET_SCHEMA,
                  "skinny.toml": SKINNY_SCHEMA}.get(path.name)
        if schema is not None:
            validate_sections(read_toml(path), schema, str(path))
        else:
            load_config(path)


def test_every_code_path_the_documents_name_exists():
    root = DOCS.parent
    for document in [root / "README.md", *DOCS.rglob("*.md")]:
        for path in re.findall(r"`((?:pzmpi|bench|tests|bin|jobscripts)/[\w/.-]*)`", document.read_text()):
            assert (root / path).exists(), f"{document.relative_to(root)} names {path}, which does not exist"

"""``docs/build-config.md`` documents every key of the build config, and matches the code."""

from __future__ import annotations

import re
from pathlib import Path

from videoespresso_hf.pipeline.config import BuildConfig, _documented_attributes, config_reference

DOC = Path(__file__).parents[2] / "docs" / "build-config.md"
REGENERATE = (
    'python -c "from videoespresso_hf.pipeline.config import config_reference; '
    "print(config_reference(), end='')\" > docs/build-config.md"
)


def test_the_config_reference_is_up_to_date():
    assert DOC.read_text() == config_reference(), f"regenerate it: {REGENERATE}"


def test_every_key_of_every_section_is_described():
    undocumented = []
    for section, field in BuildConfig.model_fields.items():
        _, attributes = _documented_attributes(field.annotation)
        undocumented += [
            f"{section}.{key}" for key in field.annotation.model_fields if not re.search(rf"\b{key}\b", attributes)
        ]
    assert undocumented == []

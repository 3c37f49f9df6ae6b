"""Each decision lives in one place (issue 21): a second copy of a rule that has one home fails here.

These read the source tree, so a copy pasted back in, under any name, is caught before it drifts.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "videoespresso_hf"


def _files_matching(pattern: str) -> set[str]:
    regex = re.compile(pattern)
    return {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if regex.search(path.read_text(encoding="utf-8"))
    }


def test_package_versions_are_read_in_one_place():
    """``videoespresso env``, the training card and the predict sidecar all list ``versions.PACKAGES``."""
    assert _files_matching(r"metadata\.version\(|PackageNotFoundError") == {"versions.py"}


def test_the_three_version_reports_list_the_same_packages(tmp_path):
    from videoespresso_hf.benchmarking.job import _environment
    from videoespresso_hf.cli.env import environment_report
    from videoespresso_hf.training.cards import library_versions
    from videoespresso_hf.versions import PACKAGES

    assert set(PACKAGES) - {"videoespresso-hf"} <= set(environment_report())
    assert tuple(library_versions()) == PACKAGES
    assert set(PACKAGES) <= set(_environment(1)["versions"])


def _renames(path: Path) -> list[int]:
    """Lines of ``os.replace``/``os.rename`` and ``Path.replace(target)``/``Path.rename(target)`` calls
    (``str.replace`` takes two arguments; ``dataclasses.replace`` copies a dataclass)."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in ("replace", "rename"):
            continue
        owner = node.func.value
        if (isinstance(owner, ast.Name) and owner.id == "os") or (len(node.args) == 1 and not (isinstance(owner, ast.Name) and owner.id == "dataclasses")):
            lines.append(node.lineno)
    return lines


def test_files_are_replaced_only_by_the_atomic_writer():
    """Temp-then-rename lives in ``files.atomic_path``. ``data/hub.py`` renames whole things it already
    finished inside its hidden staging folder (shards named once their count is known, the folder itself)."""
    renames = {str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py") if _renames(path)}
    assert renames == {"files.py", "data/hub.py"}


def test_the_rename_finder_sees_a_hand_written_writer(tmp_path):
    # Guard against a vacuous test: both spellings of a hand-written atomic write are found.
    sample = tmp_path / "writer.py"
    sample.write_text("import os\nos.replace(a, b)\npartial.replace(path)\ntext.replace('a', 'b')\n")
    assert _renames(sample) == [2, 3]


def test_dataset_cards_are_rendered_in_one_place():
    """``data/card.py`` renders every dataset card (the prepared folder's and the build's ``generated``):
    one card data class, one content fingerprint rule in the config description."""
    assert _files_matching(r"DatasetCard|Content sha256|\"---\\n") == {"data/card.py"}


def test_the_build_card_is_a_hub_card_that_declares_the_schema(tmp_path):
    from huggingface_hub import DatasetCard

    from videoespresso_hf.data.card import content_fingerprint
    from videoespresso_hf.data.schema import features
    from videoespresso_hf.pipeline.stages.export import write_card

    (tmp_path / "test.jsonl").write_text('{"id": "a"}\n', encoding="utf-8")
    card = DatasetCard.load(write_card(tmp_path, {"counts": {"train": 0, "test": 1}}))
    (config,) = card.data.configs
    assert config["data_files"] == [{"split": "test", "path": "test.jsonl"}]
    assert config["description"].endswith(f"Content sha256: {content_fingerprint([tmp_path / 'test.jsonl'], tmp_path)}.")
    assert card.data.dataset_info["features"] == features()._to_yaml_list()
    assert "Box convention" in card.text


def _calls(path: Path, name: str) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            func = node.func
            if (isinstance(func, ast.Attribute) and func.attr == name) or (isinstance(func, ast.Name) and func.id == name):
                return True
    return False


def test_prepared_rows_are_read_by_one_reader():
    """``data.load_prepared`` checks the folder/config/split and turns ``datasets`` errors into one line;
    predict and training read through it. Left: the demo shows the plain ``datasets`` call to the user."""
    readers = {str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py") if _calls(path, "load_dataset")}
    assert readers == {"data/prepared.py", "cli/demo_steps.py"}

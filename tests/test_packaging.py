"""The installed package holds the product: test doubles stay under tests/ and out of the wheel."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "videoespresso_hf"
DOUBLES = sorted(path.stem for path in (REPO / "tests" / "doubles").glob("*.py") if path.stem != "__init__")


def _imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return modules


def test_src_imports_nothing_from_tests():
    offenders = {
        str(path.relative_to(REPO)): sorted(m for m in _imported_modules(path) if m.split(".")[0] in {"tests", "doubles"})
        for path in PACKAGE.rglob("*.py")
    }
    assert {path: found for path, found in offenders.items() if found} == {}


@pytest.mark.slow
def test_wheel_ships_the_product_and_no_test_doubles(tmp_path):
    # Build from a copy so the checkout gets no build/ or *.egg-info folders.
    source = tmp_path / "source"
    shutil.copytree(REPO / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path / "dist")],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("videoespresso_hf-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    stems = {Path(name).stem for name in names if name.endswith(".py")}
    assert stems.isdisjoint(DOUBLES), sorted(stems & set(DOUBLES))
    assert not [name for name in names if "/testing/" in name or name.startswith("tests/")]
    # What the product needs does ship: the demo inputs, the shared vocabulary, versioned prompts, the metric.
    for expected in (
        "videoespresso_hf/demo/releases.py",
        "videoespresso_hf/demo/videos.py",
        "videoespresso_hf/tasks.py",
        "videoespresso_hf/evaluation/metrics/videoespresso/videoespresso.py",
    ):
        assert expected in names
    assert any(name.startswith("videoespresso_hf/pipeline/prompts/") for name in names)

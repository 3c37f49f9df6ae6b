"""Each decision lives in one place (issue 21): a second copy of a rule that has one home fails here.

These read the source tree, so a copy pasted back in, under any name, is caught before it drifts.
"""

from __future__ import annotations

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

"""The lazy exports of ``data``, ``training`` and ``evaluation``: a name's module is imported when the name is
first used, never at package import, and ``dir()`` lists every export all along."""

from __future__ import annotations

import importlib
import sys

import pytest

PACKAGE = """
from videoespresso_hf._lazy import lazy_exports

_EXPORTS = {"heavy_value": ".heavy", "TASKS": "videoespresso_hf.tasks"}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
"""


@pytest.fixture
def lazy_package(tmp_path, monkeypatch):
    (tmp_path / "lazy_pkg").mkdir()
    (tmp_path / "lazy_pkg" / "__init__.py").write_text(PACKAGE)
    (tmp_path / "lazy_pkg" / "heavy.py").write_text("heavy_value = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield importlib.import_module("lazy_pkg")
    for name in ("lazy_pkg", "lazy_pkg.heavy"):
        sys.modules.pop(name, None)


def test_a_name_imports_its_module_on_first_use(lazy_package):
    assert "lazy_pkg.heavy" not in sys.modules
    assert {"heavy_value", "TASKS", "lazy_exports"} <= set(dir(lazy_package))
    assert lazy_package.heavy_value == 42 and "lazy_pkg.heavy" in sys.modules
    from videoespresso_hf.tasks import TASKS

    assert lazy_package.TASKS is TASKS


def test_an_unknown_name_is_an_attribute_error_naming_the_package(lazy_package):
    with pytest.raises(AttributeError, match="module 'lazy_pkg' has no attribute 'missing'"):
        lazy_package.missing  # noqa: B018
    assert not hasattr(lazy_package, "heavy")  # a submodule not imported yet is no export


@pytest.mark.parametrize("name", ["videoespresso_hf.data", "videoespresso_hf.training", "videoespresso_hf.evaluation"])
def test_the_packages_list_every_export(name):
    package = importlib.import_module(name)
    assert set(package.__all__) <= set(dir(package))

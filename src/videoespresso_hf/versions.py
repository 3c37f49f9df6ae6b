"""The one table of packages whose versions the package reports, and how it reads them.

``videoespresso env`` (bug reports), the training card (what a checkpoint was trained with) and the
predict job's sidecar (what a predictions file was made with) all list these, so a package added here
shows up in all three, and a bug report, a card and a run record can be compared line by line.

A leaf module: it imports nothing from the package.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterable

__all__ = ["PACKAGES", "package_versions"]

PACKAGES: tuple[str, ...] = (
    "videoespresso-hf", "torch", "torchvision", "transformers", "tokenizers", "datasets", "huggingface_hub",
    "accelerate", "safetensors", "evaluate", "openai", "sentence-transformers", "peft", "trl", "av", "torchcodec",
    "decord2", "scenedetect-headless", "ray", "pyarrow", "numpy",
)  # fmt: skip


def package_versions(names: Iterable[str] = PACKAGES) -> dict[str, str | None]:
    """``{distribution name: installed version}``, ``None`` for a package that is not installed."""
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions

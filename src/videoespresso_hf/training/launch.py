"""The accelerate config files shipped with the package, by name.

>>> accelerate_config_path("zero3")   # → .../videoespresso_hf/training/accelerate_configs/zero3.yaml

``accelerate launch --config_file "$(python -c 'from videoespresso_hf.training import accelerate_config_path;
print(accelerate_config_path("multi_gpu"))')" -m videoespresso_hf train reasoner ...``
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["ACCELERATE_CONFIGS", "accelerate_config_path"]

CONFIG_DIR = Path(__file__).resolve().parent / "accelerate_configs"
ACCELERATE_CONFIGS: tuple[str, ...] = ("single_gpu", "multi_gpu", "multi_node", "zero2", "zero3", "fsdp")


def accelerate_config_path(name: str) -> Path:
    """Path of a shipped accelerate config (``single_gpu``, ``multi_gpu``, ``multi_node``, ``zero2``, ``zero3``, ``fsdp``)."""
    if name not in ACCELERATE_CONFIGS:
        raise ValueError(f"unknown accelerate config {name!r}; choose one of {', '.join(ACCELERATE_CONFIGS)}")
    return CONFIG_DIR / f"{name}.yaml"

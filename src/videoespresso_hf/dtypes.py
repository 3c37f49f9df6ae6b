"""``--dtype`` / ``dtype=``: the one rule that turns a name into what ``from_pretrained`` takes.

A leaf module: torch is imported only when a name other than ``"auto"`` is given.
"""

from __future__ import annotations

from typing import Any

__all__ = ["torch_dtype"]


def torch_dtype(name: str) -> Any:
    """``"auto"`` (the checkpoint's dtype) as it is, else the ``torch.dtype`` of that name.

    Raises:
        ValueError: not a torch dtype name (one line, naming the usual choices).
    """
    if name == "auto":
        return "auto"
    import torch

    dtype = getattr(torch, name, None)
    if not isinstance(dtype, torch.dtype):
        raise ValueError(f"unknown --dtype {name!r} (use auto, bfloat16, float16 or float32)")
    return dtype

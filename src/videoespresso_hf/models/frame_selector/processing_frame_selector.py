"""Processor of the Frame Selector: the captioner's own processor plus the chooser's tokenizer.

Saved as one folder: ``captioner/`` (any native VLM processor), ``chooser/`` (a tokenizer) and a root
``processor_config.json`` naming this class, so ``AutoProcessor.from_pretrained(path)`` finds it
(registered by ``import videoespresso_hf``, or through ``trust_remote_code=True``: the file is copied
next to the weights). Imports nothing but transformers.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from transformers import AutoProcessor, AutoTokenizer
from transformers.utils import PushToHubMixin

PROCESSOR_CONFIG_NAME = "processor_config.json"
CAPTIONER_FOLDER = "captioner"
CHOOSER_FOLDER = "chooser"


class VexFrameSelectorProcessor(PushToHubMixin):
    """Holds ``captioner_processor`` (a VLM processor with a chat template) and ``chooser_tokenizer``."""

    _auto_class = "AutoProcessor"

    def __init__(self, captioner_processor, chooser_tokenizer):
        self.captioner_processor = captioner_processor
        self.chooser_tokenizer = chooser_tokenizer

    @classmethod
    def from_components(cls, captioner_id: str, chooser_id: str, **kwargs) -> VexFrameSelectorProcessor:
        """Processor for :meth:`VexFrameSelectorModel.from_components` (same ids)."""
        return cls(
            AutoProcessor.from_pretrained(captioner_id, **kwargs),
            AutoTokenizer.from_pretrained(chooser_id, **kwargs),
        )

    @classmethod
    def register_for_auto_class(cls, auto_class: str = "AutoProcessor") -> None:
        cls._auto_class = auto_class

    def save_pretrained(
        self, save_directory: str | os.PathLike, push_to_hub: bool = False, **kwargs
    ) -> list[str]:
        """Write ``captioner/``, ``chooser/``, ``processor_config.json`` and this file's source."""
        if push_to_hub:
            raise ValueError("use processor.push_to_hub(repo_id) to upload")
        root = Path(save_directory)
        root.mkdir(parents=True, exist_ok=True)
        self.captioner_processor.save_pretrained(root / CAPTIONER_FOLDER)
        self.chooser_tokenizer.save_pretrained(root / CHOOSER_FOLDER)
        module_file = Path(__file__)
        shutil.copyfile(module_file, root / module_file.name)
        config = {
            "processor_class": type(self).__name__,
            "auto_map": {"AutoProcessor": f"{module_file.stem}.{type(self).__name__}"},
        }
        (root / PROCESSOR_CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        return [str(root / PROCESSOR_CONFIG_NAME)]

    @classmethod
    def from_pretrained(
        cls, pretrained_model_name_or_path: str | os.PathLike, **kwargs
    ) -> VexFrameSelectorProcessor:
        """Load from a folder written by :meth:`save_pretrained` (local path or Hub id)."""
        kwargs.pop("_from_auto", None)
        kwargs.pop("trust_remote_code", None)
        root = kwargs.pop("subfolder", None) or ""  # the selector may live in a folder of a larger repo
        captioner = AutoProcessor.from_pretrained(
            pretrained_model_name_or_path, subfolder=f"{root}/{CAPTIONER_FOLDER}".lstrip("/"), **kwargs
        )
        chooser = AutoTokenizer.from_pretrained(
            pretrained_model_name_or_path, subfolder=f"{root}/{CHOOSER_FOLDER}".lstrip("/"), **kwargs
        )
        return cls(captioner, chooser)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(captioner_processor={type(self.captioner_processor).__name__}, "
            f"chooser_tokenizer={type(self.chooser_tokenizer).__name__})"
        )


__all__ = ["VexFrameSelectorProcessor"]

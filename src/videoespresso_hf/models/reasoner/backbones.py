"""The reasoner backbones: ONE table that registration, hybrid loading and the test doubles read.

A row names a transformers VLM family the reasoner fine-tunes (``family`` is the stock ``model_type`` of
its checkpoints, e.g. ``Qwen/Qwen2.5-VL-7B-Instruct`` has ``"qwen2_5_vl"``) and the VideoEspresso classes
that wrap it (their names in ``configuration_reasoner``, ``modeling_reasoner`` and ``processing_reasoner``).
Adding a family is one row here plus those three classes. The table holds names, not classes: a row's
classes are imported only when that family is loaded.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from videoespresso_hf.defaults import LLAVA_REASONER, QWEN3_VL_REASONER, REASONER_MODEL

__all__ = ["BACKBONES", "ReasonerBackbone", "backbone_for", "supported_families"]


@dataclass(frozen=True)
class ReasonerBackbone:
    """One reasoner family.

    Attributes:
        family: ``model_type`` of the stock checkpoints (``config.json``) this row loads.
        display_name: how users know the family (error messages, cards).
        default_base_id: the Hub id a new reasoner of this family starts from.
        config_class / model_class / processor_class: class names in the reasoner's three modules.
    """

    family: str
    display_name: str
    default_base_id: str
    config_class: str
    model_class: str
    processor_class: str

    @property
    def model_type(self) -> str:
        """``model_type`` of VideoEspresso checkpoints of this family."""
        return f"vex_reasoner_{self.family}"

    def classes(self) -> tuple[type, type, type]:
        """``(config class, model class, processor class)``; imports torch."""
        package = __name__.rsplit(".", 1)[0]
        return (
            getattr(importlib.import_module(f"{package}.configuration_reasoner"), self.config_class),
            getattr(importlib.import_module(f"{package}.modeling_reasoner"), self.model_class),
            getattr(importlib.import_module(f"{package}.processing_reasoner"), self.processor_class),
        )


BACKBONES: tuple[ReasonerBackbone, ...] = (
    ReasonerBackbone(
        family="qwen2_5_vl",
        display_name="Qwen2.5-VL",
        default_base_id=REASONER_MODEL,
        config_class="VexQwen2_5_VLReasonerConfig",
        model_class="VexQwen2_5_VLReasonerForConditionalGeneration",
        processor_class="VexQwen2_5_VLReasonerProcessor",
    ),
    ReasonerBackbone(
        family="qwen3_vl",
        display_name="Qwen3-VL",
        default_base_id=QWEN3_VL_REASONER,
        config_class="VexQwen3VLReasonerConfig",
        model_class="VexQwen3VLReasonerForConditionalGeneration",
        processor_class="VexQwen3VLReasonerProcessor",
    ),
    ReasonerBackbone(
        family="llava",
        display_name="LLaVA-NeXT-Interleave",
        default_base_id=LLAVA_REASONER,
        config_class="VexLlavaReasonerConfig",
        model_class="VexLlavaReasonerForConditionalGeneration",
        processor_class="VexLlavaReasonerProcessor",
    ),
)


def backbone_for(model_type: str) -> ReasonerBackbone | None:
    """The row for a stock (``"qwen2_5_vl"``) or VideoEspresso (``"vex_reasoner_qwen2_5_vl"``) model type."""
    return next((row for row in BACKBONES if model_type in (row.family, row.model_type)), None)


def supported_families() -> str:
    """``"Qwen2.5-VL (qwen2_5_vl), Qwen3-VL (qwen3_vl)"``: for error messages."""
    return ", ".join(f"{row.display_name} ({row.family})" for row in BACKBONES)

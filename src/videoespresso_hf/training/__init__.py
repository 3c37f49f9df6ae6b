"""Training recipes: two-stage LoRA fine-tuning of the reasoner and supervised training of the selector.

>>> from videoespresso_hf.training import ReasonerTrainingArguments, train_reasoner
>>> train_reasoner(ReasonerTrainingArguments(data="prepared/", config="train_video", output_dir="out/"))

Both run unchanged under ``accelerate launch`` (see ``accelerate_configs/`` in this package). Heavy
imports (torch, trl, peft) happen on first use of a name below.
"""

from __future__ import annotations

from videoespresso_hf._lazy import lazy_exports

_EXPORTS = {
    "ReasonerTrainingArguments": ".arguments",
    "ReasonerRLArguments": ".arguments",
    "SelectorTrainingArguments": ".arguments",
    "LLM_LORA_PATTERN": ".arguments",
    "gradient_accumulation_for": ".arguments",
    "train_reasoner": ".reasoner",
    "merge_adapter": ".reasoner",
    "load_reasoner_for_training": ".reasoner",
    "train_selector": ".selector",
    "accelerate_config_path": ".launch",
    "ACCELERATE_CONFIGS": ".launch",
    "paper_scale_plan": ".plan",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

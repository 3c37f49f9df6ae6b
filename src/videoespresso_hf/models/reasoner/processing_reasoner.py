"""Processors of the VideoEspresso reasoner: the native LLaVA / Qwen processors under their own names.

They exist so that ``processor_config.json`` names a VideoEspresso class (``AutoProcessor`` then
resolves to it, by registration or by ``trust_remote_code=True``) and so that the chat template that
the stage prompts are written for travels with the checkpoint. The two-stage logic itself lives on
the model (:meth:`generate_two_stage`). Imports nothing but transformers (copied for remote code).
"""

from transformers import LlavaProcessor, Qwen2_5_VLProcessor, Qwen3VLProcessor


class VexLlavaReasonerProcessor(LlavaProcessor):
    """``LlavaProcessor`` for :class:`VexLlavaReasonerForConditionalGeneration`."""


class VexQwen2_5_VLReasonerProcessor(Qwen2_5_VLProcessor):
    """``Qwen2_5_VLProcessor`` for :class:`VexQwen2_5_VLReasonerForConditionalGeneration`."""


class VexQwen3VLReasonerProcessor(Qwen3VLProcessor):
    """``Qwen3VLProcessor`` for :class:`VexQwen3VLReasonerForConditionalGeneration`."""


__all__ = ["VexLlavaReasonerProcessor", "VexQwen2_5_VLReasonerProcessor", "VexQwen3VLReasonerProcessor"]

VexLlavaReasonerProcessor.register_for_auto_class("AutoProcessor")
VexQwen2_5_VLReasonerProcessor.register_for_auto_class("AutoProcessor")
VexQwen3VLReasonerProcessor.register_for_auto_class("AutoProcessor")

"""Register the VideoEspresso configs, models and processors with the transformers Auto classes.

``import videoespresso_hf`` imports this module. Registering needs the model classes, i.e. torch
(~7 s), which ``videoespresso score`` should not pay; so this module only arms a one-shot import hook:
registration runs right after ``transformers.models.auto`` is imported (the moment anything touches
``AutoConfig`` / ``AutoModel`` / ``AutoProcessor``), or at once if it already is. Afterwards
``AutoConfig`` / ``AutoModel`` / ``AutoModelForImageTextToText`` / ``AutoProcessor.from_pretrained(path)``
resolve VideoEspresso checkpoints without remote code. Every class is also registered for its auto
class, so ``save_pretrained`` copies the defining files and writes ``auto_map``: the checkpoints then
load with ``trust_remote_code=True`` in processes that never import ``videoespresso_hf``.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
import warnings


def register() -> None:
    """Idempotent: (re-)register every VideoEspresso class with the Auto classes (imports torch)."""
    from transformers import AutoConfig, AutoModel, AutoModelForImageTextToText, AutoProcessor

    from videoespresso_hf.models.frame_selector.configuration_frame_selector import VexFrameSelectorConfig
    from videoespresso_hf.models.frame_selector.modeling_frame_selector import VexFrameSelectorModel
    from videoespresso_hf.models.frame_selector.processing_frame_selector import VexFrameSelectorProcessor
    from videoespresso_hf.models.reasoner.configuration_reasoner import (
        VexQwen2_5_VLReasonerConfig,
        VexQwen3VLReasonerConfig,
    )
    from videoespresso_hf.models.reasoner.modeling_reasoner import (
        VexQwen2_5_VLReasonerForConditionalGeneration,
        VexQwen3VLReasonerForConditionalGeneration,
    )
    from videoespresso_hf.models.reasoner.processing_reasoner import (
        VexQwen2_5_VLReasonerProcessor,
        VexQwen3VLReasonerProcessor,
    )

    reasoners = (
        (
            VexQwen2_5_VLReasonerConfig,
            VexQwen2_5_VLReasonerForConditionalGeneration,
            VexQwen2_5_VLReasonerProcessor,
        ),
        (VexQwen3VLReasonerConfig, VexQwen3VLReasonerForConditionalGeneration, VexQwen3VLReasonerProcessor),
    )
    AutoConfig.register(VexFrameSelectorConfig.model_type, VexFrameSelectorConfig, exist_ok=True)
    AutoModel.register(VexFrameSelectorConfig, VexFrameSelectorModel, exist_ok=True)
    AutoProcessor.register(VexFrameSelectorConfig, VexFrameSelectorProcessor, exist_ok=True)
    VexFrameSelectorConfig.register_for_auto_class()
    VexFrameSelectorModel.register_for_auto_class("AutoModel")
    VexFrameSelectorProcessor.register_for_auto_class("AutoProcessor")

    for config_class, model_class, processor_class in reasoners:
        AutoConfig.register(config_class.model_type, config_class, exist_ok=True)
        AutoModelForImageTextToText.register(config_class, model_class, exist_ok=True)
        AutoModel.register(config_class, model_class, exist_ok=True)
        AutoProcessor.register(config_class, processor_class, exist_ok=True)
        config_class.register_for_auto_class()
        model_class.register_for_auto_class("AutoModelForImageTextToText")
        processor_class.register_for_auto_class("AutoProcessor")


_TRIGGER = "transformers.models.auto"
_registered = False


def ensure_registered() -> None:
    """Register once per process (what the import hook calls; safe to call by hand)."""
    global _registered
    if not _registered:
        register()
        _registered = True


class _RegisterAfterAutoImport(importlib.abc.MetaPathFinder):
    """One-shot finder: lets the normal finders load ``transformers.models.auto``, then registers."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != _TRIGGER:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        original_exec = spec.loader.exec_module

        def exec_then_register(module):
            original_exec(module)
            try:
                ensure_registered()
            except Exception as error:  # never break `import transformers` for the user
                warnings.warn(
                    f"videoespresso_hf could not register its models with transformers: {error}", stacklevel=2
                )

        spec.loader = _Loader(spec.loader, exec_then_register)
        return spec


class _Loader(importlib.abc.Loader):
    def __init__(self, wrapped, exec_module):
        self._wrapped = wrapped
        self.exec_module = exec_module

    def create_module(self, spec):
        return self._wrapped.create_module(spec)

    def __getattr__(self, name):
        return getattr(self._wrapped, name)


def _arm() -> None:
    if _TRIGGER in sys.modules:
        ensure_registered()
    elif not any(isinstance(finder, _RegisterAfterAutoImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _RegisterAfterAutoImport())


_arm()

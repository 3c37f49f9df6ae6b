"""Register the VideoEspresso configs, models and processors with the transformers Auto classes.

``import videoespresso_hf`` imports this module. Registering needs the model classes, i.e. torch
(~7 s), which ``videoespresso score`` should not pay; so this module only arms an import hook: when the
module defining each Auto class is imported (or at once, if it already is), the entry points
``AutoConfig.from_pretrained`` / ``for_model``, ``AutoModel`` and ``AutoModelForImageTextToText``
``.from_pretrained`` / ``from_config`` and ``AutoProcessor.from_pretrained`` are wrapped to register the
VideoEspresso classes on their first call. So after ``import videoespresso_hf`` these resolve
VideoEspresso checkpoints without remote code; :func:`ensure_registered` registers by hand. Every class
is also registered for its auto class, so ``save_pretrained`` copies the defining files and writes ``auto_map``: the checkpoints then
load with ``trust_remote_code=True`` in processes that never import ``videoespresso_hf``.
"""

from __future__ import annotations

import functools
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
        VexLlavaReasonerConfig,
        VexQwen2_5_VLReasonerConfig,
        VexQwen3VLReasonerConfig,
    )
    from videoespresso_hf.models.reasoner.modeling_reasoner import (
        VexLlavaReasonerForConditionalGeneration,
        VexQwen2_5_VLReasonerForConditionalGeneration,
        VexQwen3VLReasonerForConditionalGeneration,
    )
    from videoespresso_hf.models.reasoner.processing_reasoner import (
        VexLlavaReasonerProcessor,
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
        (VexLlavaReasonerConfig, VexLlavaReasonerForConditionalGeneration, VexLlavaReasonerProcessor),
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


_registered = False
# The entry points that resolve a model type, by the module that defines their class: registration runs on
# the first call of any of them.
_ENTRY_POINTS = {
    "transformers.models.auto.configuration_auto": {"AutoConfig": ("from_pretrained", "for_model")},
    "transformers.models.auto.modeling_auto": {
        "AutoModel": ("from_pretrained", "from_config"),
        "AutoModelForImageTextToText": ("from_pretrained", "from_config"),
    },
    "transformers.models.auto.processing_auto": {"AutoProcessor": ("from_pretrained",)},
}


def ensure_registered() -> None:
    """Register once per process (what the Auto entry points call first; safe to call by hand)."""
    global _registered
    if not _registered:
        _registered = True  # set first: registering calls AutoConfig.register, never from_pretrained
        try:
            register()
        except BaseException:
            _registered = False
            raise


def _guard_entry_points(module) -> None:
    """Make the Auto entry points defined in ``module`` call :func:`ensure_registered` first.

    Registering right when transformers' Auto modules are imported is not safe: that import is often nested
    in another one (``from transformers import Qwen2_5_VLConfig``) whose module is then half-initialised,
    and our classes import it. At the first ``from_pretrained`` every import is done. The classes are read
    from their defining module once it has run, never through ``transformers.models.auto``'s lazy
    attributes, which would import the other Auto modules in the middle of such a nested import.
    """
    for class_name, methods in _ENTRY_POINTS[module.__name__].items():
        auto_class = getattr(module, class_name)
        for name in methods:
            function = getattr(auto_class, name).__func__
            if getattr(function, "_videoespresso_guard", False):
                continue

            def guarded(cls, *args, __function=function, **kwargs):
                ensure_registered()
                return __function(cls, *args, **kwargs)

            guarded = functools.wraps(function)(guarded)
            guarded._videoespresso_guard = True
            setattr(auto_class, name, classmethod(guarded))


class _GuardAfterAutoImport(importlib.abc.MetaPathFinder):
    """Lets the normal finders load each Auto module of ``_ENTRY_POINTS``, then guards it; leaves once all are."""

    def __init__(self, pending: set[str]) -> None:
        self.pending = pending

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self.pending:
            return None
        self.pending.discard(fullname)
        if not self.pending:
            sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        original_exec = spec.loader.exec_module

        def exec_then_guard(module):
            try:
                original_exec(module)
            except BaseException:  # the import failed and will be retried: guard that one
                self.pending.add(fullname)
                if self not in sys.meta_path:
                    sys.meta_path.insert(0, self)
                raise
            try:
                _guard_entry_points(module)
            except Exception as error:  # never break `import transformers` for the user
                warnings.warn(
                    f"videoespresso_hf could not hook into transformers' Auto classes: {error}", stacklevel=2
                )

        spec.loader = _Loader(spec.loader, exec_then_guard)
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
    pending = set()
    for module_name in _ENTRY_POINTS:
        if module_name in sys.modules:
            _guard_entry_points(sys.modules[module_name])
        else:
            pending.add(module_name)
    if pending and not any(isinstance(finder, _GuardAfterAutoImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _GuardAfterAutoImport(pending))


_arm()

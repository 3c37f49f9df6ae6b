"""Register the VideoEspresso configs, models and processors with the transformers Auto classes.

Uses transformers' documented API only (``AutoConfig.register``, ``AutoModel*.register``,
``AutoProcessor.register``); nothing of transformers is patched. :func:`register` runs when
``videoespresso_hf.models`` is imported (see that package), so ``import videoespresso_hf.models`` (or of any of
its submodules) is the import that makes ``AutoModel*.from_pretrained`` resolve VideoEspresso checkpoints
without remote code. It imports torch (~4 s), which is why the top-level ``import videoespresso_hf`` (used by
``videoespresso score``) does not register.

Each class also calls ``register_for_auto_class`` in its own module, so ``save_pretrained`` copies the
defining files and writes ``auto_map``: checkpoints then load with ``trust_remote_code=True`` in processes
that never import ``videoespresso_hf``.
"""

from __future__ import annotations

__all__ = ["register"]


def register() -> None:
    """Idempotent: register the Frame Selector and every reasoner of :data:`~.reasoner.backbones.BACKBONES`."""
    from transformers import AutoConfig, AutoModel, AutoModelForImageTextToText, AutoProcessor

    from videoespresso_hf.models.frame_selector.configuration_frame_selector import VexFrameSelectorConfig
    from videoespresso_hf.models.frame_selector.modeling_frame_selector import VexFrameSelectorModel
    from videoespresso_hf.models.frame_selector.processing_frame_selector import VexFrameSelectorProcessor
    from videoespresso_hf.models.reasoner.backbones import BACKBONES

    AutoConfig.register(VexFrameSelectorConfig.model_type, VexFrameSelectorConfig, exist_ok=True)
    AutoModel.register(VexFrameSelectorConfig, VexFrameSelectorModel, exist_ok=True)
    AutoProcessor.register(VexFrameSelectorConfig, VexFrameSelectorProcessor, exist_ok=True)
    for backbone in BACKBONES:
        config_class, model_class, processor_class = backbone.classes()
        AutoConfig.register(config_class.model_type, config_class, exist_ok=True)
        AutoModelForImageTextToText.register(config_class, model_class, exist_ok=True)
        AutoModel.register(config_class, model_class, exist_ok=True)
        AutoProcessor.register(config_class, processor_class, exist_ok=True)

"""Configuration of the VideoEspresso Frame Selector (paper §4.1, eqs. 4–6).

A small VLM (the *captioner*) writes one caption per candidate frame; a small causal LM (the *chooser*)
reads the question with each caption and scores how much the frame is needed; the top frames (at most
``max_core_frames``, in temporal order) are the core frames handed to the reasoner.

Default components (paper: InternVL2-1B + a 0.5B Qwen LM; InternVL2 is not transformers-native, so the
native successor of the same size is used):

* captioner ``OpenGVLab/InternVL3-1B-hf`` — InternViT-300M (448², 256 tokens/frame) + Qwen2.5-0.5B;
* chooser ``Qwen/Qwen2.5-0.5B-Instruct``.

``VexFrameSelectorConfig()`` describes exactly these architectures (hyper-parameters below, copied from
the two repositories' ``config.json``), so the defaults can be built on the meta device for FLOP
counting. This file imports nothing but transformers (copied next to the weights for remote code).
"""

from transformers import AutoConfig, PreTrainedConfig
from transformers.configuration_utils import SubConfigSpec

# This file ships alone as remote code (push_to_hub copies it beside the weights): it cannot import the package,
# so it repeats these ids of videoespresso_hf.defaults; tests/models/test_remote_code.py keeps them equal.
DEFAULT_CAPTIONER = "OpenGVLab/InternVL3-1B-hf"
DEFAULT_CHOOSER = "Qwen/Qwen2.5-0.5B-Instruct"

# From OpenGVLab/InternVL3-1B-hf config.json (vision part = InternVLVisionConfig defaults: InternViT-300M).
INTERNVL3_1B_TEXT_CONFIG = {
    "model_type": "qwen2",
    "vocab_size": 151674,
    "hidden_size": 896,
    "intermediate_size": 4864,
    "num_hidden_layers": 24,
    "num_attention_heads": 14,
    "num_key_value_heads": 2,
    "max_position_embeddings": 32768,
    "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0},
    "tie_word_embeddings": True,
}
# From Qwen/Qwen2.5-0.5B-Instruct config.json.
QWEN2_5_0_5B_CONFIG = {
    "vocab_size": 151936,
    "hidden_size": 896,
    "intermediate_size": 4864,
    "num_hidden_layers": 24,
    "num_attention_heads": 14,
    "num_key_value_heads": 2,
    "max_position_embeddings": 32768,
    "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0},
    "tie_word_embeddings": True,
    "bos_token_id": 151643,
    "eos_token_id": 151645,
}

CAPTION_PROMPT = "Describe this video frame in one sentence."
CHOOSER_PROMPT = (
    "Question: {question}\n"
    "Caption of the video frame at {timestamp:.1f}s: {caption}\n"
    "Is this frame needed to answer the question? Answer yes or no.\n"
    "Answer:"
)


class VexFrameSelectorConfig(PreTrainedConfig):
    """Frame Selector = captioner VLM config + chooser LM config + selection rule and prompts.

    Attributes:
        captioner_config: any ``AutoModelForImageTextToText`` config (default: InternVL3-1B-hf).
        chooser_config: any ``AutoModelForCausalLM`` config (default: Qwen2.5-0.5B-Instruct).
        max_core_frames: at most this many core frames are returned (paper: 2.36 on average, annotated
            core frames 2.98 on average).
        min_core_frames: at least this many, even when no frame reaches ``score_threshold``.
        score_threshold: a frame is selected when P(yes) ≥ this (then capped at ``max_core_frames``), which
            lets the number of frames vary with the question as in the paper.
        candidate_fps / max_candidates: how candidate frames are sampled from a video (paper eq. 4:
            SampleFrames(V, FPS); 1 fps gives the 16 candidates of a 16-second clip).
        caption_prompt / caption_max_new_tokens: the captioner's instruction and budget.
        caption_processor_kwargs: extra arguments of the captioner processor's call; default for InternVL
            ``{"crop_to_patches": False}`` (one 448² tile per frame, as InternVL treats video frames).
        chooser_prompt: the chooser's template (``{question}``, ``{caption}``, ``{timestamp}``).
        positive_answer / negative_answer: the continuations whose likelihoods make the frame score.
        captioner_id / chooser_id: Hub ids of the initial weights (model card).
        captioner_generation_config / chooser_generation_config: the components' own generation settings
            (eos ids, repetition penalty...), which their ``generation_config.json`` held and the selector's
            single folder would otherwise lose; applied when the selector is built.
    """

    model_type = "vex_frame_selector"
    sub_configs_defaults = {  # noqa: RUF012 (transformers reads this class attribute)
        "captioner_config": SubConfigSpec(
            config_class=AutoConfig,
            model_type="internvl",
            init_kwargs={"text_config": INTERNVL3_1B_TEXT_CONFIG},
        ),
        "chooser_config": SubConfigSpec(
            config_class=AutoConfig, model_type="qwen2", init_kwargs=QWEN2_5_0_5B_CONFIG
        ),
    }

    captioner_config: dict | PreTrainedConfig | None = None
    chooser_config: dict | PreTrainedConfig | None = None
    max_core_frames: int = 3
    min_core_frames: int = 1
    score_threshold: float = 0.5
    candidate_fps: float = 1.0
    max_candidates: int = 64
    caption_prompt: str = CAPTION_PROMPT
    caption_max_new_tokens: int = 48
    caption_processor_kwargs: dict | None = None
    chooser_prompt: str = CHOOSER_PROMPT
    positive_answer: str = " yes"
    negative_answer: str = " no"
    captioner_id: str | None = DEFAULT_CAPTIONER
    chooser_id: str | None = DEFAULT_CHOOSER
    captioner_generation_config: dict | None = None
    chooser_generation_config: dict | None = None

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        if self.caption_processor_kwargs is None:
            is_internvl = getattr(self.captioner_config, "model_type", None) == "internvl"
            self.caption_processor_kwargs = {"crop_to_patches": False} if is_internvl else {}
        if not 1 <= self.min_core_frames <= self.max_core_frames:
            raise ValueError(
                f"need 1 <= min_core_frames <= max_core_frames, got {self.min_core_frames} and {self.max_core_frames}"
            )


__all__ = ["DEFAULT_CAPTIONER", "DEFAULT_CHOOSER", "VexFrameSelectorConfig"]

# save_pretrained copies this file and writes auto_map, so checkpoints load with trust_remote_code=True.
VexFrameSelectorConfig.register_for_auto_class()

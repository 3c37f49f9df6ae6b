"""The one table of default model ids: every command, card and doc page that names a default model reads it here.

Real Hub ids are the user-facing defaults; nothing is downloaded at import. Each entry is settable where it is
used (a flag or a config field), and the error when it cannot be loaded names it again with that flag.

A leaf module: it imports nothing from the package, so that ``videoespresso score`` stays light.
"""

from __future__ import annotations

from types import MappingProxyType

#: The paper's judge is GPT-4o (§5); a dated snapshot so that judged results stay comparable.
JUDGE_MODEL = "gpt-4o-2024-08-06"
#: The construction pipeline's LLM stages (QA, filter, evidence, distractors) use the same model as the judge.
CONSTRUCTION_LLM = JUDGE_MODEL
#: The reasoner base of `answer`, `predict`, `train reasoner`: the comparability baseline of TaYS and Video-R1.
REASONER_MODEL = "Qwen/Qwen2.5-VL-7B-Instruct"
QWEN3_VL_REASONER = "Qwen/Qwen3-VL-8B-Instruct"
#: The paper's reasoner backbone (§4.2: LLaVA-NeXT-Interleave-7B).
LLAVA_REASONER = "llava-hf/llava-interleave-qwen-7b-hf"
#: The Frame Selector's captioner (InternViT-300M + Qwen2.5-0.5B).
SELECTOR_CAPTIONER = "OpenGVLab/InternVL3-1B-hf"
#: The Frame Selector's chooser, the small LM that reads the captions and says which frames matter.
SELECTOR_CHOOSER = "Qwen/Qwen2.5-0.5B-Instruct"
#: The construction pipeline's local captioner (`build --captioner transformers`).
BUILD_CAPTIONER = "OpenGVLab/InternVL3-8B-hf"
#: The construction pipeline's endpoint captioner (`build`, the default backend): a cheap vision model of the OpenAI
#: API (a vLLM server serves its own model instead: pass --model).
ENDPOINT_CAPTIONER = "gpt-4o-mini"
#: Text embedder of the pipeline (redundancy, grounding, distractors) and the similarity protocol (BGE-M3, the paper's).
EMBEDDING_MODEL = "BAAI/bge-m3"
#: Text embedder of the selector's ``embedding`` strategy.
STRATEGY_EMBEDDER = "sentence-transformers/all-MiniLM-L6-v2"
#: Image-text model of the ``image_text`` strategy.
IMAGE_TEXT_MODEL = "google/siglip-base-patch16-224"
#: Key-object detector and box verifier of the grounding stage.
DETECTOR_MODEL = "IDEA-Research/grounding-dino-base"
CLIP_MODEL = "openai/clip-vit-base-patch32"

#: role -> id, for cards, docs and ``videoespresso env``.
DEFAULT_MODELS = MappingProxyType(
    {
        "judge": JUDGE_MODEL,
        "construction LLM": CONSTRUCTION_LLM,
        "reasoner": REASONER_MODEL,
        "reasoner (Qwen3-VL)": QWEN3_VL_REASONER,
        "reasoner (LLaVA-NeXT-Interleave)": LLAVA_REASONER,
        "selector captioner": SELECTOR_CAPTIONER,
        "selector chooser": SELECTOR_CHOOSER,
        "build captioner": BUILD_CAPTIONER,
        "build captioner (endpoint)": ENDPOINT_CAPTIONER,
        "embedding model": EMBEDDING_MODEL,
        "strategy embedder": STRATEGY_EMBEDDER,
        "image-text model": IMAGE_TEXT_MODEL,
        "detector": DETECTOR_MODEL,
        "box verifier": CLIP_MODEL,
    }
)

"""Compute of hybrid inference (selector + reasoner on the core frames) vs the reasoner on 16 / 128 frames.

The paper (Table 1, §5.2) reports that VideoEspresso needs 14.7% of the compute of LLaVA-NeXT-Interleave on
16 frames (9.26 vs 62.78 TFLOPs), but its numbers scale linearly with the frame count, i.e. they leave out
the Frame Selector. This script counts everything, at the real default configurations:

* selector = OpenGVLab/InternVL3-1B-hf captioner (every candidate frame: InternViT-300M at 448², 256 image
  tokens, a caption of --caption-tokens) + Qwen/Qwen2.5-0.5B-Instruct chooser (one forward per frame);
* reasoner = Qwen/Qwen2.5-VL-7B-Instruct (default) or Qwen/Qwen3-VL-8B-Instruct, frames at --size².

Table 3 compares selector configurations that HybridVideoQA runs (shorter captions, captions or frame
embeddings cached per video and frame, the image_text strategy with google/siglip-base-patch16-224) and one
that is a formula only (a 224² captioner input).

FLOPs are analytic (``videoespresso_hf.models.flops``; every formula equals torch's FlopCounterMode on real
small models, see tests/models/test_flops.py). Hyper-parameters are copied below from each repository's
config.json (they cannot be downloaded here); parameter counts are checked by building the models on the
meta device. Command line: ``python benchmarks/hybrid_inference_flops.py [--reasoner qwen3_vl]`` (the same tables
are the ``compute`` step of ``videoespresso demo``).
"""

from __future__ import annotations

import argparse
import copy

import torch
from transformers import SiglipConfig

from videoespresso_hf.models.flops import (
    decoder_flops,
    decoder_spec,
    generation_flops,
    internvl_image_flops,
    qwen2_5_vl_video_flops,
    qwen3_vl_video_flops,
    qwen_video_tokens,
    siglip_image_flops,
    siglip_text_flops,
)
from videoespresso_hf.models.frame_selector.configuration_frame_selector import VexFrameSelectorConfig
from videoespresso_hf.models.reasoner.configuration_reasoner import (
    VexQwen2_5_VLReasonerConfig,
    VexQwen3VLReasonerConfig,
)

# https://huggingface.co/Qwen/Qwen2.5-VL-7B-Instruct/blob/main/config.json
QWEN2_5_VL_7B = {
    "text_config": {
        "vocab_size": 152064,
        "hidden_size": 3584,
        "intermediate_size": 18944,
        "num_hidden_layers": 28,
        "num_attention_heads": 28,
        "num_key_value_heads": 4,
        "max_position_embeddings": 128000,
        "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [16, 24, 24]},
    },
    "vision_config": {
        "depth": 32,
        "hidden_size": 1280,
        "intermediate_size": 3420,
        "num_heads": 16,
        "patch_size": 14,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "window_size": 112,
        "fullatt_block_indexes": [7, 15, 23, 31],
        "out_hidden_size": 3584,
        "tokens_per_second": 2,
    },
}
# https://huggingface.co/Qwen/Qwen3-VL-8B-Instruct/blob/main/config.json
QWEN3_VL_8B = {
    "text_config": {
        "vocab_size": 151936,
        "hidden_size": 4096,
        "intermediate_size": 12288,
        "num_hidden_layers": 36,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "head_dim": 128,
        "max_position_embeddings": 262144,
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 5000000.0,
            "mrope_section": [24, 20, 20],
            "mrope_interleaved": True,
        },
    },
    "vision_config": {
        "depth": 27,
        "hidden_size": 1152,
        "intermediate_size": 4304,
        "num_heads": 16,
        "patch_size": 16,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "out_hidden_size": 4096,
        "num_position_embeddings": 2304,
        "deepstack_visual_indexes": [8, 16, 24],
    },
}
# https://huggingface.co/google/siglip-base-patch16-224/blob/main/config.json (the image_text strategy's default)
SIGLIP_BASE_224 = {
    "text_config": {"vocab_size": 32000, "max_position_embeddings": 64, "bos_token_id": None, "eos_token_id": 1},
    "vision_config": {"image_size": 224, "patch_size": 16},
}
SIGLIP_TEXT_TOKENS = 64  # SigLIP pads every text to 64 tokens
PAPER = {"ours": 9.26, "llava_n_inter_16": 62.78, "longva_128": 465.4, "frames": 2.36}


def meta_parameters(config, model_class) -> float:
    """Parameters (billions) of the model built on the meta device (no memory, no weights)."""
    with torch.device("meta"):
        model = model_class(config)
    return sum(parameter.numel() for parameter in model.parameters()) / 1e9


class Reasoner:
    def __init__(self, family: str, size: int):
        if family == "qwen2_5_vl":
            self.config, self.vision_flops = (
                VexQwen2_5_VLReasonerConfig(**QWEN2_5_VL_7B),
                qwen2_5_vl_video_flops,
            )
        else:
            self.config, self.vision_flops = VexQwen3VLReasonerConfig(**QWEN3_VL_8B), qwen3_vl_video_flops
        self.family, self.size = family, size
        self.lm = decoder_spec(self.config.text_config)

    def visual_tokens(self, frames: int, as_images: bool = False) -> int:
        """LM tokens of ``frames`` shown as one clip, or as separate images (each its own temporal patch, so
        one image costs what two video frames do: the reasoner's default for core frames)."""
        patch = self.config.vision_config.patch_size
        if as_images:
            return frames * qwen_video_tokens(1, self.size, self.size, patch)[1]
        return qwen_video_tokens(frames, self.size, self.size, patch)[1]

    def vision(self, frames: int, as_images: bool = False) -> float:
        if as_images:  # separate images attend within themselves only: n times one image
            return frames * self.vision_flops(self.config.vision_config, 1, self.size, self.size)
        return self.vision_flops(self.config.vision_config, frames, self.size, self.size)

    def prefill(self, frames: int, text_tokens: int, as_images: bool = False) -> float:
        """Vision tower + one LM forward over the visual and text tokens (the paper's kind of count)."""
        return self.vision(frames, as_images) + decoder_flops(self.lm, self.visual_tokens(frames, as_images) + text_tokens)

    def direct_answer(self, frames: int, text_tokens: int, answer_tokens: int) -> float:
        visual = self.visual_tokens(frames)
        return self.vision(frames) + generation_flops(self.lm, visual + text_tokens, answer_tokens)

    def two_stage(
        self, frames: int, text_tokens: int, evidence_tokens: int, answer_tokens: int, as_images: bool = False
    ) -> float:
        """Stage 1 (evidence) then stage 2 (answer, evidence in the prompt); the frames are encoded twice."""
        visual = self.visual_tokens(frames, as_images)
        stage1 = generation_flops(self.lm, visual + text_tokens, evidence_tokens)
        stage2 = generation_flops(self.lm, visual + text_tokens + evidence_tokens + 16, answer_tokens)
        return 2 * self.vision(frames, as_images) + stage1 + stage2


def selector_flops(
    config: VexFrameSelectorConfig, candidates: int, caption_tokens: int, question_tokens: int
):
    """(captioner vision, captioner LM, chooser) FLOPs for ``candidates`` frames."""
    captioner = config.captioner_config
    caption_prompt = captioner.image_seq_length + 30  # image tokens + chat template and instruction
    vision = candidates * internvl_image_flops(captioner)
    language = candidates * generation_flops(
        decoder_spec(captioner.text_config), caption_prompt, caption_tokens
    )
    chooser_prompt = 40 + question_tokens + caption_tokens  # template + question + caption
    chooser = candidates * decoder_flops(decoder_spec(config.chooser_config), chooser_prompt)
    return vision, language, chooser


def captioner_at(config: VexFrameSelectorConfig, side: int) -> VexFrameSelectorConfig:
    """The selector config with its InternVL captioner fed ``side``² tiles (256 image tokens at 448²)."""
    resized = copy.deepcopy(config)
    captioner = resized.captioner_config
    tokens = captioner.image_seq_length * side * side // (captioner.vision_config.image_size[0] ** 2)
    captioner.vision_config.image_size = [side, side]
    captioner.image_seq_length = tokens
    return resized


def mixture(cost, average: float) -> float:
    """Expected cost when each question gets floor(average) or ceil(average) frames, mean ``average``."""
    low = int(average)
    weight = average - low
    return (1 - weight) * cost(low) + weight * cost(low + 1) if weight else cost(low)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reasoner", choices=("qwen2_5_vl", "qwen3_vl"), default="qwen2_5_vl")
    parser.add_argument("--seconds", type=float, default=16.0, help="video length (paper: 16 s)")
    parser.add_argument(
        "--candidate-fps", type=float, default=1.0, help="selector candidates per second (paper: 1)"
    )
    parser.add_argument("--selected", type=float, default=2.36, help="average core frames (paper: 2.36)")
    parser.add_argument("--size", type=int, default=448, help="reasoner frame side in pixels")
    parser.add_argument("--question-tokens", type=int, default=64, help="question + options + chat template")
    parser.add_argument("--caption-tokens", type=int, default=48, help="caption length (the config's budget)")
    parser.add_argument("--evidence-tokens", type=int, default=256, help="stage-1 evidence length")
    parser.add_argument("--answer-tokens", type=int, default=8, help="answer length")
    parser.add_argument(
        "--questions-per-video", type=int, default=4, help="questions sharing one video's cached captions/embeddings"
    )
    parser.add_argument(
        "--core-frames-as",
        choices=("images", "video"),
        default="images",
        help="how the reasoner sees the core frames (its config's frame_presentation; default images)",
    )
    parser.add_argument("--skip-meta", action="store_true", help="do not build the models on the meta device")
    args = parser.parse_args(argv)

    reasoner = Reasoner(args.reasoner, args.size)
    images = args.core_frames_as == "images"  # the uniform 16/128-frame baselines are always one clip
    selector = VexFrameSelectorConfig()
    # As HybridVideoQA samples them: candidate_fps, thinned to the config's max_candidates.
    candidates = min(max(1, int(args.seconds * args.candidate_fps)), selector.max_candidates)
    sel_vision, sel_lm, sel_chooser = selector_flops(
        selector, candidates, args.caption_tokens, args.question_tokens
    )
    sel_total = sel_vision + sel_lm + sel_chooser
    tera = 1e12
    q, e, a = args.question_tokens, args.evidence_tokens, args.answer_tokens

    print(
        f"reasoner: {reasoner.config.base_model_id}, frames {args.size}x{args.size} "
        f"({reasoner.visual_tokens(16)} visual tokens for 16 frames)"
    )
    print(
        f"selector: {selector.captioner_id} captioner + {selector.chooser_id} chooser, "
        f"{candidates} candidate frames ({args.seconds:g} s at {args.candidate_fps:g} fps)"
    )
    if not args.skip_meta:
        from transformers import AutoModelForCausalLM, AutoModelForImageTextToText

        from videoespresso_hf.models.reasoner.backbones import backbone_for

        _, model_class, _ = backbone_for(args.reasoner).classes()
        print(
            f"parameters (meta device): reasoner {meta_parameters(reasoner.config, model_class):.2f} B, "
            f"captioner {meta_parameters(selector.captioner_config, AutoModelForImageTextToText.from_config):.2f} B, "
            f"chooser {meta_parameters(selector.chooser_config, AutoModelForCausalLM.from_config):.2f} B"
        )
    print(
        f"selector TFLOPs: captioner vision {sel_vision / tera:.2f} + captioner captions {sel_lm / tera:.2f} "
        f"+ chooser {sel_chooser / tera:.2f} = {sel_total / tera:.2f}"
    )

    def table(title: str, rows: list[tuple[str, float]], base16: float, base128: float) -> None:
        print(f"\n{title}")
        print(f"  {'':68s} {'TFLOPs':>9s} {'vs 16 fr':>9s} {'vs 128 fr':>9s}")
        for name, value in rows:
            print(f"  {name:68s} {value / tera:9.2f} {value / base16:9.1%} {value / base128:9.2%}")

    # 1. The paper's way of counting: one forward over the frames (no generation), selector left out.
    prefill16, prefill128 = reasoner.prefill(16, q), reasoner.prefill(128, q)
    core = mixture(lambda frames: reasoner.prefill(frames, q, images), args.selected)
    table(
        "1) one forward pass over the frames (the paper's kind of count)",
        [
            ("reasoner, 16 uniform frames", prefill16),
            ("reasoner, 128 uniform frames", prefill128),
            (f"reasoner, {args.selected:g} core frames (selector not counted, as in the paper)", core),
            (f"selector + reasoner on {args.selected:g} core frames (counted)", sel_total + core),
            (
                f"selector + reasoner on {selector.max_core_frames} frames (max_core_frames)",
                sel_total + reasoner.prefill(selector.max_core_frames, q, images),
            ),
        ],
        prefill16,
        prefill128,
    )
    # 2. End to end: answers generated; the hybrid writes evidence first (two stages).
    base16, base128 = reasoner.direct_answer(16, q, a), reasoner.direct_answer(128, q, a)
    hybrid = sel_total + mixture(lambda frames: reasoner.two_stage(frames, q, e, a, images), args.selected)
    table(
        f"2) end to end: direct answer ({a} tokens) vs evidence ({e} tokens) + answer",
        [
            ("reasoner, 16 uniform frames, direct answer", base16),
            ("reasoner, 128 uniform frames, direct answer", base128),
            ("reasoner, 16 uniform frames, two-stage", reasoner.two_stage(16, q, e, a)),
            (f"hybrid: selector + two-stage reasoner on {args.selected:g} frames", hybrid),
            ("hybrid without the selector's cost", hybrid - sel_total),
        ],
        base16,
        base128,
    )
    # 3. Selector configurations, per question, in the count of table 1 (reasoner prefill on the core frames).
    short = sum(selector_flops(selector, candidates, 16, q))
    small_vision, small_lm, _ = selector_flops(captioner_at(selector, 224), candidates, args.caption_tokens, q)
    siglip = SiglipConfig(**SIGLIP_BASE_224)
    siglip_frames = candidates * siglip_image_flops(siglip.vision_config)
    siglip_question = siglip_text_flops(siglip.text_config, SIGLIP_TEXT_TOKENS)
    per_video = args.questions_per_video
    configurations = [
        ("paper-faithful: 48-token captions of 448² frames + chooser", sel_total),
        ("captions of 16 tokens (caption_max_new_tokens=16)", short),
        ("captioner fed 224² frames, 64 image tokens (formula only, see README)", small_vision + small_lm + sel_chooser),
        ("captions cached: a later question on the same video (caption_cache)", sel_chooser),
        (f"captions cached, mean over {per_video} questions per video", (sel_vision + sel_lm) / per_video + sel_chooser),
        ("image_text (SigLIP-B/16 224²): first question on a video", siglip_frames + siglip_question),
        ("image_text, frame embeddings cached: a later question", siglip_question),
        (f"image_text, mean over {per_video} questions per video", siglip_frames / per_video + siglip_question),
    ]
    print("\n3) selector configurations, per question: selector + reasoner prefill on the core frames")
    print(f"  {'':72s} {'selector':>9s} {'total':>7s} {'vs 16 fr':>9s} {'vs 128 fr':>9s}")
    for name, cost in configurations:
        total = cost + core
        print(f"  {name:72s} {cost / tera:9.2f} {total / tera:7.2f} {total / prefill16:9.1%} {total / prefill128:9.2%}")
    print(
        f"  (reasoner alone on {args.selected:g} core frames: {core / tera:.2f} TFLOPs = {core / prefill16:.1%} / "
        f"{core / prefill128:.2%}; goal: total <= 15% / 2.5%)"
    )

    paper = PAPER["ours"] / PAPER["llava_n_inter_16"]
    print(
        f"\npaper (Table 1): {PAPER['ours']} / {PAPER['llava_n_inter_16']} TFLOPs = {paper:.1%} of the 16-frame "
        f"compute, {PAPER['ours'] / PAPER['longva_128']:.1%} of LongVA's 128 frames; selector not counted."
    )


if __name__ == "__main__":
    main()

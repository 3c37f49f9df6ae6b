"""Paper-scale training plan, computed from FLOPs: ``python -m videoespresso_hf.training.plan``.

Every number is derived from the stated assumptions (change them with the function's arguments):

* rows: 202,164 training QAs per stage (paper Table 7), 1 epoch, effective batch 16 (Table 8);
* vision tokens: ``frames`` core frames (2.98 on average, the annotated ones), each a separate image
  (the reasoner's default ``frame_presentation="images"``) bounded to a 224-px square's pixels
  (``apply_frame_size``) — Qwen2.5-VL: 14-px patches, 2×2 merge — so ``frames × (224/28)²`` tokens
  (3 frames → 3 × 64 = 192 tokens), plus ``frame_text_tokens`` per frame for its label and markers;
* text tokens: question + options + instruction ≈ ``prompt_text_tokens``, evidence ≈ ``evidence_tokens``,
  answer ≈ ``answer_tokens`` (stage 1 predicts the evidence; stage 2 reads it and predicts the answer);
* FLOPs per token of a LoRA step on a frozen LLM of ``llm_params`` parameters: forward 2N + backward
  through the activations 2N (no weight gradients except LoRA's, negligible) + forward recomputed by
  activation checkpointing 2N = 6N; the frozen ViT (``vit_params``) runs forward only: 2·N_vit per
  patch (4 patches per merged token);
* hardware: A100 bf16 dense peak 312 TFLOP/s at ``mfu`` model-FLOPs utilisation (0.35 is typical
  for LoRA on short multimodal sequences with DDP).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["RLPlan", "StagePlan", "paper_scale_plan", "rl_plan", "step_seconds", "tokens_per_row"]

A100_BF16_FLOPS = 312e12


@dataclass
class StagePlan:
    stage: str
    tokens_per_row: int
    flops_per_row: float
    optimizer_steps: int
    hours_by_gpus: dict[int, float]


# Qwen2.5-VL-7B: the language model and the vision encoder (parameters).
LLM_PARAMS = 7.07e9
VIT_PARAMS = 0.67e9


def tokens_per_row(stage: str, frames: float = 2.98, frame_size: int = 224, prompt_text_tokens: int = 110,
                   evidence_tokens: int = 160, answer_tokens: int = 30,
                   frame_text_tokens: int = 14) -> tuple[int, int]:  # fmt: skip
    """``(vision_tokens, total_tokens)`` of one sample of ``stage`` (``"1"`` or ``"2"``)."""
    vision = math.ceil(frames * (frame_size // 28) ** 2)
    text = prompt_text_tokens + evidence_tokens + (answer_tokens if stage == "2" else 0)
    text += math.ceil(frames * frame_text_tokens)  # "Frame 1 (at 3.0 s): " + vision start/end markers
    return vision, vision + text


def flops_per_row(stage: str, llm_params: float = LLM_PARAMS, vit_params: float = VIT_PARAMS, **token_kwargs) -> float:
    vision, total = tokens_per_row(stage, **token_kwargs)
    return 6 * llm_params * total + 2 * vit_params * 4 * vision


def step_seconds(stage: str = "1", samples: int = 1, mfu: float = 0.35, **kwargs) -> float:
    """Seconds one A100 needs for ``samples`` samples of a 7B LoRA step (forward + backward)."""
    return samples * flops_per_row(stage, **kwargs) / (A100_BF16_FLOPS * mfu)


def paper_scale_plan(rows: int = 202_164, effective_batch: int = 16, mfu: float = 0.35,
                     gpu_counts: tuple[int, ...] = (8, 16, 32), llm_params: float = LLM_PARAMS, vit_params: float = VIT_PARAMS,
                     **token_kwargs) -> list[StagePlan]:  # fmt: skip
    """Hours per stage on 8 × A100 (one node, the paper's setup) and on 2 and 4 such nodes.

    ``token_kwargs`` (frames, frame size, text lengths) go to :func:`tokens_per_row` for the token count and
    the FLOPs alike.
    """
    plans = []
    for stage in ("1", "2"):
        per_row = flops_per_row(stage, llm_params, vit_params, **token_kwargs)
        total = per_row * rows
        hours = {gpus: total / (gpus * A100_BF16_FLOPS * mfu) / 3600 for gpus in gpu_counts}
        tokens = tokens_per_row(stage, **token_kwargs)[1]
        plans.append(StagePlan(stage, tokens, per_row, math.ceil(rows / effective_batch), hours))
    return plans


@dataclass
class RLPlan:
    """GRPO (``--stage rl``) at the same scale: per prompt, ``num_generations`` rollouts then their scoring and update."""

    tokens_per_prompt: int  # the prompt once + every completion
    generation_flops: float  # per prompt
    training_flops: float  # per prompt: reference + policy forwards, backward
    optimizer_steps: int
    hours_by_gpus: dict[int, float]


def rl_plan(rows: int = 202_164, num_generations: int = 8, completion_tokens: int = 400, effective_batch: int = 16,
            mfu: float = 0.35, decode_mfu: float = 0.05, reference: bool = True, gpu_counts: tuple[int, ...] = (8, 16, 32),
            llm_params: float = LLM_PARAMS, vit_params: float = VIT_PARAMS, **token_kwargs) -> RLPlan:  # fmt: skip
    """Hours of one GRPO epoch over ``rows`` prompts (the RL defaults: G 8, LoRA, beta 0.04 → a reference forward).

    Assumptions, beside :func:`paper_scale_plan`'s: a completion is ``completion_tokens`` long on average (the cap is
    768; one-pass grounded evidence + answer ≈ stage-1 evidence + answer); rollouts decode token by token with
    ``generate``, memory-bound at ``decode_mfu`` (5% of peak is typical for batched HF decoding of a 7B model), at
    2N FLOPs per generated token plus a 2N-per-token prefill of the prompt per completion; scoring is a reference
    forward (2N per token, adapters disabled) and the policy step is 6N per token as in SFT, over prompt +
    completion, each with the ViT forward on the frames; ``effective_batch`` counts completions per optimizer step.
    """
    vision, prompt = tokens_per_row("1", evidence_tokens=0, **token_kwargs)
    sequence = prompt + completion_tokens
    vit = 2 * vit_params * 4 * vision
    generation = num_generations * (2 * llm_params * sequence + vit)
    training = num_generations * ((6 + (2 if reference else 0)) * llm_params * sequence + vit * (2 if reference else 1))
    seconds = rows * (generation / (A100_BF16_FLOPS * decode_mfu) + training / (A100_BF16_FLOPS * mfu))
    hours = {gpus: seconds / gpus / 3600 for gpus in gpu_counts}
    steps = math.ceil(rows * num_generations / effective_batch)
    return RLPlan(prompt + num_generations * completion_tokens, generation, training, steps, hours)


def main() -> None:
    plans = paper_scale_plan()
    print("VideoEspresso reasoner, paper scale (202,164 rows, 1 epoch, effective batch 16, A100 bf16 at 35% MFU)")
    print(f"{'stage':<6}{'tokens/row':>11}{'TFLOPs/row':>12}{'steps':>8}"
          f"{'8 GPUs (1 node) h':>19}{'16 GPUs (2 nodes) h':>21}{'32 GPUs (4 nodes) h':>21}")  # fmt: skip
    for plan in plans:
        hours = "".join(f"{plan.hours_by_gpus[g]:>{w}.2f}" for g, w in ((8, 19), (16, 21), (32, 21)))
        print(f"{plan.stage:<6}{plan.tokens_per_row:>11}{plan.flops_per_row / 1e12:>12.1f}{plan.optimizer_steps:>8}{hours}")
    total = sum(plan.hours_by_gpus[8] for plan in plans)
    print(f"both stages on one 8 × A100 node: {total:.1f} h (multi-node: linear scaling assumed, minus all-reduce)")
    rl = rl_plan()
    hours = "".join(f"{rl.hours_by_gpus[g]:>{w}.2f}" for g, w in ((8, 19), (16, 21), (32, 21)))
    print(f"{'rl':<6}{rl.tokens_per_prompt:>11}{(rl.generation_flops + rl.training_flops) / 1e12:>12.1f}{rl.optimizer_steps:>8}{hours}")
    print(f"rl (GRPO, G 8, ~400-token completions, LoRA + reference forward): rollouts are "
          f"{rl.generation_flops / (rl.generation_flops + rl.training_flops):.0%} of its FLOPs but decode at 5% MFU, so "
          f"{1 / (1 + rl.training_flops / 0.35 / (rl.generation_flops / 0.05)):.0%} of its time; "
          f"{rl.hours_by_gpus[8] / total:.1f}× both SFT stages")
    print(f"one 7B LoRA sample on one A100: {step_seconds('1') * 1000:.0f} ms → the data path must deliver "
          f"{1 / step_seconds('1'):.1f} samples/s per GPU to keep it busy")  # fmt: skip


if __name__ == "__main__":
    main()

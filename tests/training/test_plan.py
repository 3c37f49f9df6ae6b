"""The paper-scale plan counts the tokens it is asked about (the FLOPs and the token column agree)."""

from __future__ import annotations

from videoespresso_hf.training.plan import flops_per_row, paper_scale_plan, tokens_per_row


def test_the_plan_counts_tokens_and_flops_with_the_same_token_settings():
    default = paper_scale_plan()
    more_frames = paper_scale_plan(frames=8, frame_size=448)
    for base, plan in zip(default, more_frames, strict=True):
        assert plan.tokens_per_row == tokens_per_row(plan.stage, frames=8, frame_size=448)[1] > base.tokens_per_row
        assert plan.flops_per_row == flops_per_row(plan.stage, frames=8, frame_size=448) > base.flops_per_row
        assert max(plan.hours_by_gpus.values()) > max(base.hours_by_gpus.values())

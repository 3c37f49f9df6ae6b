"""The paper-scale plan's RL row: its cost follows the RL settings it is asked about."""

from __future__ import annotations

from videoespresso_hf.training.plan import rl_plan, tokens_per_row


def test_rl_cost_grows_with_generations_and_completion_length():
    base = rl_plan()
    prompt = tokens_per_row("1", evidence_tokens=0)[1]
    assert base.tokens_per_prompt == prompt + 8 * 400
    assert base.optimizer_steps == -(-202_164 * 8 // 16)
    more = rl_plan(num_generations=16)
    assert more.generation_flops == 2 * base.generation_flops and more.hours_by_gpus[8] > 1.9 * base.hours_by_gpus[8]
    longer = rl_plan(completion_tokens=768)
    assert longer.training_flops > base.training_flops and longer.hours_by_gpus[8] > base.hours_by_gpus[8]
    assert rl_plan(reference=False).training_flops < base.training_flops  # beta 0: no reference forward


def test_the_plan_prints_rl_beside_sft(capsys):
    from videoespresso_hf.training.plan import main

    main()
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("1 ") for line in lines) and any(line.startswith("rl ") for line in lines)
    assert any("× both SFT stages" in line for line in lines)

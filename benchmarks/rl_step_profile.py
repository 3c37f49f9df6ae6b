"""Where does a GRPO step (``videoespresso train reasoner --stage rl``) spend its time?

Runs the real RL stage (:func:`videoespresso_hf.training.reasoner.train_reasoner` with ``stage="rl"``) on a
prepared ``generated`` config of real encoded clips with a tiny random stock Qwen2.5-VL, and splits each optimizer
step's wall time into

* rollout: trl's ``_generate`` (the ``model.generate`` calls that sample ``num_generations`` completions per prompt),
* scoring: the rest of ``_generate_and_score_completions`` — the reward functions, the old / reference log-prob
  forwards and the advantages (rewards alone are printed too),
* optimizer: everything else in the step (the loss forward with the vision tower, backward, optimizer update).

The split is read by timing those trl 1.16 methods on the trainer class (a benchmark may; the package does not
override them). Tiny models make the *ratios* the point, not the seconds: on a 7B model the rollout share grows
with the completion length (see ``python -m videoespresso_hf.training.plan`` for the paper-scale estimate).

    python benchmarks/rl_step_profile.py --steps 3 --completion 64
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def build_prepared(root: Path, videos: int = 2) -> Path:
    from videoespresso_hf.cli.main import main
    from videoespresso_hf.demo.videos import PALETTE, Segment, make_video

    rows = []
    for index in range(videos):
        path = root / "build" / "videos" / f"clip{index}.mp4"
        make_video(path, [Segment("static", 2.0, color=PALETTE[index % len(PALETTE)])], fps=8, size=(160, 120))
        evidence = f"The <obj_start>box<obj_end><box_start>[10, 10, 80, 60]<box_end> is colour {index}."
        rows.append({"id": f"p{index}", "question": "What colour?", "answer": f"Colour {index}.", "options": [],
                     "correct_answer": "", "task": "Event Process", "task_group": "Logical Reasoning",
                     "evidence": evidence, "evidence_raw": evidence, "key_objects": [],
                     "core_frames": [{"path": "", "caption": "", "frame_index": 4 * k, "timestamp": 0.5 * k} for k in range(3)],
                     "source": "local", "video": str(path), "video_path": path.name, "fps": 8.0, "metadata": "{}"})  # fmt: skip
    folder = root / "build" / "generated"
    folder.mkdir(parents=True)
    (folder / "train.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    (folder / "manifest.json").write_text(json.dumps({"schema_version": 1, "counts": {"train": len(rows)}}))
    out = root / "prepared"
    assert main(["data", "prepare", "--quiet", "--config", "generated", "--data-dir", str(root / "build"), "--out", str(out)]) == 0
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--generations", type=int, default=4)
    parser.add_argument("--completion", type=int, default=64, help="max completion tokens")
    args = parser.parse_args()
    torch.set_num_threads(2)

    from doubles.tiny_vlms import save_tiny_vlm
    from transformers import TrainerCallback
    from trl import GRPOTrainer

    from videoespresso_hf.training.arguments import ReasonerRLArguments
    from videoespresso_hf.training.reasoner import train_reasoner

    spent: dict[str, float] = defaultdict(float)

    def timed(name, method):
        def wrapper(self, *a, **k):
            start = time.perf_counter()
            try:
                return method(self, *a, **k)
            finally:
                spent[name] += time.perf_counter() - start

        return wrapper

    GRPOTrainer._generate = timed("rollout", GRPOTrainer._generate)
    GRPOTrainer._calculate_rewards = timed("rewards", GRPOTrainer._calculate_rewards)
    GRPOTrainer._generate_and_score_completions = timed("generate_and_score", GRPOTrainer._generate_and_score_completions)

    steps: list[float] = []

    class StepClock(TrainerCallback):
        def on_step_begin(self, *_, **__):
            self.start = time.perf_counter()

        def on_step_end(self, *_, **__):
            steps.append(time.perf_counter() - self.start)

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        data = build_prepared(root)
        model = save_tiny_vlm(root / "qwen", "qwen2_5_vl")
        arguments = ReasonerRLArguments(
            model=str(model), data=str(data), config="generated", output_dir=str(root / "out"), max_steps=args.steps,
            num_generations=args.generations, effective_batch_size=2 * args.generations, per_device_batch_size=args.generations,
            max_completion_length=args.completion, dataloader_num_workers=0, logging_steps=1, save_steps=10_000,
            trainer_overrides={"activation_checkpointing": False},
        )  # fmt: skip
        train_reasoner(arguments, callbacks=[StepClock()])

    total = sum(steps)
    rollout = spent["rollout"]
    scoring = spent["generate_and_score"] - rollout
    optimizer = total - spent["generate_and_score"]
    print(f"GRPO, tiny Qwen2.5-VL on CPU: {len(steps)} steps, {args.generations} generations × 2 prompts, "
          f"max completion {args.completion} tokens, 3 frames per prompt")  # fmt: skip
    for name, value in (("rollout (generate)", rollout), ("scoring (rewards + log-prob forwards)", scoring),
                        ("optimizer (loss forward + backward + update)", optimizer)):  # fmt: skip
        print(f"  {name:<46} {value / len(steps):7.2f} s/step  {value / total:6.1%} of the step")
    print(f"  of which the four reward functions          {spent['rewards'] / len(steps):7.3f} s/step")
    print(f"rollout : scoring : optimizer = {rollout / optimizer:.2f} : {scoring / optimizer:.2f} : 1")


if __name__ == "__main__":
    main()

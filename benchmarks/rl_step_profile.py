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

``--threads`` times the issue's hidden check instead (``videoespresso train reasoner --stage rl --max-steps N
--num-generations 2`` with the default 768-token completions, on a released-layout ``train_video`` folder and a tiny
stock Qwen2.5-VL), once with torch's default threads (``OMP_NUM_THREADS`` = the CPU count: the behaviour before the
fix) and once with the RL stage's CPU rule (one thread per process, ``grpo._cpu_rollout_threads``), alternating, in
one run on one machine. A rollout is thousands of tiny ops per token (a decode step is ``batch × 1`` tokens) and,
with two threads on a CPU other processes share, each op waits for its sibling thread's time slice. Measured on the
2-core development machine shared with other jobs (CPU only), ``--threads --steps 1``::

    train reasoner --stage rl --max-steps 1 --num-generations 2, completions up to 768 tokens, tiny Qwen2.5-VL on 2 CPUs
      before 112.9 s, after 32.7 s: 3.5× faster   (whole command, ~15 s of start-up included; load average 1-3)

and ``model.generate`` alone (batch 16, 64 new tokens, load ~3-4): 6.8-9.8 s with 2 threads vs 1.1-1.9 s with one.
The gap grows with the load: the ~16 min of the hidden check was two threads on a busier machine.
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


def build_train_video(root: Path) -> Path:
    """The hidden check's data: ``VideoEspresso_train_video`` in the released layout (4 rows), prepared."""
    from videoespresso_hf.cli.main import main as cli
    from videoespresso_hf.demo.releases import train_record, write_json, write_split_zip
    from videoespresso_hf.demo.videos import PALETTE, Segment, make_video

    sources = ["CUVA/2_image/00299", "vatex/vatex_image/RgtipEqA7ZA_000046_000056"]
    members = {}
    for index, frames_dir in enumerate(sources):
        source, stem = frames_dir.split("/")[0], frames_dir.split("/")[-1]
        video = root / "videos" / f"{stem}.mp4"
        make_video(video, [Segment("static", 2.0, color=PALETTE[2 * index]), Segment("static", 2.0, color=PALETTE[2 * index + 1])],
                   fps=8, size=(64, 48))  # fmt: skip
        members[f"VideoEspresso_train_video/{source}/{stem}.mp4"] = video.read_bytes()
    write_json(root / "release" / "videoespresso_train_video.json", [train_record(i, sources[i % 2], "path") for i in range(4)])
    write_split_zip(members, root / "release" / "VideoEspresso_train_video.zip", part_size=1500, zip64=True)
    argv = ["data", "prepare", "--quiet", "--config", "train_video", "--data-dir", str(root / "release"), "--out",
            str(root / "prepared"), "--fps", "8"]  # fmt: skip
    assert cli(argv) == 0
    return root / "prepared"


def compare_threads(steps: int, completion: int, rounds: int) -> None:
    """The hidden check's command with torch's default threads (before) and the RL stage's CPU rule (after)."""
    import os
    import subprocess

    from doubles.tiny_vlms import save_tiny_vlm

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    src = str(Path(__file__).resolve().parents[1] / "src")
    times: dict[str, list[float]] = defaultdict(list)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        data, model = build_train_video(root), save_tiny_vlm(root / "qwen", "qwen2_5_vl")
        for index in range(rounds):
            for name, threads in ((f"before: {cpus} torch threads", str(cpus)), ("after: the RL stage's CPU rule", None)):
                env = {key: value for key, value in os.environ.items() if key != "OMP_NUM_THREADS"}
                env.update({"PYTHONPATH": src, "HF_HUB_OFFLINE": "1", **({"OMP_NUM_THREADS": threads} if threads else {})})
                command = [sys.executable, "-m", "videoespresso_hf", "train", "reasoner", "--stage", "rl", "--max-steps",
                           str(steps), "--num-generations", "2", "--max-completion-length", str(completion), "--output",
                           str(root / f"out-{index}-{threads}"), "--data", str(data), "--model", str(model)]  # fmt: skip
                start = time.perf_counter()
                subprocess.run(command, env=env, check=True, capture_output=True)
                times[name].append(time.perf_counter() - start)
                print(f"  round {index + 1}, {name}: {times[name][-1]:.1f} s (load average {os.getloadavg()[0]:.1f})")
    before, after = (sum(values) / len(values) for values in times.values())
    print(f"train reasoner --stage rl --max-steps {steps} --num-generations 2, completions up to {completion} tokens, "
          f"tiny Qwen2.5-VL on {cpus} CPUs, {rounds} round(s) each (whole command: start-up included)")  # fmt: skip
    print(f"  before {before:.1f} s, after {after:.1f} s: {before / after:.1f}× faster")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--generations", type=int, default=4)
    parser.add_argument("--completion", type=int, default=None, help="max completion tokens (64; --threads: 768)")
    parser.add_argument("--threads", action="store_true", help="time the hidden check before/after the CPU thread rule")
    parser.add_argument("--rounds", type=int, default=1, help="with --threads: alternating runs of each")
    args = parser.parse_args()
    if args.threads:
        compare_threads(args.steps, args.completion or 768, args.rounds)
        return
    args.completion = args.completion or 64
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

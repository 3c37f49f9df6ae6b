"""Throughput of ``videoespresso predict`` (hf backend) with a tiny VLM: batch 1 vs 8, data path overlapped or not,
1 vs 2 processes, and where one item's time goes.

Builds a prepared bench of real encoded clips (default 32 questions on 8 clips of 320x240, 4 s at
24 fps), a tiny random Qwen2.5-VL (or ``--model``, any local checkpoint or Hub id), and

1. runs the same items four times into fresh files: batch 1 / 8 × data path (PyAV decode of ``uniform:8``)
   overlapped with generation or not. Prints items/s, the data path's ms per item beside the model's ms per item,
   and the ratios. The outputs of all four runs must be identical (batching and overlap change speed, not answers);
2. splits one item's time into decode (PyAV), processor (chat template + video processor), prefill (one forward
   pass over the prompt) and generation (the remaining new tokens), with peak memory (GPU when there is one,
   else the process's peak RSS), so a GPU user sees whether the data path or the model is the bound;
3. with ``--processes``, runs ``videoespresso predict`` as 1 process and as 2 processes (``accelerate launch
   --multi_gpu --num_processes 2``, gloo on a CPU) at batch 1, prints the items/s of each run and of each rank,
   and checks that both files are identical.

    python benchmarks/predict_throughput.py
    python benchmarks/predict_throughput.py --items 64 --frames uniform:16 --processes
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from videoespresso_hf.benchmarking.backends import GenerationSettings, TransformersBackend
from videoespresso_hf.benchmarking.frames import FrameSampler, parse_frame_rule
from videoespresso_hf.benchmarking.items import load_bench_items
from videoespresso_hf.benchmarking.prompts import MULTIPLE_CHOICE_PROMPT
from videoespresso_hf.benchmarking.runner import run_predictions
from videoespresso_hf.benchmarking.store import PredictionStore
from videoespresso_hf.demo.releases import bench_record, write_json, zip_bytes
from videoespresso_hf.demo.videos import Segment, make_video
from videoespresso_hf.tasks import LEADERBOARD_TASKS

# The tiny models are test doubles: they live under tests/ and do not ship in the wheel.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from doubles.predict_bench import prepare_bench
from doubles.tiny_vlms import save_tiny_vlm


def write_release(root: Path, items: int, clips: int) -> Path:
    root.mkdir(parents=True)
    members, records = {}, []
    for clip in range(clips):
        spec = make_video(root / f"clip{clip}.mp4", [Segment("moving", 2.0, seed=clip), Segment("static", 2.0)],
                          fps=24, size=(320, 240))  # fmt: skip
        members[f"all_video/vatex/clip{clip}.mp4"] = spec.path.read_bytes()
    for index in range(items):
        record = bench_record("vatex", f"clip{index % clips}", LEADERBOARD_TASKS[index % 14], (0,), "ABCD"[index % 4])
        record["question"] = f"Question {index}: what happens in clip {index % clips}?"
        records.append(record)
    write_json(root / "bench_hard.json", records)
    (root / "all_video.zip").write_bytes(zip_bytes(members))
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=32)
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--frames", default="uniform:8")
    parser.add_argument("--max-new-tokens", type=int, default=4)
    parser.add_argument("--model", default=None, help="checkpoint to measure (default: a tiny random Qwen2.5-VL)")
    parser.add_argument("--split-items", type=int, default=8, help="items whose time is split into steps")
    parser.add_argument("--processes", action="store_true", help="also compare 1 vs 2 processes (two more model loads)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        bench = prepare_bench(write_release(root / "release", args.items, args.clips), root / "hub")
        items = load_bench_items(bench)
        model = args.model or str(save_tiny_vlm(root / "tiny_qwen2_5_vl", "qwen2_5_vl", letters="ABCD"))
        backend = TransformersBackend(str(model), GenerationSettings(max_new_tokens=args.max_new_tokens))
        sampler = FrameSampler(parse_frame_rule(args.frames))
        run_predictions(items[:2], backend, sampler, PredictionStore(root / "warmup.jsonl", {}, {}),
                        prompt_name=MULTIPLE_CHOICE_PROMPT, progress=False)  # fmt: skip
        print(f"{len(items)} items on {args.clips} clips (320x240, 4 s, 24 fps), frames {args.frames}, "
              f"tiny Qwen2.5-VL, max_new_tokens {args.max_new_tokens}\n")  # fmt: skip
        print(f"{'batch':>5} {'overlap':>8} {'items/s':>8} {'data ms/item':>13} {'model ms/item':>14}")
        rates, outputs = {}, []
        for batch in (1, 8):
            for overlap in (False, True):
                path = root / f"b{batch}_{overlap}.jsonl"
                with PredictionStore(path, {}, {}) as store:
                    summary = run_predictions(items, backend, sampler, store, prompt_name=MULTIPLE_CHOICE_PROMPT,
                                              batch_size=batch, overlap=overlap, progress=False)  # fmt: skip
                rates[batch, overlap] = summary.items_per_second
                outputs.append([json.loads(line)["model_output"] for line in path.read_text().splitlines()])
                print(f"{batch:>5} {overlap!s:>8} {summary.items_per_second:>8.2f} "
                      f"{1000 * summary.decode_seconds / summary.written:>13.1f} "
                      f"{1000 * summary.model_seconds / summary.written:>14.1f}")  # fmt: skip
        assert all(run == outputs[0] for run in outputs), "batching or overlap changed the answers"
        print(f"\nbatch 8 / batch 1 (overlapped):        {rates[8, True] / rates[1, True]:.2f}x")
        print(f"batch 8 / batch 1 (not overlapped):    {rates[8, False] / rates[1, False]:.2f}x")
        print(f"overlapped / sequential data path (b1): {rates[1, True] / rates[1, False]:.2f}x")
        print(f"overlapped / sequential data path (b8): {rates[8, True] / rates[8, False]:.2f}x")
        print("identical outputs in all four runs")
        print_time_split(items[: args.split_items], backend, sampler, args.max_new_tokens)
        if args.processes:
            compare_processes(bench, str(model), args, root)


def _peak_memory_mb() -> tuple[str, float]:
    import torch

    if torch.cuda.is_available():
        return "GPU peak", torch.cuda.max_memory_allocated() / 2**20
    return "process peak RSS", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def print_time_split(items, backend, sampler, max_new_tokens: int) -> None:
    """Decode, processor, prefill and generation time of each item (batch 1), averaged; then peak memory."""
    import torch

    from videoespresso_hf.benchmarking.backends import Request
    from videoespresso_hf.benchmarking.prompts import render_prompt

    def synced() -> float:
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        return time.perf_counter()

    steps = {"decode": 0.0, "processor": 0.0, "prefill": 0.0, "generation": 0.0}
    for item in items:
        started = synced()
        frames = sampler.sample(item.video, item.question)
        decoded = synced()
        prompt = render_prompt(MULTIPLE_CHOICE_PROMPT, task=item.task, question=item.question, options=item.options)
        inputs = backend._inputs([Request(item, prompt, frames)])
        processed = synced()
        with torch.no_grad():
            backend.model(**inputs)  # the prompt's forward pass: what generate does before the first new token
            prefilled = synced()
            backend.model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False)
        generated = synced()
        steps["decode"] += decoded - started
        steps["processor"] += processed - decoded
        steps["prefill"] += prefilled - processed
        # generate repeats the prefill; the rest is the new tokens' decoding steps
        steps["generation"] += max(0.0, (generated - prefilled) - (prefilled - processed))
    total = sum(steps.values()) or 1.0
    print(f"\nwhere one item's time goes ({len(items)} items, batch 1, max_new_tokens {max_new_tokens}):")
    for name, seconds in steps.items():
        print(f"  {name:<11} {1000 * seconds / len(items):>8.1f} ms/item  ({100 * seconds / total:4.1f} %)")
    label, megabytes = _peak_memory_mb()
    print(f"  {label}: {megabytes:,.0f} MiB")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _predict_run(command: list[str], root: Path) -> tuple[str, float]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1] / "src"),
                                                        os.environ.get("PYTHONPATH", "")])}  # fmt: skip
    process = subprocess.run(command, env=env, capture_output=True, text=True, cwd=root)
    if process.returncode != 0:
        raise SystemExit(f"predict failed ({process.returncode}): {process.stderr.strip().splitlines()[-1:]}")
    rate = float(re.search(r"\(([\d.]+) items/s", process.stdout).group(1))
    return process.stdout, rate


def compare_processes(bench: Path, model: str, args: argparse.Namespace, root: Path) -> None:
    """``videoespresso predict`` as 1 and as 2 processes at batch 1: items/s of each, per rank, identical files."""
    predict = ["-m", "videoespresso_hf", "predict", "--data", str(bench), "--model", model, "--frames", args.frames,
               "--max-new-tokens", str(args.max_new_tokens), "--batch-size", "1", "--no-progress"]  # fmt: skip
    _, one_rate = _predict_run([sys.executable, *predict, "--output", "one.jsonl"], root)
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines",
              "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(_free_port())]  # fmt: skip
    two, two_rate = _predict_run([*launch, *predict, "--output", "two.jsonl"], root)
    ranks = re.search(r"processes:\s+2\s+\((.*)\)", two).group(1)
    print(f"\n1 process:   {one_rate:.2f} items/s")
    print(f"2 processes: {two_rate:.2f} items/s  ({ranks})  = {two_rate / one_rate:.2f}x")
    same = (root / "one.jsonl").read_bytes() == (root / "two.jsonl").read_bytes()
    assert same, "2 processes wrote other records than 1 process"
    print("identical files from 1 and 2 processes (batch 1)")


if __name__ == "__main__":
    main()

"""Throughput of ``videoespresso predict`` (hf backend) with a tiny VLM: batch 1 vs 8, data path overlapped or not.

Builds a prepared bench of real encoded clips (default 32 questions on 8 clips of 320x240, 4 s at
24 fps), a tiny random Qwen2.5-VL, and runs the same items four times into fresh files:
batch 1 / 8 × data path (PyAV decode of ``uniform:8``) overlapped with generation or not. Prints
items/s, the data path's ms per item beside the model's ms per item, and the ratios. The outputs of
all four runs must be identical (batching and overlap change speed, not answers).

    python benchmarks/predict_throughput.py
    python benchmarks/predict_throughput.py --items 64 --frames uniform:16
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
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
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        bench = prepare_bench(write_release(root / "release", args.items, args.clips), root / "hub")
        items = load_bench_items(bench)
        model = save_tiny_vlm(root / "tiny_qwen2_5_vl", "qwen2_5_vl", letters="ABCD")
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


if __name__ == "__main__":
    main()

"""Benchmark: `videoespresso data prepare --config train_video` on a synthetic 200,000-row training file.

The script writes a training annotation file shaped like the released one (about 2 kB per record:
question, long answer, evidence with inline box tags — some empty —, 3–4 key frames with captions,
`path`/`caption` and `keyframe_path` field variants) plus a few hundred tiny real mp4 files, then
prepares it two ways, each in its own process so peak memory is measured separately:

* ours: ``prepare_dataset_folder`` (one streaming pass, Parquet written in shards by pyarrow);
* reference: the straightforward in-memory route: ``json.load`` the file, convert every record,
  ``datasets.Dataset.from_list(rows, features=...)`` and ``to_parquet``.

(Prepare once had a ``--workers`` option converting records in worker processes; measured with this
script on 2 cores it was slower than one process — 72.0 s vs 71.3 s wall, 38.3 s vs 30.9 s CPU for
200,000 rows — since JSON parsing, media checks and Parquet writing stay in the parent and every record
crosses a pipe twice. It was removed.)

Printed: wall time, peak RSS, rows/s and the ours/reference ratios. Goal for ours: ≤ 60 s and ≤ 2 GB
on a 2-core machine.

    python benchmarks/prepare_train_annotations.py            # 200,000 rows
    python benchmarks/prepare_train_annotations.py --rows 20000 --skip-reference
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

SOURCES = ("CUVA", "vatex", "Moviechat", "XD-Violence", "Storystream")
TASKS = ("Causal Inference", "Contextual Interpretation", "Event Process", "Ingredient Details", "Thematic Insight",
         "Role Identification", "Interaction Dynamics", "Emotional Recognition")  # fmt: skip
WORDS = ["the", "man", "woman", "car", "dog", "kitchen", "street", "walks", "turns", "opens", "pours", "looks", "because", "then", "after", "before", "while", "camera", "scene", "light", "red", "blue", "small", "large", "quickly", "slowly", "near", "behind", "holds", "table", "door", "window"]  # fmt: skip


_POOL: dict[int, list[str]] = {}


def _sentence(rng: random.Random, n: int) -> str:
    # Drawn from a pool of 200 sentences per length: generating 200k × 10 fresh sentences is the slow part.
    if n not in _POOL:
        pool_rng = random.Random(n)
        _POOL[n] = [" ".join(pool_rng.choice(WORDS) for _ in range(n)).capitalize() + "." for _ in range(200)]
    return rng.choice(_POOL[n])


def _record(rng: random.Random, index: int, n_videos: int) -> dict:
    video = index % n_videos
    source = SOURCES[video % len(SOURCES)]
    folder = f"{source}/{video % 7}_image/{video:06d}"
    frames = sorted(rng.sample(range(0, 3000, 2), rng.choice((3, 4))))
    boxes = [f"[{rng.randint(0, 500)}, {rng.randint(0, 300)}, {rng.randint(500, 900)}, {rng.randint(300, 600)}]"
             for _ in range(3)]  # fmt: skip
    evidence = (
        f"{_sentence(rng, 18)} The <obj_start>person<obj_end><box_start>{boxes[0]}<box_end> "
        f"{_sentence(rng, 20)} Then the <obj_start>car<obj_end><box_start>[{boxes[1]}, {boxes[2]}]<box_end> "
        f"{_sentence(rng, 16)} A <obj_start>cup<obj_end><box_start>[]<box_end> {_sentence(rng, 14)}"
    )
    paths = [f"{folder}/{frame}.jpg" for frame in frames]
    captions = [_sentence(rng, 40) for _ in frames]
    frame_keys = ("path", "caption") if index % 2 else ("keyframe_path", "keyframe_caption")
    return {
        frame_keys[0]: paths,
        frame_keys[1]: captions,
        "question": _sentence(rng, 22)[:-1] + "?",
        "answer": _sentence(rng, 55),
        "evidence": evidence,
        "task": TASKS[index % len(TASKS)],
        "video_path": f"{source}/{video:06d}.mp4",
    }


def make_release(folder: Path, rows: int, n_videos: int, seed: int = 0) -> Path:
    """Write ``videoespresso_train_video.json`` (a JSON array) and ``n_videos`` tiny mp4 files."""
    from videoespresso_hf.demo.videos import Segment, make_video

    folder.mkdir(parents=True, exist_ok=True)
    sample = make_video(folder / "_sample.mp4", [Segment("static", 0.5)], fps=8, size=(64, 48)).path.read_bytes()
    for video in range(n_videos):
        path = folder / SOURCES[video % len(SOURCES)] / f"{video:06d}.mp4"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(sample)
    rng = random.Random(seed)
    annotation = folder / "videoespresso_train_video.json"
    with open(annotation, "w", encoding="utf-8") as handle:
        handle.write("[\n")
        for index in range(rows):
            handle.write(("" if index == 0 else ",\n") + json.dumps(_record(rng, index, n_videos)))
        handle.write("\n]\n")
    return annotation


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children: unlike wall time, not inflated by other jobs."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_ours(data_dir: str, out: str) -> dict:
    from videoespresso_hf.data.hub import prepare_dataset_folder

    start, cpu_start = time.perf_counter(), _cpu_seconds()
    entry = prepare_dataset_folder("train_video", data_dir, out)
    return {"seconds": time.perf_counter() - start, "cpu_seconds": _cpu_seconds() - cpu_start,
            "rows": entry["splits"]["train"], "peak_mb": _peak_rss_mb()}  # fmt: skip


def run_reference(data_dir: str, out: str) -> dict:
    import datasets

    from videoespresso_hf.data.records import release_record_to_row
    from videoespresso_hf.data.schema import features

    start, cpu_start = time.perf_counter(), _cpu_seconds()
    with open(Path(data_dir) / "videoespresso_train_video.json", encoding="utf-8") as handle:
        records = json.load(handle)
    rows = []
    for index, record in enumerate(records):
        row = release_record_to_row(record, id_prefix="train", index=index)
        row["video"] = str((Path(data_dir) / record["video_path"]).resolve())
        rows.append(row)
    dataset = datasets.Dataset.from_list(rows, features=features())
    Path(out).mkdir(parents=True, exist_ok=True)
    dataset.to_parquet(str(Path(out) / "train.parquet"))
    return {"seconds": time.perf_counter() - start, "cpu_seconds": _cpu_seconds() - cpu_start, "rows": len(dataset),
            "peak_mb": _peak_rss_mb()}  # fmt: skip


def _in_subprocess(mode: str, data_dir: Path, out: Path) -> dict:
    command = [sys.executable, __file__, "--child", mode, "--data-dir", str(data_dir), "--out", str(out)]
    env = {**os.environ, "HF_DATASETS_CACHE": str(out.parent / "hf_cache")}
    result = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    return json.loads(result.stdout.strip().splitlines()[-1])


def _report(label: str, result: dict) -> None:
    print(f"{label:55s} {result['seconds']:6.1f} s wall, {result['cpu_seconds']:6.1f} s CPU, "
          f"peak RSS {result['peak_mb']:6.0f} MB, {result['rows'] / result['seconds']:7,.0f} rows/s")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--videos", type=int, default=500)
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument("--child", choices=("ours", "reference"), help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = run_reference(args.data_dir, args.out) if args.child == "reference" else run_ours(args.data_dir, args.out)
        print(json.dumps(result))
        return 0

    with tempfile.TemporaryDirectory(prefix="bench_prepare_") as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        annotation = make_release(root / "release", args.rows, args.videos)
        size_mb = annotation.stat().st_size / 2**20
        print(f"synthetic release: {args.rows:,} rows, {size_mb:.0f} MB JSON, {args.videos} videos "
              f"(written in {time.perf_counter() - start:.1f} s); {os.cpu_count()} CPU cores")  # fmt: skip
        ours = _in_subprocess("ours", root / "release", root / "out_ours")
        _report("ours (streaming prepare → Parquet shards)", ours)
        if not args.skip_reference:
            reference = _in_subprocess("reference", root / "release", root / "out_reference")
            _report("reference (json.load + Dataset.from_list + to_parquet)", reference)
            print(f"ratio ours/reference: wall time {ours['seconds'] / reference['seconds']:.2f}x, "
                  f"CPU time {ours['cpu_seconds'] / reference['cpu_seconds']:.2f}x, "
                  f"peak memory {ours['peak_mb'] / reference['peak_mb']:.2f}x")  # fmt: skip
        load = os.getloadavg()[0]
        wall_ok, cpu_ok, memory_ok = ours["seconds"] <= 60, ours["cpu_seconds"] <= 60, ours["peak_mb"] <= 2048
        print(f"goal for {args.rows:,} rows in 1 process: time ≤ 60 s {'met' if wall_ok else 'NOT met'} "
              f"(CPU time ≤ 60 s {'met' if cpu_ok else 'NOT met'}), peak memory ≤ 2 GB {'met' if memory_ok else 'NOT met'}")  # fmt: skip
        print(f"1-min load average at the end: {load:.1f} on {os.cpu_count()} cores "
              "(other jobs inflate wall time; CPU time is what an idle machine would take)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

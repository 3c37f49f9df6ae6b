"""A small VideoEspresso-Test release for prediction tests: 8 questions on 4 real encoded clips."""

from __future__ import annotations

from pathlib import Path

from videoespresso_hf.demo.releases import bench_record, tiny_video, write_json, zip_bytes

__all__ = ["PREDICT_ITEMS", "prepare_bench", "read_jsonl", "write_predict_release"]

# (source, stem, task, core frames, correct letter): two questions per clip, 8 tasks, all four letters.
PREDICT_ITEMS = [
    ("XD-Violence", "Election.2005__#00-05-30_00-06-56_label_A", "Causal Analysis", (480, 512), "B"),
    ("XD-Violence", "Election.2005__#00-05-30_00-06-56_label_A", "Emotion Analysis", (480,), "A"),
    ("vatex", "RgtipEqA7ZA_000046_000056", "Cooking Process", (0, 3), "C"),
    ("vatex", "RgtipEqA7ZA_000046_000056", "Preparation Steps", (3,), "D"),
    ("CUVA", "00299", "Traffic Analysis", (4560,), "B"),
    ("CUVA", "00299", "Situation Analysis", (4560,), "A"),
    ("Moviechat", "m001", "Role Analysis", (12,), "C"),
    ("Moviechat", "m001", "Narrative Analysis", (12, 40), "D"),
]


def write_predict_release(root: Path) -> Path:
    """``bench_hard.json`` + ``all_video.zip`` with :data:`PREDICT_ITEMS` (real 64x48 h264 clips)."""
    root.mkdir(parents=True, exist_ok=True)
    records = []
    for number, (source, stem, task, frames, letter) in enumerate(PREDICT_ITEMS):
        record = bench_record(source, stem, task, frames, correct=letter)
        record["question"] = f"Question {number}: why does the event in {stem} happen?"
        records.append(record)
    write_json(root / "bench_hard.json", records)
    stems = list(dict.fromkeys((source, stem) for source, stem, *_ in PREDICT_ITEMS))
    members = {}
    for index, (source, stem) in enumerate(stems):
        members[f"all_video/{source}/{stem}.mp4"] = tiny_video(root / f".clip{index}.mp4", index).read_bytes()
        (root / f".clip{index}.mp4").unlink()
    (root / "all_video.zip").write_bytes(zip_bytes(members))
    return root


def prepare_bench(release: Path, out: Path) -> Path:
    """``videoespresso data prepare --config bench`` of ``release`` into ``out`` (returns ``out``)."""
    from videoespresso_hf.cli.main import main

    code = main(["data", "prepare", "--quiet", "--config", "bench", "--data-dir", str(release), "--out", str(out)])
    assert code == 0, f"data prepare exited with {code}"
    return out


def read_jsonl(path: Path) -> list[dict]:
    """The records of a predictions file."""
    import json

    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

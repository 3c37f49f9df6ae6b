"""A small prepared bench of real encoded videos (8 questions on 4 clips), built once per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from videoespresso_hf.demo.releases import bench_record, tiny_video, write_json, zip_bytes

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


@pytest.fixture(scope="session")
def prepared_bench_template(tmp_path_factory) -> Path:
    from videoespresso_hf.cli.main import main

    root = tmp_path_factory.mktemp("predict_bench")
    release = write_predict_release(root / "release")
    assert main(["data", "prepare", "--quiet", "--config", "bench", "--data-dir", str(release), "--out", str(root / "hub")]) == 0
    return root


@pytest.fixture()
def prepared_bench(prepared_bench_template, tmp_path, monkeypatch) -> Path:
    """A private copy of the prepared folder (its videos are absolute paths into the private release)."""
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf_datasets_cache")
    root = Path(shutil.copytree(prepared_bench_template, tmp_path / "bench"))
    from videoespresso_hf.cli.main import main

    shutil.rmtree(root / "hub")  # re-prepare so the stored video paths point into this copy
    assert main(["data", "prepare", "--quiet", "--config", "bench", "--data-dir", str(root / "release"), "--out", str(root / "hub")]) == 0
    return root / "hub"

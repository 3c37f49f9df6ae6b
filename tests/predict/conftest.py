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


@pytest.fixture(autouse=True)
def _session_datasets_cache(tmp_path_factory, monkeypatch):
    """Keep ``datasets``' Arrow cache of the prepared folders out of the user's home."""
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path_factory.getbasetemp() / "hf_datasets_cache")


@pytest.fixture()
def prepared_bench(prepared_bench_template) -> Path:
    """The prepared folder (shared: tests must not change it; see ``private_bench``)."""
    return prepared_bench_template / "hub"


@pytest.fixture()
def private_bench(prepared_bench_template, tmp_path) -> tuple[Path, Path]:
    """``(prepared folder, release folder)`` of a private copy whose videos a test may delete or damage."""
    from videoespresso_hf.cli.main import main

    root = Path(shutil.copytree(prepared_bench_template / "release", tmp_path / "release"))
    out = tmp_path / "hub"
    assert main(["data", "prepare", "--quiet", "--config", "bench", "--data-dir", str(root), "--out", str(out)]) == 0
    return out, root


@pytest.fixture(scope="session")
def tiny_vlm_dir(tmp_path_factory):
    """``tiny_vlm_dir(family)`` → a saved tiny VLM answering with one of A–D (built once per family)."""
    from doubles.tiny_vlms import save_tiny_vlm

    root = tmp_path_factory.mktemp("tiny_vlms")
    saved: dict[str, Path] = {}

    def get(family: str) -> Path:
        if family not in saved:
            saved[family] = save_tiny_vlm(root / family, family, letters_only=True)
        return saved[family]

    return get


def read_jsonl(path: Path) -> list[dict]:
    import json

    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

"""Small releases in the published layouts, built once per session (real mp4s, JPEGs and archives)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from videoespresso_hf.demo.releases import (
    tiny_jpeg,
    tiny_video,
    train_record,
    write_bench_release,
    write_byte_split,
    write_json,
    write_split_zip,
    zip_bytes,
)

TRAIN_VIDEOS = ["CUVA/2_image/00299", "vatex/vatex_image/RgtipEqA7ZA_000046_000056", "Moviechat/1_image/m001"]


@pytest.fixture(autouse=True)
def _private_datasets_cache(tmp_path, monkeypatch):
    """Each test gets its own datasets cache: datasets keys local-folder caches on the folder name and card YAML."""
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf_datasets_cache")


@pytest.fixture(scope="session")
def video_bytes(tmp_path_factory) -> list[bytes]:
    folder = tmp_path_factory.mktemp("videos")
    return [tiny_video(folder / f"v{i}.mp4", i).read_bytes() for i in range(3)]


@pytest.fixture(scope="session")
def bench_zip_release(tmp_path_factory, video_bytes) -> Path:
    """``VideoEspresso-Test`` as downloaded: ``bench_hard.json`` + ``all_video.zip`` (not extracted)."""
    return write_bench_release(tmp_path_factory.mktemp("bench_release"), video_bytes)


@pytest.fixture()
def bench_release(bench_zip_release, tmp_path) -> Path:
    """A private copy (tests extract into it)."""
    return Path(shutil.copytree(bench_zip_release, tmp_path / "bench"))


def train_records() -> list[dict]:
    return [train_record(i, TRAIN_VIDEOS[i % 3], "path" if i < 3 else "keyframe") for i in range(6)]


@pytest.fixture()
def train_video_release(tmp_path, video_bytes) -> Path:
    """``VideoEspresso_train_video``: JSON + a 3-part Info-ZIP split archive whose members carry a prefix."""
    root = tmp_path / "train_video"
    write_json(root / "videoespresso_train_video.json", train_records())
    members = {}
    for i, frames_dir in enumerate(TRAIN_VIDEOS):
        source, stem = frames_dir.split("/")[0], frames_dir.split("/")[-1]
        # Padding makes the videos span part boundaries.
        members[f"VideoEspresso_train_video/{source}/{stem}.mp4"] = video_bytes[i]
    write_split_zip(members, root / "VideoEspresso_train_video.zip", part_size=1500, zip64=True)
    return root


@pytest.fixture()
def multi_image_release(tmp_path) -> Path:
    """``VideoEspresso_train_multi_image``: byte-split zip ``part_aa…`` holding images and ``merged_ano_all.json``."""
    root = tmp_path / "train_multi_image"
    records = train_records()
    members = {"merged_ano_all.json": json.dumps(records).encode()}
    for index, record in enumerate(records):
        for path in record.get("path") or record.get("keyframe_path"):
            members[path] = tiny_jpeg((40 * (index % 5), 100, 200))
    write_byte_split(zip_bytes(members), root, piece_size=700)
    return root


@pytest.fixture()
def generated_release(tmp_path, video_bytes) -> Path:
    """The construction pipeline's output folder: ``generated/{train,test}.jsonl`` + manifest."""
    root = tmp_path / "pipeline_out"
    video = root / "videos" / "clip.mp4"
    video.parent.mkdir(parents=True)
    video.write_bytes(video_bytes[0])
    row = {
        "id": "gen-0001", "question": "What happens first?", "answer": "The man waves.",
        "options": ["The man waves.", "The man sits.", "The dog runs.", "Nothing."], "correct_answer": "A",
        "task": "Event Process", "task_group": "Logical Reasoning", "evidence": "The man waves.",
        "evidence_raw": "The <obj_start>man<obj_end><box_start>[1, 2, 3, 4]<box_end> waves.",
        "key_objects": [{"label": "man", "boxes": [[1, 2, 3, 4]], "box_status": "ok"}],
        "core_frames": [{"path": "", "caption": "a man", "frame_index": 12, "timestamp": 1.5}],
        "source": "local", "video": str(video), "video_path": "videos/clip.mp4", "fps": 8.0,
        "metadata": json.dumps({"caption_model": "OpenGVLab/InternVL2-8B", "prompt_version": "qa-v1"}),
    }  # fmt: skip
    folder = root / "generated"
    folder.mkdir()
    (folder / "train.jsonl").write_text(json.dumps(row) + "\n" + json.dumps({**row, "id": "gen-0002"}) + "\n")
    (folder / "test.jsonl").write_text(json.dumps({**row, "id": "gen-0003", "task": "Traffic Analysis"}) + "\n")
    write_json(folder / "manifest.json", {"schema_version": 1, "counts": {"train": 2, "test": 1}})
    return root

"""A tiny prepared ``generated`` config built from real encoded videos, and tiny random checkpoints.

Rows (train split): 4 good ones (two with options) on 2 videos, then 3 bad ones — a video deleted
after preparation, empty evidence, a core frame past the end of its clip.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import videoespresso_hf  # noqa: F401  (arms the Auto registration, as users do)
from videoespresso_hf.cli.main import main
from videoespresso_hf.demo.videos import PALETTE, Segment, make_video

torch.set_num_threads(1)

GOOD_IDS = ["gen-good-0", "gen-good-1", "gen-good-2", "gen-good-3"]
BAD_IDS = {"gen-bad-video": "unreadable video", "gen-bad-evidence": "empty evidence_raw", "gen-bad-frame": "core frame outside the video"}


def _row(row_id: str, video: Path, question: str, answer: str, evidence: str, times, options=(), correct=""):
    return {
        "id": row_id, "question": question, "answer": answer, "options": list(options), "correct_answer": correct,
        "task": "Event Process", "task_group": "Logical Reasoning", "evidence": evidence.replace("<", "").replace(">", ""),
        "evidence_raw": evidence, "key_objects": [],
        "core_frames": [{"path": "", "caption": f"frame at {t}", "frame_index": int(t * 8), "timestamp": t} for t in times],
        "source": "local", "video": str(video), "video_path": video.name, "fps": 8.0, "metadata": "{}",
    }  # fmt: skip


@pytest.fixture(scope="session")
def prepared_data(tmp_path_factory) -> Path:
    """``videoespresso data prepare --config generated`` output over 3 real 2-second mp4s."""
    root = tmp_path_factory.mktemp("build_out")
    videos = []
    for index in range(3):
        path = root / "videos" / f"clip{index}.mp4"
        segments = [Segment("static", 1.0, color=PALETTE[(2 * index) % len(PALETTE)]),
                    Segment("static", 1.0, color=PALETTE[(2 * index + 1) % len(PALETTE)])]  # fmt: skip
        make_video(path, segments, fps=8, size=(64, 48))
        videos.append(path)
    options = ["a red ball", "a blue box", "a green cup", "nothing"]
    rows = [
        _row(GOOD_IDS[0], videos[0], "What appears first?", "A red ball.",
             "The <obj_start>ball<obj_end><box_start>[1, 2, 3, 4]<box_end> is red.", [0.25, 1.5]),
        _row(GOOD_IDS[1], videos[0], "Which object is shown?", "A blue box.", "A blue box sits still.",
             [1.25], options, "B"),
        _row(GOOD_IDS[2], videos[1], "What changes?", "The colour.", "The colour turns at one second.", [0.5, 1.75]),
        _row(GOOD_IDS[3], videos[1], "What is on the table?", "A green cup.", "A green cup stands there.",
             [0.0, 1.0], options, "C"),
        _row("gen-bad-video", videos[2], "Why?", "Because.", "Some evidence.", [0.5]),
        _row("gen-bad-evidence", videos[0], "Why?", "Because.", "", [0.5]),
        _row("gen-bad-frame", videos[1], "When?", "Late.", "Late evidence.", [9.0]),
    ]  # fmt: skip
    folder = root / "generated"
    folder.mkdir()
    (folder / "train.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    (folder / "test.jsonl").write_text(json.dumps({**rows[0], "id": "gen-test-0"}) + "\n")
    (folder / "manifest.json").write_text(json.dumps({"schema_version": 1, "counts": {"train": 7, "test": 1}}))
    out = tmp_path_factory.mktemp("prepared")
    assert main(["data", "prepare", "--quiet", "--config", "generated", "--data-dir", str(root), "--out", str(out)]) == 0
    videos[2].unlink()  # the video of gen-bad-video disappears after preparation
    return out


@pytest.fixture(autouse=True)
def _private_datasets_cache(tmp_path, monkeypatch):
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf_datasets_cache")


@pytest.fixture(scope="session")
def prepared_multi_image(tmp_path_factory) -> Path:
    """``VideoEspresso_train_multi_image`` in the authors' layout (byte-split zip of JPEGs + JSON) → prepared."""
    from videoespresso_hf.demo.releases import tiny_jpeg, train_record, write_byte_split, zip_bytes

    release = tmp_path_factory.mktemp("train_multi_image")
    records = [train_record(index, "vatex/vatex_image/RgtipEqA7ZA_000046_000056", "path") for index in range(2)]
    members = {"merged_ano_all.json": json.dumps(records).encode()}
    for index, record in enumerate(records):
        for number, path in enumerate(record["path"]):
            members[path] = tiny_jpeg((60 * index, 100 + 50 * number, 200))
    write_byte_split(zip_bytes(members), release, piece_size=700)
    out = tmp_path_factory.mktemp("prepared_multi_image")
    argv = ["data", "prepare", "--quiet", "--config", "train_multi_image", "--data-dir", str(release), "--out", str(out), "--fps", "1"]
    assert main(argv) == 0
    return out

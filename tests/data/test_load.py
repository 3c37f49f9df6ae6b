"""End to end: released layouts → `videoespresso data prepare` → `datasets.load_dataset(OUT, NAME)`."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pytest
from huggingface_hub import DatasetCard

from videoespresso_hf.cli.main import main
from videoespresso_hf.data.builder import load_videoespresso
from videoespresso_hf.data.schema import features
from videoespresso_hf.demo.releases import BENCH_ITEMS
from videoespresso_hf.tasks import LEADERBOARD_TASKS


def _prepare(capsys, *args: str) -> str:
    code = main(["data", "prepare", "--quiet", *args])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out


def _load(out: Path, name: str, split: str, streaming: bool = False):
    ds = datasets.load_dataset(str(out), name, split=split, streaming=streaming)
    return ds.cast_column("video", datasets.Video(decode=False))


def test_bench_from_zip_loads_with_typed_features(bench_release, tmp_path, capsys):
    out = tmp_path / "hub"
    printed = _prepare(capsys, "--config", "bench", "--data-dir", str(bench_release), "--out", str(out))
    assert "test: 3 rows" in printed
    ds = datasets.load_dataset(str(out), "bench", split="test")
    assert ds.features == features()
    assert ds.features["task"].names == list(LEADERBOARD_TASKS)
    rows = list(ds.cast_column("video", datasets.Video(decode=False)))
    assert [row["source"] for row in rows] == [item[0] for item in BENCH_ITEMS]
    assert [ds.features["task"].int2str(row["task"]) for row in rows] == [item[2] for item in BENCH_ITEMS]
    first = rows[0]
    assert first["correct_answer"] == "B" and len(first["options"]) == 4 and not first["options"][0].startswith("(")
    video = Path(first["video"]["path"])
    assert video.is_absolute() and video.is_file()
    assert video == (bench_release / first["video_path"]).resolve()  # extracted from all_video.zip
    assert first["key_objects"][1] == {"label": "crowd", "boxes": [], "box_status": "empty"}
    # The prepared folder streams too, and the card's YAML drives load_dataset.
    streamed = next(iter(_load(out, "bench", "test", streaming=True)))
    assert streamed["id"] == first["id"] and streamed["video"]["path"] == first["video"]["path"]
    card = DatasetCard.load(out / "README.md")
    assert card.data.license == "apache-2.0"
    assert card.data.configs[0]["data_files"][0]["path"] == "bench/test-*.parquet"
    assert "the video (absolute path on the machine that prepared this folder)" in card.text
    assert "han2025videoespresso" in card.text and "Causal Analysis" in card.text


def test_bench_video_decodes(bench_release, tmp_path, capsys):
    # torchcodec is pinned (requirements/dev.txt): without it datasets cannot decode a Video, and that must fail.
    assert datasets.config.TORCHCODEC_AVAILABLE, "torchcodec (pinned) or its FFmpeg libraries are missing"
    out = tmp_path / "hub"
    _prepare(capsys, "--config", "bench", "--data-dir", str(bench_release), "--out", str(out))
    ds = datasets.load_dataset(str(out), "bench", split="test")
    decoder = ds[0]["video"]
    assert decoder.metadata.num_frames == 4 and tuple(decoder[0].shape) == (3, 48, 64)


def test_train_video_from_split_archive_with_fps(train_video_release, tmp_path, capsys):
    out = tmp_path / "hub"
    _prepare(capsys, "--config", "train_video", "--data-dir", str(train_video_release), "--out", str(out),
             "--source-fps", "CUVA=2", "--fps", "1")  # fmt: skip
    rows = list(_load(out, "train_video", "train"))
    assert len(rows) == 6
    by_source = {row["source"]: row for row in reversed(rows)}  # first row of each source
    assert set(by_source) == {"CUVA", "vatex", "Moviechat"}
    cuva = by_source["CUVA"]
    assert cuva["id"] == "train-000000"
    assert cuva["fps"] == 2.0 and cuva["core_frames"][1]["timestamp"] == pytest.approx(15.0)
    assert by_source["vatex"]["fps"] == 1.0
    assert cuva["options"] == [] and cuva["correct_answer"] == ""
    assert [obj["box_status"] for obj in cuva["key_objects"]] == ["ok", "empty"]
    assert len(cuva["key_objects"][0]["boxes"]) == 2
    # The member behind the split archive was found by its trailing path and extracted byte for byte.
    video = Path(cuva["video"]["path"])
    assert video.parts[-3:] == ("VideoEspresso_train_video", "CUVA", "00299.mp4") and video.stat().st_size > 0
    # Both key-frame field variants (path/caption and keyframe_path/keyframe_caption) came through.
    assert all(row["core_frames"][0]["caption"].startswith("cap ") for row in rows)


def test_prepare_offers_no_worker_processes(train_video_release, tmp_path, capsys):
    """Worker processes made prepare slower on 2 cores (benchmarks/prepare_train_annotations.py): no such knob."""
    with pytest.raises(SystemExit) as exit_:
        main(["data", "prepare", "--config", "train_video", "--data-dir", str(train_video_release),
              "--out", str(tmp_path / "hub"), "--workers", "2"])  # fmt: skip
    assert exit_.value.code == 2 and "--workers" in capsys.readouterr().err


def test_train_multi_image_from_byte_split_parts(multi_image_release, generated_release, tmp_path, capsys):
    out = tmp_path / "hub"
    _prepare(capsys, "--config", "train_multi_image", "--data-dir", str(multi_image_release), "--out", str(out),
             "--embed-videos")  # fmt: skip
    ds = datasets.load_dataset(str(out), "train_multi_image", split="train")
    assert len(ds) == 6
    row = ds[0]
    assert row["video"] is None and len(row["images"]) == len(row["core_frames"]) == 2
    assert row["images"][0].size == (32, 24)  # decoded from bytes embedded in the Parquet file
    raw = ds.cast_column("images", datasets.List(datasets.Image(decode=False)))[0]
    assert raw["images"][0]["bytes"][:2] == b"\xff\xd8"  # JPEG bytes travel inside the Parquet file
    streamed = next(iter(datasets.load_dataset(str(out), "train_multi_image", split="train", streaming=True)))
    assert streamed["id"] == row["id"]
    assert "the video (embedded bytes)" in (out / "README.md").read_text()
    # A second, path-only config makes the card's media description per config.
    _prepare(capsys, "--config", "generated", "--data-dir", str(generated_release), "--out", str(out))
    assert "the video (embedded bytes or an absolute path, per config" in (out / "README.md").read_text()


def test_generated_config_and_card_lists_every_config(generated_release, bench_release, tmp_path, capsys):
    out = tmp_path / "hub"
    _prepare(capsys, "--config", "generated", "--data-dir", str(generated_release), "--out", str(out))
    _prepare(capsys, "--config", "bench", "--data-dir", str(bench_release), "--out", str(out))
    train = _load(out, "generated", "train")
    test = _load(out, "generated", "test")
    assert [row["id"] for row in train] == ["gen-0001", "gen-0002"] and len(test) == 1
    row = train[0]
    assert train.features["task"].int2str(row["task"]) == "Event Dynamic"
    assert json.loads(row["metadata"])["caption_model"] == "OpenGVLab/InternVL2-8B"
    assert row["core_frames"][0]["timestamp"] == 1.5 and Path(row["video"]["path"]).is_file()
    card = DatasetCard.load(out / "README.md")
    assert [c["config_name"] for c in card.data.configs] == ["bench", "generated"]
    assert len(datasets.load_dataset(str(out), "bench", split="test")) == 3  # first config still there


def test_missing_videos_error_skip_keep(bench_release, tmp_path, capsys):
    (bench_release / "all_video.zip").unlink()
    (bench_release / "all_video" / "vatex").mkdir(parents=True)
    (bench_release / "all_video" / "vatex" / f"{BENCH_ITEMS[1][1]}.mp4").write_bytes(b"")  # unreadable: empty
    out = tmp_path / "hub"
    code = main(["data", "prepare", "--quiet", "--config", "bench", "--data-dir", str(bench_release), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "3 of 3 rows reference missing or unreadable videos" in err
    assert "(missing)" in err and "(empty file)" in err and "--missing-videos" in err
    assert not (out / "bench").exists()  # nothing written before the check

    _prepare(capsys, "--config", "bench", "--data-dir", str(bench_release), "--out", str(out), "--missing-videos", "keep")
    kept = _load(out, "bench", "test")
    assert len(kept) == 3 and all(row["video"] is None for row in kept)
    manifest = json.loads((out / "videoespresso_prepare.json").read_text())
    assert manifest["configs"]["bench"]["omitted_count"] == 3
    assert "kept with no media" in (out / "README.md").read_text()

    # A partial download: one video present.
    target = bench_release / BENCH_ITEMS[0][0]
    video_rel = f"all_video/{BENCH_ITEMS[0][0]}/{BENCH_ITEMS[0][1]}.mp4"
    (bench_release / video_rel).parent.mkdir(parents=True, exist_ok=True)
    (bench_release / video_rel).write_bytes(b"\x00\x00\x00\x18ftypmp42")
    assert not target.exists()
    _prepare(capsys, "--config", "bench", "--data-dir", str(bench_release), "--out", str(out), "--missing-videos", "skip")
    skipped = _load(out, "bench", "test")
    assert [row["id"] for row in skipped] == ["bench-000000"]
    card_text = (out / "README.md").read_text()
    assert "2 row(s)" in card_text and "bench-000001" in card_text and "rows dropped" in card_text


def test_builder_matches_prepared_folder(bench_release, tmp_path, capsys):
    built = load_videoespresso("bench", bench_release, split="test", cache_dir=tmp_path / "cache")
    assert isinstance(built, datasets.Dataset) and built.features == features()
    out = tmp_path / "hub"
    _prepare(capsys, "--config", "bench", "--data-dir", str(bench_release), "--out", str(out))
    prepared = _load(out, "bench", "test")
    assert list(built.cast_column("video", datasets.Video(decode=False))) == list(prepared)


def test_malformed_annotations_give_one_line_errors(bench_release, tmp_path, capsys):
    (bench_release / "bench_hard.json").write_text('[{"question": "q", "task": "Causal Analysis"},\n {"question": ]')
    code = main(["data", "prepare", "--quiet", "--config", "bench", "--data-dir", str(bench_release),
                 "--out", str(tmp_path / "o")])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert code == 2 and "malformed JSON at line 2" in err and len(err.splitlines()) == 1
    code = main(["data", "prepare", "--quiet", "--config", "train_video", "--data-dir", str(tmp_path),
                 "--out", str(tmp_path / "o")])  # fmt: skip
    assert code == 2 and "no annotation file" in capsys.readouterr().err
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("")
    (bench_release / "bench_hard.json").write_text("[]")
    code = main(["data", "prepare", "--quiet", "--config", "bench", "--data-dir", str(bench_release),
                 "--out", str(blocker / "out")])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert code == 2 and "not_a_folder" in err and len(err.splitlines()) == 1


def test_builder_stops_on_missing_videos_and_reads_generated(bench_release, generated_release, tmp_path):
    from videoespresso_hf.data.sources import MissingMediaError

    (bench_release / "all_video.zip").unlink()
    with pytest.raises(MissingMediaError, match="3 of 3 rows"):
        load_videoespresso("bench", bench_release, split="test", cache_dir=tmp_path / "cache")
    kept = load_videoespresso("bench", bench_release, split="test", cache_dir=tmp_path / "cache2", missing_videos="keep")
    assert len(kept) == 3 and kept.cast_column("video", datasets.Video(decode=False))[0]["video"] is None
    generated = load_videoespresso("generated", generated_release, cache_dir=tmp_path / "cache3")
    assert set(generated) == {"train", "test"} and generated["test"][0]["id"] == "gen-0003"


def test_verify_videos_catches_corrupt_files(bench_release, tmp_path, capsys):
    from videoespresso_hf.demo.videos import make_corrupt_video

    out = tmp_path / "hub"
    _prepare(capsys, "--config", "bench", "--data-dir", str(bench_release), "--out", str(out))  # extracts
    video = bench_release / "all_video" / BENCH_ITEMS[2][0] / f"{BENCH_ITEMS[2][1]}.mp4"
    make_corrupt_video(video, "garbage")
    (bench_release / "all_video.zip").unlink()  # the extracted tree is all that is left
    _prepare(capsys, "--config", "bench", "--data-dir", str(bench_release), "--out", str(out))
    assert len(_load(out, "bench", "test")) == 3  # the cheap check only sees a non-empty file
    code = main(["data", "prepare", "--quiet", "--config", "bench", "--data-dir", str(bench_release),
                 "--out", str(out), "--verify-videos"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "1 of 3 rows" in err and "cannot decode" in err
    assert len(_load(out, "bench", "test")) == 3  # the failed run left the previous version in place


def test_missing_generated_video_does_not_suggest_a_download(generated_release, tmp_path, capsys):
    (generated_release / "videos" / "clip.mp4").unlink()
    code = main(["data", "prepare", "--quiet", "--config", "generated", "--data-dir", str(generated_release),
                 "--out", str(tmp_path / "o")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "3 of 3 rows" not in err and "2 of 2 rows" in err
    assert "data download" not in err and "videoespresso build" in err


def test_truncated_archive_is_a_one_line_error(bench_release, tmp_path, capsys):
    archive = bench_release / "all_video.zip"
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])  # an interrupted download
    code = main(["data", "prepare", "--quiet", "--config", "bench", "--data-dir", str(bench_release),
                 "--out", str(tmp_path / "o")])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert code == 2 and "cannot read archive all_video.zip" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "o" / "bench").exists()


@pytest.mark.parametrize("options", [{"fps": 0.0}, {"fps": float("nan")}, {"fps_by_source": {"vatex": -1.0}}])
def test_source_options_refuse_non_positive_fps(options):
    from videoespresso_hf.data.sources import DataError, SourceOptions

    with pytest.raises(DataError, match="positive"):
        SourceOptions(**options)

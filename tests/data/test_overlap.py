"""Contamination check: videos shared by the bench and a training config (issue 22 item 6).

The session fixtures share video bytes: the bench's XD-Violence clip is byte for byte the training
CUVA/00299 video and its CUVA clip the training Moviechat one (renamed copies: found by content); both
releases name ``vatex/RgtipEqA7ZA_000046_000056`` with the same bytes, and ``CUVA/00299`` with different
ones (found by source id only).
"""

from __future__ import annotations

import json

from videoespresso_hf.cli.main import main
from videoespresso_hf.data.hub import prepare_dataset_folder
from videoespresso_hf.data.overlap import shared_videos
from videoespresso_hf.data.sources import SourceOptions
from videoespresso_hf.demo.releases import tiny_video


def _prepare(config, data_dir, out, **options):
    return prepare_dataset_folder(config, data_dir, out, SourceOptions(**options))


def test_shared_videos_by_content_and_by_source_id(bench_release, train_video_release, tmp_path):
    out = tmp_path / "hub"
    _prepare("bench", bench_release, out)
    _prepare("train_video", train_video_release, out, embed_media=True)  # bytes on one side, paths on the other
    report = shared_videos(out, "train_video", "bench")
    by = {(video.by, video.path_b): video for video in report.shared}
    assert set(by) == {
        ("content", "all_video/XD-Violence/Election.2005__#00-05-30_00-06-56_label_A.mp4"),
        ("content", "all_video/vatex/RgtipEqA7ZA_000046_000056.mp4"),
        ("content", "all_video/CUVA/00299.mp4"),
        ("source id", "all_video/CUVA/00299.mp4"),
    }
    renamed = by[("content", "all_video/XD-Violence/Election.2005__#00-05-30_00-06-56_label_A.mp4")]
    assert renamed.path_a == "CUVA/00299.mp4" and renamed.ids_a == ("train-000000", "train-000003")
    assert renamed.ids_b == ("bench-000000",)
    assert by[("source id", "all_video/CUVA/00299.mp4")].key == "CUVA/00299"
    assert (report.rows_a, report.rows_b, report.videos_a, report.videos_b) == (6, 3, 3, 3)
    assert by[("content", "all_video/CUVA/00299.mp4")].path_a == "Moviechat/m001.mp4"
    assert "4 video(s) (3 by content, 1 by source id only)" in report.summary()
    assert "6 of 6 rows of hub/train_video, 3 of 3 rows of hub/bench" in report.summary()


def test_check_overlap_command_and_prepare_warning(bench_release, train_video_release, generated_release, tmp_path, capsys):
    out = tmp_path / "hub"
    assert main(["data", "prepare", "--quiet", "--config", "bench", "--data-dir", str(bench_release), "--out", str(out)]) == 0
    assert "contamination" not in capsys.readouterr().out  # nothing to compare with yet
    assert main(["data", "prepare", "--quiet", "--config", "train_video", "--data-dir", str(train_video_release),
                 "--out", str(out)]) == 0  # fmt: skip
    stdout = capsys.readouterr().out
    assert "warning: contamination: hub/train_video and hub/bench share 4 video(s)" in stdout
    assert f"videoespresso data check-overlap {out / 'train_video'} {out / 'bench'}" in stdout

    assert main(["data", "check-overlap", str(out / "train_video"), str(out / "bench")]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("hub/train_video and hub/bench share 4 video(s)") and len(lines) == 5
    assert main(["data", "check-overlap", "train_video", "bench", "--prepared", str(out), "--limit", "1"]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == "... and 3 more (--limit)"

    tiny_video(generated_release / "videos" / "clip.mp4", 5)  # a video of its own (the fixture reuses a bench one)
    assert main(["data", "prepare", "--quiet", "--config", "generated", "--data-dir", str(generated_release),
                 "--out", str(out)]) == 0  # fmt: skip
    assert "contamination" not in capsys.readouterr().out
    assert main(["data", "check-overlap", str(out / "generated"), str(out / "bench")]) == 0
    assert "share 0 video(s)" in capsys.readouterr().out


def test_check_overlap_errors_are_one_line(tmp_path, capsys):
    assert main(["data", "check-overlap", str(tmp_path / "nope"), str(tmp_path / "bench")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "is not a prepared config folder" in err
    (tmp_path / "empty").mkdir()
    assert main(["data", "check-overlap", str(tmp_path / "empty"), str(tmp_path / "empty")]) == 2
    assert "holds no prepared rows" in capsys.readouterr().err


def test_prepared_rows_outside_their_roots_are_not_hashed(bench_release, tmp_path):
    """The overlap check opens a row's video through the same confinement rule as the viewer."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = tmp_path / "hub"
    _prepare("bench", bench_release, out)
    manifest = json.loads((out / "videoespresso_prepare.json").read_text())
    assert manifest["configs"]["bench"]["media_roots"] == [str(bench_release.resolve())]
    outside = tmp_path / "outside.mp4"
    outside.write_bytes((bench_release / "all_video" / "vatex" / "RgtipEqA7ZA_000046_000056.mp4").read_bytes())
    (shard,) = (out / "bench").glob("*.parquet")
    table = pq.read_table(shard)
    field = table.schema.field("video")
    videos = [{"bytes": None, "path": str(outside)}] * table.num_rows
    pq.write_table(table.set_column(table.schema.get_field_index("video"), field, pa.array(videos, type=field.type)), shard)
    report = shared_videos(out, "bench", "bench")
    assert (report.videos_a, report.unhashed_a) == (0, 3)


def test_training_warns_of_the_contamination_prepare_recorded(bench_release, train_video_release, tmp_path, capsys):
    """`data prepare` records what it found in the manifest; a training run on that config says it at start, without
    hashing the videos again (and says nothing for a config that shares none)."""
    from videoespresso_hf.data.overlap import recorded_bench_overlap
    from videoespresso_hf.training.arguments import ReasonerTrainingArguments
    from videoespresso_hf.training.startup import start_training

    out = tmp_path / "hub"
    assert main(["data", "prepare", "--quiet", "--config", "train_video", "--data-dir", str(train_video_release),
                 "--out", str(out)]) == 0  # fmt: skip
    assert recorded_bench_overlap(out, "train_video") is None  # no bench yet: nothing checked
    assert main(["data", "prepare", "--quiet", "--config", "bench", "--data-dir", str(bench_release), "--out", str(out)]) == 0
    assert "warning: contamination: hub/train_video and hub/bench share 4 video(s)" in capsys.readouterr().out
    recorded = recorded_bench_overlap(out, "train_video")
    assert recorded and recorded.startswith("warning: contamination: hub/train_video and hub/bench share 4 video(s)")

    start_training(ReasonerTrainingArguments(data=str(out), config="train_video", output_dir=str(tmp_path / "run")),
                   "title")  # fmt: skip
    assert recorded in capsys.readouterr().err

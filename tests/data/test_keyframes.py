"""Key-frame times recovered by matching the released images to the decoded video (issue 20.0).

The fixtures cut key-frame JPEGs from KNOWN seconds of real encoded videos and name them the way the
release does (frame number = second × the video's sampling rate); matching must give back those seconds,
and a JPEG cut from another video must come back unmatched.
"""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import numpy as np
import pytest
from doubles.keyframe_release import (
    FOREIGN,
    VIDEOS,
    frame_dir,
    jpeg_at,
    key_frame_truth,
    write_keyframe_release,
)
from PIL import Image

from videoespresso_hf.cli.main import main
from videoespresso_hf.data.boxes import decide_row_box_reading, decide_video_box_reading, reading_to_corners
from videoespresso_hf.data.keyframes import (
    MATCH_THRESHOLD,
    _decide,
    grounding_labels,
    image_distance,
    match_keyframes,
    trusted_keyframe_times,
)


@pytest.fixture(scope="module")
def _release(tmp_path_factory) -> tuple[Path, Path, dict[str, Path]]:
    return write_keyframe_release(tmp_path_factory.mktemp("keyframe_release"))


@pytest.fixture(scope="module")
def videos(_release) -> dict[str, Path]:
    return _release[2]


@pytest.fixture(scope="module")
def released(_release) -> tuple[Path, Path]:
    return _release[0], _release[1]


def _images(image_dir: Path, stem: str) -> dict[str, bytes]:
    return {str(p.relative_to(image_dir)): p.read_bytes() for p in (image_dir / frame_dir(stem)).glob("*.jpg")}


def test_matching_recovers_the_seconds_the_images_were_cut_at(released, videos):
    _, image_dir = released
    expected = key_frame_truth()
    for stem, (_, rate, _) in VIDEOS.items():
        result = match_keyframes(videos[stem], _images(image_dir, stem))
        assert result.rate == rate, (stem, result.reason)
        for path, frame in result.frames.items():
            if path == FOREIGN:
                continue
            assert frame.status == "matched" and frame.time == pytest.approx(expected[path]), (path, frame)
            assert frame.distance < MATCH_THRESHOLD
            # The other candidate times show other pictures: far away.
            assert all(d > MATCH_THRESHOLD for key, d in frame.candidates.items()
                       if expected[path] * rate / float(key) != expected[path])  # fmt: skip


def test_a_frame_from_another_video_is_unmatched_never_guessed(released, videos):
    _, image_dir = released
    result = match_keyframes(videos["00299"], _images(image_dir, "00299"))
    foreign = result.frames[FOREIGN]
    assert foreign.status == "unmatched" and foreign.time is None
    assert foreign.distance > MATCH_THRESHOLD and set(foreign.candidates) == {"1", "2", "4"}
    assert result.rate == 2.0  # the foreign frame takes no part in the rate vote


def test_an_unreadable_image_spoils_only_its_own_frame(released, videos):
    _, image_dir = released
    images = {**_images(image_dir, "00299"), "CUVA/2_image/00299/20.jpg": b"not a jpeg", "CUVA/2_image/00299/22.jpg": jpeg_at(videos["00299"], 11.0)[:60]}
    result = match_keyframes(videos["00299"], images)
    assert result.rate == 2.0
    assert result.frames["CUVA/2_image/00299/20.jpg"].status == "no_image"
    assert result.frames["CUVA/2_image/00299/22.jpg"].status == "no_image"
    assert result.frames["CUVA/2_image/00299/6.jpg"].time == 3.0


def test_time_in_the_file_name_is_checked_against_the_pixels(videos):
    stamped = "Storystream/Rabbids/rabbids/000027/000027_keyframe_0-00-04-500.jpg"
    wrong = "Storystream/Rabbids/rabbids/000027/000027_keyframe_0-00-09-000.jpg"
    result = match_keyframes(videos["m001"], {stamped: jpeg_at(videos["m001"], 4.5), wrong: jpeg_at(videos["m001"], 2.0)})
    assert result.frames[stamped].status == "matched" and result.frames[stamped].time == pytest.approx(4.5)
    assert result.frames[wrong].status == "unmatched" and result.frames[wrong].time is None


def test_rate_decision_conflict_and_ambiguity_are_not_guessed():
    names = {"a/8.jpg": (8, None), "a/16.jpg": (16, None), "a/0.jpg": (0, None)}
    wanted = {"a/8.jpg": {"1": 8.0, "2": 4.0, "4": 2.0}, "a/16.jpg": {"1": 16.0, "2": 8.0, "4": 4.0},
              "a/0.jpg": {"1": 0.0, "2": 0.0, "4": 0.0}}  # fmt: skip
    keys = ["1", "2", "4"]
    # Frame 8 fits only 1 fps, frame 16 only 4 fps: the video's key frames disagree.
    conflict = {"a/8.jpg": {"1": 0.01, "2": 0.4, "4": 0.5}, "a/16.jpg": {"1": 0.4, "2": 0.5, "4": 0.02},
                "a/0.jpg": {"1": 0.01, "2": 0.01, "4": 0.01}}  # fmt: skip
    result = _decide(names, wanted, conflict, keys, MATCH_THRESHOLD)
    assert result.status == "conflict" and result.rate is None
    assert result.frames["a/8.jpg"].time is None and result.frames["a/16.jpg"].status == "conflict"
    # A static stretch: 1 and 2 fps fit equally well → ambiguous, but frame 0 is 0 s at any rate.
    static = {"a/8.jpg": {"1": 0.02, "2": 0.021, "4": 0.5}, "a/16.jpg": {"1": 0.02, "2": 0.02, "4": 0.5},
              "a/0.jpg": {"1": 0.01, "2": 0.01, "4": 0.01}}  # fmt: skip
    result = _decide(names, wanted, static, keys, MATCH_THRESHOLD)
    assert result.status == "ambiguous" and result.rate is None
    assert result.frames["a/8.jpg"].status == "ambiguous" and result.frames["a/8.jpg"].time is None
    assert result.frames["a/0.jpg"].status == "matched" and result.frames["a/0.jpg"].time == 0.0
    # Both fit, one clearly closer → decided.
    clear = {**static, "a/8.jpg": {"1": 0.07, "2": 0.005, "4": 0.5}, "a/16.jpg": {"1": 0.06, "2": 0.004, "4": 0.5}}
    assert _decide(names, wanted, clear, keys, MATCH_THRESHOLD).rate == 2.0
    # Identical pictures at every rate (distance 0 everywhere) decide nothing.
    zero = {path: {"1": 0.0, "2": 0.0, "4": 0.0} for path in names}
    assert _decide(names, wanted, zero, keys, MATCH_THRESHOLD).rate is None


def test_image_distance_ignores_resolution_but_not_content():
    rng = np.random.default_rng(0)
    image = np.kron(rng.integers(0, 255, (8, 8, 3)), np.ones((8, 8, 1))).astype(np.uint8)
    larger = np.asarray(Image.fromarray(image).resize((128, 128), Image.Resampling.BICUBIC))
    other = np.kron(rng.integers(0, 255, (8, 8, 3)), np.ones((8, 8, 1))).astype(np.uint8)
    assert image_distance(image, larger) < 0.02 < MATCH_THRESHOLD < image_distance(image, other)


@pytest.mark.parametrize(
    ("boxes", "size", "status", "reading"),
    [
        ([[2, 2, 6, 6]], (192, 128), "decided", "pixels-xyxy"),  # on 0-1000 it is under a pixel wide
        ([[0.1, 0.2, 0.5, 0.6]], (192, 128), "decided", "normalized-xyxy"),
        ([[100, 200, 900, 950]], (192, 128), "decided", "per-mille-xyxy"),
        ([[500, 500, 200, 300]], (192, 128), "decided", "per-mille-cxcywh"),
        ([[40, 40, 60, 60]], (640, 480), "ambiguous", None),  # pixels and per-mille corners both fit
        ([[10, 10, 5, 5]], (64, 48), "decided", "pixels-cxcywh"),  # as corners it is inverted
        ([[-5, 0, 3000, 10]], (64, 48), "none_fit", None),
        ([], (64, 48), "no_boxes", None),
        ([[1, 2, 3, 4]], None, "no_image", None),
    ],
)
def test_box_reading_is_decided_per_row_from_the_image_size(boxes, size, status, reading):
    decided = decide_row_box_reading(boxes, size)
    assert (decided.status, decided.reading) == (status, reading), decided
    for fitting in decided.fitting:
        x1, y1, x2, y2 = reading_to_corners(boxes[0], fitting, *size)
        assert -0.5 <= x1 < x2 <= size[0] + 0.5 and -0.5 <= y1 < y2 <= size[1] + 0.5


def test_an_ambiguous_row_is_settled_only_by_its_videos_other_rows():
    small = [[40, 40, 60, 60]]  # on 640x480: corners and centre+size, as pixels or on 0-1000, all fit
    row = decide_row_box_reading(small, (640, 480))
    assert row.status == "ambiguous" and len(row.fitting) == 4
    settled = decide_video_box_reading(row, [small, [[100, 200, 900, 950]]], (640, 480))  # 900 px leaves a 640 px frame
    assert (settled.status, settled.reading, settled.basis) == ("decided", "per-mille-xyxy", "video")
    # Rows of the video that agree on nothing (or nothing fits) leave it ambiguous: not guessed.
    assert decide_video_box_reading(row, [small, [[100, 200, 900, 950]], [[600, 5, 601, 6]]], (640, 480)).status == "ambiguous"
    assert decide_video_box_reading(row, [small], (640, 480)) == row


def _prepare(capsys, *args: str) -> str:
    code = main(["data", "prepare", "--quiet", *args])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out


def _rows(out: Path, config: str) -> list[dict]:
    ds = datasets.load_dataset(str(out), config, split="train")
    return list(ds.cast_column("video", datasets.Video(decode=False)).cast_column("images", datasets.List(datasets.Image(decode=False))))


def test_prepare_train_video_recovers_times_and_cross_checks_the_given_fps(released, tmp_path, capsys):
    video_dir, image_dir = released
    out = tmp_path / "hub"
    printed = _prepare(capsys, "--config", "train_video", "--data-dir", str(video_dir), "--keyframes-dir",
                       str(image_dir), "--out", str(out), "--fps", "1")  # fmt: skip
    expected = key_frame_truth()
    rows = _rows(out, "train_video")
    assert len(rows) == 6
    seen = set()
    for row in rows:
        metadata = json.loads(row["metadata"])
        stem = Path(row["video_path"]).stem
        assert row["fps"] == VIDEOS[stem][1] and metadata["keyframes"]["rate"] == VIDEOS[stem][1]
        assert metadata["keyframes"]["declared_fps"] == 1.0
        for frame, trusted in zip(row["core_frames"], trusted_keyframe_times(row), strict=True):
            if frame["path"] == FOREIGN:
                assert frame["timestamp"] is None and trusted is None  # not the 9 s that --fps 1 would say
            else:
                assert frame["timestamp"] == pytest.approx(expected[frame["path"]]) and trusted == pytest.approx(frame["timestamp"])
            seen.add(frame["path"])
        labels = grounding_labels(row, "train_video")
        assert labels.keyframe_times == tuple(sorted(t for t in trusted_keyframe_times(row) if t is not None))
        assert labels.boxes == (("cup", pytest.approx((0.1, 0.2, 0.9, 0.95))),) and labels.box_reading == "per-mille-xyxy"
        assert metadata["boxes"] == {"status": "decided", "reading": "per-mille-xyxy", "fitting": ["per-mille-xyxy"],
                                     "image_size": [192, 128], "basis": "row"}  # fmt: skip
    assert seen == {*expected, FOREIGN}
    # Every number printed says what it counts; the --fps 1 guess is contradicted for the 2 and 4 fps videos.
    assert f"{len(expected)} of {len(expected) + 1} key frames matched" in printed and "1 unmatched" in printed
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "only `matched` times are ground truth" in card and "nothing is guessed" in card
    assert printed.count("warning:") == 2 and "--fps/--source-fps says 1 fps, its key-frame images say 2 fps" in printed


def test_prepare_multi_image_finds_the_videos_elsewhere(released, tmp_path, capsys):
    video_dir, image_dir = released
    out = tmp_path / "hub"
    _prepare(capsys, "--config", "train_multi_image", "--data-dir", str(image_dir), "--videos-dir", str(video_dir),
             "--out", str(out))  # fmt: skip
    expected = key_frame_truth()
    times = {frame["path"]: frame["timestamp"] for row in _rows(out, "train_multi_image") for frame in row["core_frames"]}
    assert times == {**expected, FOREIGN: None}


def test_without_images_rows_keep_no_recovered_times(released, tmp_path, capsys):
    video_dir, _ = released
    out = tmp_path / "hub"
    printed = _prepare(capsys, "--config", "train_video", "--data-dir", str(video_dir), "--out", str(out))
    assert "key-frame times: not recovered" in printed and "--keyframes-dir" in printed
    for row in _rows(out, "train_video"):
        assert all(frame["timestamp"] is None for frame in row["core_frames"])
        assert trusted_keyframe_times(row) == [None] * len(row["core_frames"])


def test_bench_rows_carry_no_times(bench_release, tmp_path, capsys):
    printed = _prepare(capsys, "--config", "bench", "--data-dir", str(bench_release), "--out", str(tmp_path / "hub"))
    assert "the test set ships no key-frame images" in printed


def test_keyframes_dir_must_exist(released, tmp_path, capsys):
    video_dir, _ = released
    code = main(["data", "prepare", "--quiet", "--config", "train_video", "--data-dir", str(video_dir),
                 "--keyframes-dir", str(tmp_path / "nope"), "--out", str(tmp_path / "hub")])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 2 and "--keyframes-dir" in captured.err and "Traceback" not in captured.err


def test_matching_can_be_switched_off(released, tmp_path, capsys):
    video_dir, image_dir = released
    out = tmp_path / "hub"
    printed = _prepare(capsys, "--config", "train_video", "--data-dir", str(video_dir), "--keyframes-dir", str(image_dir),
                       "--out", str(out), "--fps", "1", "--no-keyframe-matching")  # fmt: skip
    assert "key-frame times" not in printed
    rows = _rows(out, "train_video")
    foreign = next(frame for row in rows for frame in row["core_frames"] if frame["path"] == FOREIGN)
    assert foreign["timestamp"] == 9.0  # the --fps guess, kept as before, and not trusted:
    assert all("keyframes" not in json.loads(row["metadata"]) for row in rows)
    assert all(time is None for row in rows for time in trusted_keyframe_times(row))

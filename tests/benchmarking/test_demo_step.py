"""The demo's predict step runs predict → table against an endpoint, and says what it needs without one."""

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


def test_demo_predict_step_without_weights_says_how_to_enable(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty_cache"))
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty_cache"))
    needs = step_predict(DemoContext(workdir=tmp_path))
    assert "hf download Qwen/Qwen2.5-VL-7B-Instruct" in needs and "--base-url" in needs

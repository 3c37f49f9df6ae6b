"""The openai backend against the loopback OpenAI-compatible server: frames as images, cache, failures."""

from __future__ import annotations

import json

from doubles.openai_server import OpenAICompatibleServer, request_images, request_text
from doubles.predict_bench import PREDICT_ITEMS, read_jsonl

from videoespresso_hf.cli.main import main
from videoespresso_hf.evaluation.scorer import score_file


def _predict(bench, server, output, *extra):
    return main(["predict", "--data", str(bench), "--backend", "openai", "--model", "gpt-4o-2024-08-06",
                 "--base-url", server.base_url, "--output", str(output), "--frames", "uniform:3", "--no-progress",
                 *extra])  # fmt: skip


def test_frames_go_as_images_and_a_rerun_is_free(prepared_bench, tmp_path, capsys):
    with OpenAICompatibleServer() as server:
        output = tmp_path / "gpt.jsonl"
        assert _predict(prepared_bench, server, output) == 0
        assert server.count("POST /v1/chat/completions") == len(PREDICT_ITEMS)
        request = server.chat_requests[0]
        assert len(request_images(request)) == 3  # uniform:3, images before the prompt text
        assert request["messages"][0]["content"][0]["type"] == "image_url"
        assert request_text(request).startswith("Please finish the Causal Analysis task.")
        assert request["temperature"] == 0.0  # greedy by default
        printed = capsys.readouterr().out
        assert "cost:        $0.00" in printed and "tokens:" in printed and "Narrative Analysis" in printed
        records = read_jsonl(output)
        # The loopback VLM captions frames by colour: the answer really came from the images.
        assert records[0]["model_output"].startswith("a solid ")
        assert score_file(output, "robust")["overall"]["n"] == len(PREDICT_ITEMS)
        # Same requests into a fresh file: answered from the cache (OUTPUT.llm.sqlite is per output, so share it).
        again = tmp_path / "again.jsonl"
        assert _predict(prepared_bench, server, again, "--cache", str(tmp_path / "gpt.jsonl.llm.sqlite")) == 0
        assert server.count("POST /v1/chat/completions") == len(PREDICT_ITEMS)
        assert [r["model_output"] for r in read_jsonl(again)] == [r["model_output"] for r in records]


def test_official_sampling_sends_temperature_and_seed(prepared_bench, tmp_path):
    with OpenAICompatibleServer() as server:
        output = tmp_path / "sampled.jsonl"
        assert _predict(prepared_bench, server, output, "--official-sampling", "--seed", "7", "--limit", "1") == 0
        assert (server.chat_requests[0]["temperature"], server.chat_requests[0]["seed"]) == (0.8, 7)
    generation = json.loads(output.with_name("sampled.jsonl.meta.json").read_text())["identity"]["generation"]
    assert generation == {"max_new_tokens": 32, "do_sample": True, "temperature": 0.8, "seed": 7}


def test_endpoint_error_is_a_failure_record_counted_unanswered(prepared_bench, tmp_path, capsys):
    with OpenAICompatibleServer() as server:
        server.inject("400", times=1)  # the endpoint rejects the first request for good
        output = tmp_path / "errors.jsonl"
        assert _predict(prepared_bench, server, output, "--limit", "3", "--concurrency", "1") == 1
    records = read_jsonl(output)
    assert len(records) == 3
    failed = [r for r in records if r["model_output"] is None]
    assert len(failed) == 1 and failed[0]["error"].startswith("endpoint error: ")
    assert "failures:    1  (endpoint error: 1)" in capsys.readouterr().out
    assert score_file(output, "robust")["overall"]["unanswered"] >= 1


def test_the_sidecar_stores_the_endpoint_without_its_credentials(prepared_bench, tmp_path):
    """A --base-url carrying credentials (user-info, a query key) reaches the server, but the .meta.json sidecar
    and the predictions keep only where requests went."""
    with OpenAICompatibleServer() as server:
        output = tmp_path / "gpt.jsonl"
        secret_url = server.base_url.replace("http://", "http://someone:hunter2-pw@")
        assert main(["predict", "--data", str(prepared_bench), "--backend", "openai", "--model", "gpt-4o-2024-08-06",
                     "--base-url", secret_url, "--output", str(output), "--frames", "uniform:1", "--limit", "1",
                     "--no-progress"]) == 0  # fmt: skip
        assert server.count("POST /v1/chat/completions") == 1
    written = "".join(path.read_text(errors="replace") for path in tmp_path.glob("gpt.jsonl*") if path.is_file()
                      and not path.name.endswith(".sqlite"))  # fmt: skip
    assert "hunter2" not in written
    assert "***@" in (tmp_path / "gpt.jsonl.meta.json").read_text()


def test_an_endpoint_that_refuses_every_request_is_one_line(prepared_bench, tmp_path, capsys):
    """A wrong --base-url path (404 on every request) is a fatal endpoint error: exit 2 with one line, no traceback."""
    with OpenAICompatibleServer() as server:
        code = main(["predict", "--data", str(prepared_bench), "--backend", "openai", "--model", "gpt-4o-2024-08-06",
                     "--base-url", server.base_url + "/wrong", "--output", str(tmp_path / "p.jsonl"),
                     "--frames", "uniform:1", "--limit", "1", "--no-progress"])  # fmt: skip
    assert code == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "endpoint refused the run" in error[0] and "Traceback" not in error[0]

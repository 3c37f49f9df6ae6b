"""Batch mode (OpenAI Batch API) against the loopback server: submit, poll, collect, resume."""

from __future__ import annotations

import json

import openai
import pytest

from videoespresso_hf.llm import BatchRunner, BudgetExceededError, LLMClient

from ._helpers import COLOURS, caption_request


def test_batch_submit_poll_collect(server, make_config):
    server.batch_polls_before_done = 2
    client = LLMClient(make_config())
    requests = [caption_request(colour) for colour in COLOURS[:5]]

    results = BatchRunner(client).run(requests)

    assert [r.parsed.caption for r in results] == [f"a solid {c} frame" for c in COLOURS[:5]]
    assert server.count("POST /v1/files") == 1 and server.count("POST /v1/batches") == 1
    assert server.count("GET /v1/batches/{batch_id}") == 3  # two in_progress answers, then completed
    assert server.count("POST /v1/chat/completions") == 0 and server.count("batch line") == 5
    # The uploaded JSONL has the Batch API shape, with the cache key as custom_id.
    [upload] = [f for f in server.files.values() if f["purpose"] == "batch"]
    lines = [json.loads(line) for line in upload["content"].decode().splitlines()]
    assert [line["custom_id"] for line in lines] == [r.key for r in results]
    assert {line["url"] for line in lines} == {"/v1/chat/completions"} and lines[0]["method"] == "POST"
    assert lines[0]["body"]["response_format"]["type"] == "json_schema"
    # Billed at half the standard price.
    summary = client.ledger.summary()["caption"]
    full_price = client.config.cost_usd(summary.input_tokens, summary.output_tokens)
    assert summary.cost_usd == pytest.approx(full_price / 2)
    assert BatchRunner(client).in_flight() == []


def test_batch_results_fill_the_cache_for_the_sync_client(server, make_config):
    requests = [caption_request(colour) for colour in COLOURS[:3]]
    BatchRunner(LLMClient(make_config())).run(requests)
    again = LLMClient(make_config()).map(requests)
    assert all(r.cached for r in again) and server.count("POST /v1/chat/completions") == 0


def test_batch_resumes_after_kill_without_a_second_batch(server, make_config):
    server.batch_polls_before_done = 3
    requests = [caption_request(colour) for colour in COLOURS[:4]]
    first = BatchRunner(LLMClient(make_config()), max_wait_s=0.0)
    with pytest.raises(TimeoutError, match="run again"):
        first.run(requests)  # submitted, then "killed" while the batch is in progress
    assert server.count("POST /v1/batches") == 1
    del first

    resumed_client = LLMClient(make_config())
    runner = BatchRunner(resumed_client)
    assert len(runner.in_flight()) == 1
    results = runner.run(requests)

    assert all(r.ok for r in results) and results[2].parsed.caption == "a solid blue frame"
    assert server.count("POST /v1/batches") == 1 and server.count("POST /v1/files") == 1
    assert server.count("batch line") == 4
    assert runner.in_flight() == []


def test_batch_bad_answers_are_resubmitted_then_recorded(server, make_config):
    requests = [caption_request(colour) for colour in COLOURS[:4]]
    green = lambda request: "(green test)" in str(request["messages"])  # noqa: E731
    red = lambda request: "(red test)" in str(request["messages"])  # noqa: E731
    server.inject("schema_violation", times=1, when=green)  # fixed by the second round
    server.inject("malformed_json", times=10, when=red)  # never fixed
    client = LLMClient(make_config(max_parse_attempts=2))

    results = BatchRunner(client).run(requests)

    assert [r.ok for r in results] == [False, True, True, True]
    assert results[0].error.startswith("malformed JSON")
    assert results[1].parsed.caption == "a solid green frame"
    assert server.count("POST /v1/batches") == 2  # the second round carried only red and green
    assert server.count("batch line") == 4 + 2
    assert [entry.key for entry in client.cache.failures()] == [results[0].key]


def test_batch_error_lines_are_failures_and_retried(server, make_config):
    server.inject("500", times=1)
    client = LLMClient(make_config(max_parse_attempts=2))
    results = BatchRunner(client).run([caption_request("red"), caption_request("blue")])
    assert all(r.ok for r in results)
    assert server.count("POST /v1/batches") == 2


def test_batch_respects_the_budget_before_submitting(server, make_config):
    client = LLMClient(make_config(model="gpt-4o", budget_usd=1e-6))
    with pytest.raises(BudgetExceededError):
        BatchRunner(client).run([caption_request("red")])
    assert server.count("POST /v1/files") == 0 and server.count("POST /v1/batches") == 0
    assert client.ledger.spent_usd() == 0 and client.ledger.paid_calls() == 0


def test_lost_create_response_is_found_again_not_resubmitted(server, make_config):
    server.inject("timeout", route="POST /v1/batches")  # the batch is created, the answer never arrives
    client = LLMClient(make_config())
    results = BatchRunner(client).run([caption_request(colour) for colour in COLOURS[:3]])
    assert all(r.ok for r in results)
    assert len(server.batches) == 1 and server.count("batch line") == 3
    assert server.count("GET /v1/batches") == 2  # looked before creating, and again before retrying


def test_kill_between_create_and_recording_the_id_reattaches(server, make_config):
    requests = [caption_request(colour) for colour in COLOURS[:3]]
    server.inject("timeout", route="POST /v1/batches")
    with pytest.raises(openai.APITimeoutError):  # no retries left: the run dies right after creating
        BatchRunner(LLMClient(make_config(max_retries=0))).run(requests)
    assert len(server.batches) == 1

    results = BatchRunner(LLMClient(make_config())).run(requests)
    assert [r.parsed.caption for r in results] == [f"a solid {c} frame" for c in COLOURS[:3]]
    assert len(server.batches) == 1 and server.count("POST /v1/batches") == 1
    assert server.count("POST /v1/files") == 1


def test_a_crash_while_collecting_records_nothing_twice(server, make_config, monkeypatch):
    requests = [caption_request(colour) for colour in COLOURS[:3]]
    client = LLMClient(make_config())
    put_ok = client.cache.put_ok
    calls = []

    def dies_on_the_second_answer(*args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            raise KeyboardInterrupt  # stands in for a kill half-way through the output file
        put_ok(*args, **kwargs)

    monkeypatch.setattr(client.cache, "put_ok", dies_on_the_second_answer)
    with pytest.raises(KeyboardInterrupt):
        BatchRunner(client).run(requests)
    assert client.ledger.paid_calls() == 0 and client.cache.counts() == {}  # rolled back as a whole

    resumed = LLMClient(make_config())
    results = BatchRunner(resumed).run(requests)
    assert all(r.ok for r in results) and server.count("POST /v1/batches") == 1
    assert resumed.ledger.paid_calls() == 3  # each answer billed once


def test_a_malformed_output_line_fails_its_request_only(server, make_config, monkeypatch):
    requests = [caption_request(colour) for colour in COLOURS[:2]]
    run_batch = server._run_batch

    def corrupt_first_line(batch):
        run_batch(batch)
        record = server.files[batch["output_file_id"]]
        record["content"] = b"{not json\n" + record["content"].split(b"\n", 1)[1]

    monkeypatch.setattr(server, "_run_batch", corrupt_first_line)
    results = BatchRunner(LLMClient(make_config(max_parse_attempts=1))).run(requests)
    assert [r.ok for r in results] == [False, True]
    assert "without a result" in results[0].error


def test_recorded_failures_are_not_resubmitted_when_retry_failures_is_off(server, make_config):
    server.inject("malformed_json", times=1)
    requests = [caption_request("red"), caption_request("blue")]
    first = BatchRunner(LLMClient(make_config(max_parse_attempts=1))).run(requests)
    assert [r.ok for r in first] == [False, True]

    again = BatchRunner(LLMClient(make_config(retry_failures=False))).run(requests)
    assert [r.ok for r in again] == [False, True] and again[0].error.startswith("malformed JSON")
    assert server.count("POST /v1/batches") == 1 and server.count("batch line") == 2

    retried = BatchRunner(LLMClient(make_config())).run(requests)
    assert all(r.ok for r in retried) and server.count("batch line") == 3

"""LLMClient against a real loopback HTTP server speaking the OpenAI chat-completions API."""

from __future__ import annotations

import json
import logging
import math

import openai
import pytest
from doubles.openai_server import OpenAICompatibleServer, count_prompt_tokens

from videoespresso_hf.llm import (
    BudgetExceededError,
    LLMClient,
    LLMRequest,
    ResponseCache,
    estimate_input_tokens,
    user_message,
)
from videoespresso_hf.llm.request import response_format_for

from ._helpers import COLOURS, Caption, caption_request, solid_frame

CHAT = "POST /v1/chat/completions"


def test_structured_output_round_trip_captions_from_image_content(server, make_config):
    client = LLMClient(make_config())
    result = client.run(caption_request("blue"))

    assert result.ok and not result.cached
    assert isinstance(result.parsed, Caption)
    assert result.parsed.caption == "a solid blue frame"
    # The strict JSON schema travelled to the server with the image as a data URL.
    sent = server.chat_requests[0]
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["schema"]["required"] == ["caption", "objects"]
    assert sent["messages"][0]["content"][1]["image_url"]["url"].startswith("data:image/jpeg;base64,")
    assert sent["temperature"] == 0.0
    # Usage is what the server billed, and the ledger priced it.
    assert result.usage.input_tokens == count_prompt_tokens(sent) and result.usage.output_tokens > 0
    assert result.cost_usd == pytest.approx(
        (result.usage.input_tokens * 0.15 + result.usage.output_tokens * 0.60) / 1e6
    )


def test_plain_text_completion_and_params_override(server, make_config):
    client = LLMClient(make_config())
    result = client.complete([user_message("hello there")], prompt_version="p1", max_tokens=7, seed=3)
    assert result.text == "echo: hello there" and result.parsed is None
    assert server.chat_requests[0]["max_tokens"] == 7 and server.chat_requests[0]["seed"] == 3


def test_rerun_is_served_from_the_sqlite_cache_with_zero_requests(server, make_config):
    requests = [caption_request(colour) for colour in COLOURS[:5]]
    first = LLMClient(make_config()).map(requests)
    assert server.count(CHAT) == 5

    second_client = LLMClient(make_config())  # a new process would open the same file the same way
    second = second_client.map(requests)

    assert server.count(CHAT) == 5  # nothing was asked twice
    assert all(result.cached and result.cost_usd == 0 for result in second)
    assert [r.parsed for r in second] == [r.parsed for r in first]
    summary = second_client.ledger.summary()["caption"]
    assert summary.calls == 10 and summary.cached_calls == 5


def test_prompt_version_is_part_of_the_cache_key(server, make_config):
    client = LLMClient(make_config())
    client.run(caption_request("red", prompt_version="v1"))
    client.run(caption_request("red", prompt_version="v2"))
    client.run(caption_request("red", prompt_version="v1"))
    assert server.count(CHAT) == 2


@pytest.mark.parametrize(
    "faults", [["429", "429"], ["500"], ["timeout"], ["malformed_body"], ["429", "500", "timeout"]]
)
def test_transient_faults_are_retried_then_succeed(server, make_config, faults):
    server.inject_sequence(faults)
    client = LLMClient(make_config())
    result = client.run(caption_request("green"))

    assert result.ok and result.parsed.caption == "a solid green frame"
    assert result.attempts == len(faults) + 1
    assert server.count(CHAT) == len(faults) + 1
    assert server.pending_faults() == 0


def test_retries_exhausted_is_a_recorded_failure_not_an_exception(server, make_config):
    server.inject("500", times=10)
    client = LLMClient(make_config(max_retries=2))
    result = client.run(caption_request("red"))

    assert not result.ok and "InternalServerError" in result.error
    assert server.count(CHAT) == 3
    [failure] = client.cache.failures()
    assert failure.key == result.key and failure.attempts == 3


def test_retry_after_header_sets_the_wait(make_config):
    slept: list[float] = []
    with OpenAICompatibleServer(retry_after_s=0.2) as server:
        server.inject("429", times=2)
        client = LLMClient(make_config(base_url=server.base_url, backoff_max_s=5.0), sleep=slept.append)
        assert client.run(caption_request("red")).ok
    assert slept == [0.2, 0.2]


def test_malformed_and_schema_violating_answers_are_retried_then_recorded(server, make_config):
    server.inject("malformed_json", times=1)
    server.inject("schema_violation", times=1)
    client = LLMClient(make_config(max_parse_attempts=3))
    assert client.run(caption_request("cyan")).parsed.caption == "a solid cyan frame"
    assert server.count(CHAT) == 3

    server.inject("malformed_json", times=5)
    failed = client.run(caption_request("purple"))
    assert failed.error.startswith("malformed JSON") and failed.text == '{"caption": "a solid'
    assert failed.parsed is None and failed.attempts == 3
    [entry] = client.cache.failures()
    assert entry.key == failed.key and entry.error == failed.error
    # Every paid attempt is in the ledger, the bad ones marked failed.
    assert client.ledger.summary()["caption"].failed_calls == 2 + 3
    # The result accounts for all three paid attempts.
    assert failed.usage.input_tokens == 3 * count_prompt_tokens(server.chat_requests[-1])
    assert failed.cost_usd == pytest.approx(
        client.config.cost_usd(failed.usage.input_tokens, failed.usage.output_tokens)
    )


def test_map_records_failures_and_a_rerun_retries_only_them(server, make_config):
    requests = [caption_request(colour) for colour in COLOURS[:6]]
    server.inject(
        "schema_violation", times=3, when=lambda request: "(purple test)" in str(request["messages"])
    )
    client = LLMClient(make_config(max_parse_attempts=3))
    results = client.map(requests)

    assert len(results) == 6
    assert [r.ok for r in results] == [True, True, True, True, True, False]  # purple is last of the six
    assert server.count(CHAT) == 5 + 3

    keep_failures = LLMClient(make_config(retry_failures=False)).map(requests)
    assert server.count(CHAT) == 8 and keep_failures[5].error == results[5].error  # nothing paid again

    rerun = LLMClient(make_config()).map(requests)
    assert server.count(CHAT) == 8 + 1  # only the failure was asked again
    assert all(r.ok for r in rerun) and rerun[5].parsed.caption == "a solid purple frame"
    assert ResponseCache(make_config().cache_path).counts() == {"ok": 6}


def test_map_preserves_order_under_concurrency_and_deduplicates(make_config):
    with OpenAICompatibleServer(latency_s=0.02) as server:
        colours = COLOURS * 2  # each request twice
        client = LLMClient(make_config(base_url=server.base_url, max_concurrency=8))
        seen: list[int] = []
        results = client.map(
            [caption_request(c) for c in colours], progress=lambda done, total: seen.append(total)
        )

        assert [r.parsed.caption for r in results] == [f"a solid {c} frame" for c in colours]
        assert server.count(CHAT) == len(COLOURS)
        assert len(seen) == len(COLOURS) and seen[-1] == len(COLOURS)


@pytest.mark.parametrize("concurrency", [1, 4])
def test_budget_cap_stops_before_overspending(server, make_config, concurrency):
    config = make_config(model="gpt-4o", max_tokens=20, budget_usd=0.0012, max_concurrency=concurrency)
    client = LLMClient(config)
    requests = [caption_request(colour) for colour in COLOURS[:8]]
    per_call_estimate = client.estimate(
        requests[:1]
    ).cost_usd  # ~100 input + 20 output tokens at gpt-4o prices
    assert per_call_estimate > 0

    with pytest.raises(BudgetExceededError, match="budget"):
        client.map(requests)

    spent = client.ledger.spent_usd()
    assert 0 < server.count(CHAT) < len(requests)
    assert spent <= config.budget_usd  # never over the cap ...
    if concurrency == 1:  # (calls in flight also hold part of the budget, so this is exact only when serial)
        assert spent + per_call_estimate > config.budget_usd  # ... and it stopped only when the next could be
    # Paid answers were kept: resuming with a larger budget pays only for the rest.
    paid_before = server.count(CHAT)
    resumed = LLMClient(make_config(model="gpt-4o", max_tokens=20, budget_usd=1.0)).map(requests)
    assert server.count(CHAT) == len(requests)
    assert sum(result.cached for result in resumed) == paid_before


def test_budget_requires_a_known_price(make_config):
    with pytest.raises(ValueError, match="no price"):
        LLMClient(make_config(model="my-local-model", budget_usd=1.0))
    priced = LLMClient(make_config(model="my-local-model", budget_usd=1.0, prices={"my-local": (1.0, 2.0)}))
    assert priced.config.price_per_1m() == (1.0, 2.0)


def test_dry_run_estimate_sends_nothing_and_skips_cached(server, make_config):
    client = LLMClient(make_config(model="gpt-4o"))
    requests = [caption_request(colour) for colour in COLOURS[:4]]
    client.run(requests[0])
    before = server.count()

    estimate = client.estimate(requests)

    assert server.count() == before
    assert estimate.requests == 4 and estimate.cached == 1
    assert estimate.output_tokens == 3 * 256
    # Per request: one low-detail image (85) + text + message framing, plus the schema as text.
    schema_tokens = math.ceil(len(json.dumps(response_format_for(Caption))) / 4)
    expected = sum(estimate_input_tokens(r.messages) + schema_tokens for r in requests[1:])
    assert estimate.input_tokens == expected
    assert all(85 < estimate_input_tokens(r.messages) < 120 for r in requests)
    assert estimate.cost_usd == pytest.approx(
        (estimate.input_tokens * 2.5 + estimate.output_tokens * 10) / 1e6
    )
    assert estimate.batch_cost_usd == pytest.approx(estimate.cost_usd / 2)


def test_api_key_is_sent_but_never_stored_or_logged(monkeypatch, make_config, caplog):
    secret = "sk-test-SECRET-0123456789abcdef"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    caplog.set_level(logging.DEBUG)
    with OpenAICompatibleServer(api_key=secret, timeout_sleep_s=1.5) as server:
        config = make_config(base_url=server.base_url)
        client = LLMClient(config)
        server.inject_sequence(["429", "malformed_json", "timeout"])
        assert client.run(caption_request("red")).ok
        assert server.authorization_headers == {f"Bearer {secret}"}
        client.close()

    assert secret not in config.model_dump_json() and secret not in repr(client)
    for path in config.cache_path.parent.iterdir():  # the db and its WAL/SHM files
        assert secret.encode() not in path.read_bytes(), path
    assert secret not in caplog.text
    assert "retry" in caplog.text  # the logs were really captured


def test_wrong_key_is_a_clear_fatal_error(monkeypatch, make_config):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong")
    with OpenAICompatibleServer(api_key="sk-right") as server:
        client = LLMClient(make_config(base_url=server.base_url))
        with pytest.raises(openai.AuthenticationError):
            client.map([caption_request("red"), caption_request("blue")])


def test_remote_endpoint_without_key_fails_clearly_but_estimates(monkeypatch, tmp_path):
    from videoespresso_hf.llm import LLMConfig, MissingAPIKeyError

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    client = LLMClient(LLMConfig(base_url="https://api.example.com/v1", cache_path=tmp_path / "c.sqlite"))
    assert client.estimate([caption_request("red")]).requests == 1
    with pytest.raises(MissingAPIKeyError, match="OPENAI_API_KEY"):
        client.run(caption_request("red"))


def test_images_are_sent_in_order_as_data_urls(server, make_config):
    client = LLMClient(make_config())
    request = LLMRequest([user_message("two frames", [solid_frame("red"), solid_frame("yellow")])], "v1")
    assert client.run(request).text == "a solid red frame; a solid yellow frame"


def test_a_rejected_request_is_recorded_without_retrying(server, make_config):
    server.inject("400")
    client = LLMClient(make_config())
    results = client.map([caption_request("red"), caption_request("blue")])
    failed = next(result for result in results if not result.ok)
    assert failed.error.startswith("BadRequestError") and failed.attempts == 1
    assert server.count(CHAT) == 2 and sum(result.ok for result in results) == 1


def test_reasoning_models_get_max_completion_tokens_and_no_temperature(server, make_config):
    LLMClient(make_config(model="o4-mini", max_tokens=50)).complete([user_message("q")], prompt_version="v1")
    LLMClient(make_config(model="gpt-4o", max_tokens=50)).complete([user_message("q")], prompt_version="v1")
    reasoning, chat = server.chat_requests
    assert "temperature" not in reasoning and reasoning["max_completion_tokens"] == 50
    assert chat["temperature"] == 0.0 and chat["max_tokens"] == 50

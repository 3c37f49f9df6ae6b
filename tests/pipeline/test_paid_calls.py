"""Only requests the endpoint answered are counted (and shown) as paid calls."""

from __future__ import annotations

from doubles.openai_server import OpenAICompatibleServer

from videoespresso_hf.llm import LLMClient, LLMConfig, user_message
from videoespresso_hf.pipeline.stages.base import StageUsage


def test_only_answered_requests_count_as_paid(tmp_path):
    with OpenAICompatibleServer() as server:
        config = LLMConfig(
            model="gpt-4o-mini", base_url=server.base_url, max_retries=1, backoff_base_s=0.0,
            max_parse_attempts=1, cache_path=tmp_path / "llm.sqlite",
        )  # fmt: skip
        client = LLMClient(config)
        server.inject_sequence(["500", "500", "400"])
        unanswered = [client.complete([user_message(text)], prompt_version="v1") for text in ("a", "b")]
        answered = client.complete([user_message("c")], prompt_version="v1")
    assert [result.error_kind for result in unanswered] == ["transient", "permanent"] and answered.ok
    usage = StageUsage()
    usage.add_llm_results([*unanswered, answered])
    assert usage.llm_calls == 1 and usage.cost_usd == answered.cost_usd > 0
    assert usage.counters["http_attempts"] == 2 + 1 + 1  # every attempt is still counted as one

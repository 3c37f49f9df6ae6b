"""Fixtures for the LLM client tests: a loopback OpenAI-compatible server and a config factory."""

from __future__ import annotations

import pytest
from doubles.openai_server import OpenAICompatibleServer

from videoespresso_hf.llm import LLMConfig


@pytest.fixture
def server():
    # timeout_sleep_s is well above the clients' timeout_s below, so "timeout" faults really time out.
    with OpenAICompatibleServer(timeout_sleep_s=1.5) as running:
        yield running


@pytest.fixture
def make_config(tmp_path, server):
    def make(**overrides) -> LLMConfig:
        values = dict(
            model="gpt-4o-mini",
            base_url=server.base_url,
            timeout_s=0.5,
            backoff_base_s=0.01,
            backoff_max_s=0.05,
            max_retries=4,
            max_concurrency=4,
            cache_path=tmp_path / "llm.sqlite",
            batch_poll_interval_s=0.0,
        )
        values.update(overrides)
        return LLMConfig(**values)

    return make

"""A run killed with SIGKILL mid-way resumes to the same output without paying twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

from doubles.openai_server import OpenAICompatibleServer

from videoespresso_hf.llm import LLMClient, LLMConfig, ResponseCache

from ._helpers import COLOURS, caption_request

CHAT = "POST /v1/chat/completions"

CHILD = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests_dir!r})
    from llm._helpers import COLOURS, caption_request
    from videoespresso_hf.llm import LLMClient, LLMConfig

    config = LLMConfig(model="gpt-4o-mini", base_url={base_url!r}, cache_path={cache_path!r}, max_concurrency=1)
    LLMClient(config).map([caption_request(colour) for colour in COLOURS])
    """
)


def test_sigkill_then_resume_gives_the_same_output_with_no_repeated_paid_calls(tmp_path):
    cache_path = tmp_path / "run.sqlite"
    with OpenAICompatibleServer(latency_s=0.15) as server:
        script = CHILD.format(
            tests_dir=os.path.dirname(os.path.dirname(__file__)),
            base_url=server.base_url,
            cache_path=str(cache_path),
        )
        env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
        child = subprocess.Popen([sys.executable, "-c", script], env=env, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while server.count(CHAT) < 4 and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert child.returncode == -signal.SIGKILL, child.stderr.read().decode()[-2000:]

        paid_before_kill = server.count(CHAT)
        finished = ResponseCache(cache_path).counts().get("ok", 0)
        assert 3 <= finished < len(COLOURS)
        # At most the one request in flight at the kill was paid without being recorded.
        assert paid_before_kill - finished <= 1

        requests = [caption_request(colour) for colour in COLOURS]
        resumed = LLMClient(
            LLMConfig(model="gpt-4o-mini", base_url=server.base_url, cache_path=cache_path)
        ).map(requests)

        assert server.count(CHAT) - paid_before_kill == len(COLOURS) - finished  # finished work is not redone
        assert sum(result.cached for result in resumed) == finished

    with OpenAICompatibleServer() as fresh_server:
        reference = LLMClient(
            LLMConfig(model="gpt-4o-mini", base_url=fresh_server.base_url, cache_path=tmp_path / "ref.sqlite")
        ).map(requests)
    assert [r.text for r in resumed] == [r.text for r in reference]
    assert [r.parsed.caption for r in resumed] == [f"a solid {colour} frame" for colour in COLOURS]

"""Throughput of the LLM stage: ``LLMClient.map`` at concurrency 1 (the sequential reference) vs 16.

Runs the loopback OpenAI-compatible server with a fixed per-request latency (default 50 ms, standing in
for a remote model), sends the same N caption requests (one solid-colour frame each, structured
output) through fresh caches at both concurrencies in one run, checks both produce identical answers
and prints requests/second and the ratio. A third pass re-runs the concurrent case on its warm cache
to show that a re-run makes no HTTP calls.

Usage::

    python benchmarks/llm_concurrency.py                     # 64 requests, 50 ms latency, ~20 s
    python benchmarks/llm_concurrency.py --requests 128 --latency-ms 200 --concurrency 32
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from videoespresso_hf.llm import LLMClient, LLMConfig, LLMRequest, user_message
from videoespresso_hf.testing.openai_server import OpenAICompatibleServer


class Caption(BaseModel):
    caption: str


def make_requests(n: int) -> list[LLMRequest]:
    rng = np.random.default_rng(0)
    requests = []
    for i in range(n):
        frame = np.empty((32, 32, 3), dtype=np.uint8)
        frame[:] = rng.integers(0, 256, size=3)
        requests.append(
            LLMRequest([user_message(f"Caption frame {i}.", [frame])], "bench-v1", "caption", Caption)
        )
    return requests


def timed_map(server: OpenAICompatibleServer, cache_path: Path, requests: list[LLMRequest], concurrency: int):
    client = LLMClient(
        LLMConfig(
            model="gpt-4o-mini", base_url=server.base_url, cache_path=cache_path, max_concurrency=concurrency
        )
    )
    client.map(requests[:0])  # warm-up outside the timing: SDK/transport set-up happens once per process
    before = server.count("POST /v1/chat/completions")
    start = time.perf_counter()
    results = client.map(requests)
    elapsed = time.perf_counter() - start
    client.close()
    assert all(result.ok for result in results), [r.error for r in results if not r.ok][:3]
    return elapsed, results, server.count("POST /v1/chat/completions") - before


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=64)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3, help="best of N, each on a fresh cache")
    args = parser.parse_args()

    requests = make_requests(args.requests)
    with (
        tempfile.TemporaryDirectory() as tmp,
        OpenAICompatibleServer(latency_s=args.latency_ms / 1000) as server,
    ):
        tmp_dir = Path(tmp)

        def best(concurrency: int):
            runs = []
            for i in range(args.repeats):
                path = tmp_dir / f"c{concurrency}-{i}.sqlite"
                runs.append((*timed_map(server, path, requests, concurrency), path))
            return min(runs, key=lambda run: run[0])

        seq_s, seq_results, seq_calls, _ = best(1)
        par_s, par_results, par_calls, par_path = best(args.concurrency)
        warm_s, _, warm_calls = timed_map(server, par_path, requests, args.concurrency)

    assert [r.text for r in seq_results] == [r.text for r in par_results], "answers differ between runs"
    n = args.requests
    print(f"{n} requests, server latency {args.latency_ms:.0f} ms, best of {args.repeats}")
    print(f"  concurrency 1 (reference): {seq_s:7.2f} s  {n / seq_s:8.1f} req/s  ({seq_calls} HTTP calls)")
    print(
        f"  concurrency {args.concurrency:<2}           : {par_s:7.2f} s  {n / par_s:8.1f} req/s  ({par_calls} HTTP calls)"
    )
    print(
        f"  re-run on warm cache      : {warm_s:7.2f} s  {n / warm_s:8.1f} req/s  ({warm_calls} HTTP calls)"
    )
    print(
        f"throughput ratio concurrency {args.concurrency} / 1: {seq_s / par_s:.1f}x "
        f"(ideal {min(args.concurrency, n)}x at pure latency)"
    )


if __name__ == "__main__":
    main()

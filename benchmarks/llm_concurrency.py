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
import contextlib
import multiprocessing as mp
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from videoespresso_hf.llm import LLMClient, LLMConfig, LLMRequest, user_message

# The loopback server is a test double: it lives under tests/ and does not ship in the wheel.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from doubles.openai_server import OpenAICompatibleServer


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


def _serve(latency_s: float, urls: mp.Queue, stop: mp.Event) -> None:
    with OpenAICompatibleServer(latency_s=latency_s) as server:
        urls.put(server.base_url)
        stop.wait()


@contextlib.contextmanager
def server_process(latency_s: float):
    """The loopback server in its own process, so its CPU work does not share the client's GIL."""
    ctx = mp.get_context("spawn")
    urls, stop = ctx.Queue(), ctx.Event()
    process = ctx.Process(target=_serve, args=(latency_s, urls, stop), daemon=True)
    process.start()
    try:
        yield urls.get(timeout=60)
    finally:
        stop.set()
        process.join(timeout=10)


def timed_map(base_url: str, cache_path: Path, requests: list[LLMRequest], concurrency: int):
    config = LLMConfig(
        model="gpt-4o-mini", base_url=base_url, cache_path=cache_path, max_concurrency=concurrency
    )
    client = LLMClient(config)
    client.map(requests[:0])  # warm-up outside the timing: SDK/transport set-up happens once per process
    start = time.perf_counter()
    results = client.map(requests)
    elapsed = time.perf_counter() - start
    assert all(result.ok for result in results), [r.error for r in results if not r.ok][:3]
    # Every HTTP call here succeeded first time (no faults injected), so paid calls = HTTP calls.
    http_calls = sum(not result.cached for result in results)
    client.close()
    return elapsed, results, http_calls


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
    with tempfile.TemporaryDirectory() as tmp, server_process(args.latency_ms / 1000) as base_url:
        tmp_dir = Path(tmp)

        def best(concurrency: int):
            runs = []
            for i in range(args.repeats):
                path = tmp_dir / f"c{concurrency}-{i}.sqlite"
                runs.append((*timed_map(base_url, path, requests, concurrency), path))
            return min(runs, key=lambda run: run[0])

        seq_s, seq_results, seq_calls, _ = best(1)
        par_s, par_results, par_calls, par_path = best(args.concurrency)
        warm_s, _, warm_calls = timed_map(base_url, par_path, requests, args.concurrency)

    assert [r.text for r in seq_results] == [r.text for r in par_results], "answers differ between runs"
    n, c = args.requests, args.concurrency
    print(
        f"{n} requests, server latency {args.latency_ms:.0f} ms (server in its own process), best of {args.repeats}"
    )
    print(f"  concurrency 1 (reference): {seq_s:7.2f} s  {n / seq_s:8.1f} req/s  ({seq_calls} HTTP calls)")
    print(
        f"  concurrency {c:<2}           : {par_s:7.2f} s  {n / par_s:8.1f} req/s  ({par_calls} HTTP calls)"
    )
    print(
        f"  re-run on warm cache      : {warm_s:7.2f} s  {n / warm_s:8.1f} req/s  ({warm_calls} HTTP calls)"
    )
    print(f"throughput ratio concurrency {c} / 1: {seq_s / par_s:.1f}x (ideal {min(c, n)}x at pure latency)")


if __name__ == "__main__":
    main()

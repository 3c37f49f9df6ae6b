"""The build summary shows every fault the LLM client met and every retry it made, per stage (issue #14).

Faults are injected into each LLM stage of a real build against the loopback server; the server records
which request each fault hit, so the expected per-stage counts come from the server, not from the client.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict

from doubles.construction_responder import construction_responder, schema_is, schema_name
from doubles.openai_server import OpenAICompatibleServer

from videoespresso_hf.llm.ledger import format_usd
from videoespresso_hf.pipeline.orchestrator import run_build

from .conftest import loopback_config, tiny_grounding

STAGE_OF_SCHEMA = {"FrameCaption": "captions", "QAPairs": "qa_generation", "QAFilterVerdicts": "qa_filter"}
# The server's fault names -> the summary's fault kinds.
KIND_OF_FAULT = {
    "timeout": "timeout",
    "500": "5xx",
    "429": "429",
    "malformed_body": "malformed",
    "malformed_json": "malformed_answer",
}


def test_summary_reports_every_fault_and_retry_per_stage(tmp_path, colour_videos):
    with OpenAICompatibleServer(responder=construction_responder, timeout_sleep_s=1.5) as server:
        for kind in ("timeout", "500", "malformed_body", "429"):
            server.inject(kind, when=schema_is("FrameCaption"))
        for kind in ("500", "malformed_body", "malformed_json"):
            server.inject(kind, when=schema_is("QAPairs"))
        server.inject("timeout", when=schema_is("QAFilterVerdicts"))
        config = loopback_config(
            server.base_url,
            llm={"timeout_s": 0.5, "backoff_base_s": 0.0, "max_retries": 4, "max_concurrency": 2},
            groups={"size": 3},
            qa_generation={"pairs_per_group": 2},
        )
        out = tmp_path / "out"
        summary = run_build(list(colour_videos.values()), out, config, until="qa_filter", workers=1, progress=False)
        assert server.pending_faults() == 0
        served = server.faults_served

    assert summary.stopped is None and not summary.pending, summary.format()
    expected: dict[str, Counter] = defaultdict(Counter)
    for kind, request in served:
        expected[STAGE_OF_SCHEMA[schema_name(request)]][KIND_OF_FAULT[kind]] += 1
    assert sum(counts.total() for counts in expected.values()) == len(served) == 8
    written = {stage["name"]: stage for stage in json.loads((out / "summary.json").read_text())["stages"]}
    for stats in summary.stages:
        assert stats.usage.faults == dict(expected[stats.name]), stats.name
        assert stats.usage.retries == expected[stats.name].total(), stats.name  # every fault was retried
        assert written[stats.name]["usage"]["faults"] == dict(expected[stats.name])
        assert written[stats.name]["usage"]["retries"] == stats.usage.retries
    report = summary.format()
    assert "captions: 4 retries; faults 4 (429=1, 5xx=1, malformed=1, timeout=1)" in report
    assert "qa_generation: 3 retries; faults 3 (5xx=1, malformed=1, malformed_answer=1)" in report
    assert "qa_filter: 1 retries; faults 1 (timeout=1)" in report


def test_dry_run_projects_every_llm_stage_and_a_real_build_stays_within(
    tmp_path, colour_videos, tiny_grounding_models
):
    from doubles.construction_responder import construction_responder as responder

    videos = list(colour_videos.values())
    with OpenAICompatibleServer(responder=responder) as server:
        config = loopback_config(
            server.base_url,
            llm={"backoff_base_s": 0.0},
            groups={"size": 3},
            qa_generation={"pairs_per_group": 2},
            grounding=tiny_grounding(tiny_grounding_models),
            distractors={"test_fraction": 1.0},
        )
        dry = run_build(videos, tmp_path / "dry", config, dry_run=True, workers=1, progress=False)
        assert server.count() == 0
        real = run_build(videos, tmp_path / "real", config, until="distractors", workers=1, progress=False)
        sent = Counter(STAGE_OF_SCHEMA.get(schema_name(r), schema_name(r)) for r in server.chat_requests)

    assert real.stopped is None and not real.pending, real.format()
    used = {stats.name: stats.usage for stats in real.stages}
    captions = used["captions"]
    assert captions.llm_calls == sent["captions"] and captions.cached_calls > 0  # some frames repeat
    # Exact, copies of identical frames included: the client sends each distinct frame once.
    assert dry.estimate_stage == "captions"
    assert (dry.estimate.llm_calls, dry.estimate.cached_calls) == (captions.llm_calls, captions.cached_calls)
    assert list(dry.projected) == ["qa_generation", "qa_filter", "cot_evidence", "distractors"]
    stage_of = {"CoTEvidence": "cot_evidence", "DistractorCandidates": "distractors"}
    sent = Counter({stage_of.get(name, name): n for name, n in sent.items()})
    for stage, projected in dry.projected.items():
        # Upper bounds on what the real build sent and was billed (the server bills ~4 characters a token).
        real_usage = used[stage]
        assert 0 < sent[stage] == real_usage.llm_calls <= projected.llm_calls, (stage, sent[stage], projected)
        assert 0 < real_usage.prompt_tokens <= projected.prompt_tokens, (stage, real_usage, projected)
        assert 0 < real_usage.completion_tokens <= projected.completion_tokens, (stage, real_usage, projected)
        assert 0 < real_usage.cost_usd <= projected.cost_usd, (stage, real_usage, projected)
    report = dry.format()
    for stage, projected in dry.projected.items():
        assert (
            f"  {stage}: at most {projected.llm_calls} requests, ~{projected.prompt_tokens} prompt + "
            f"~{projected.completion_tokens} completion tokens, ~{format_usd(projected.cost_usd)}" in report
        )
    total = dry.estimate.llm_calls + sum(usage.llm_calls for usage in dry.projected.values())
    cost = dry.estimate.cost_usd + sum(usage.cost_usd for usage in dry.projected.values())
    assert f"total: at most {total} requests" in report and f"~{format_usd(cost)} (all LLM stages)" in report
    for setting in ("qa_generation.pairs_per_group", "captions.max_new_tokens", "llm.estimated_output_tokens"):
        assert f"config {setting}" in report

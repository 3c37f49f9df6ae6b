"""End to end: real encoded videos → ``videoespresso build`` (parts 1 and 2) against the loopback OpenAI
server, with tiny random GroundingDINO/CLIP → a ``generated`` folder ``datasets.load_dataset`` reads.

Covers faults (a schema violation retried, a malformed answer recorded as a failure), a real SIGKILL of the
CLI in the middle of the QA stages followed by a resume that re-pays nothing finished, and batch mode.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
from doubles.construction_responder import schema_is, schema_name
from doubles.openai_server import request_text

from videoespresso_hf.pipeline.config import BuildConfig
from videoespresso_hf.pipeline.orchestrator import run_build
from videoespresso_hf.pipeline.stages.distractors import split_for
from videoespresso_hf.pipeline.state import video_identity

from .conftest import loopback_config, tiny_grounding

QA_SCHEMAS = ("QAPairs", "QAFilterVerdicts", "CoTEvidence", "DistractorCandidates")


def _split_seed(videos: list[Path]) -> int:
    """A split seed that puts exactly one of the two videos in the test split (fraction 0.5)."""
    ids = [video_identity(path).video_id for path in videos]
    return next(
        seed for seed in range(1000) if sorted(split_for(i, 0.5, seed) for i in ids) == ["test", "train"]
    )


def build_config(construction_server, tiny_grounding_models, videos, **sections) -> BuildConfig:
    return loopback_config(
        construction_server.base_url,
        llm={"model": "gpt-4o-2024-08-06", "backoff_base_s": 0.0, "max_retries": 2, "max_concurrency": 4},
        groups={"size": 3},
        qa_generation={"pairs_per_group": 3},
        grounding=tiny_grounding(tiny_grounding_models, max_boxes_per_object=2),
        distractors={"test_fraction": 0.5, "split_seed": _split_seed(videos)},
        **sections,
    )


def by_schema(construction_server) -> Counter:
    return Counter(schema_name(request) for request in construction_server.chat_requests)


def test_build_end_to_end_writes_a_dataset_with_faults_recorded(
    construction_server, colour_videos, tiny_grounding_models, tmp_path
):
    import datasets

    from videoespresso_hf.data.schema import features

    videos = list(colour_videos.values())
    construction_server.inject("schema_violation", 1, when=schema_is("QAPairs"))
    one_item = "Question: How does the scene change from a solid yellow frame"
    construction_server.inject(
        "malformed_json", 3, when=lambda r: schema_is("CoTEvidence")(r) and one_item in request_text(r)
    )
    summary = run_build(
        videos,
        tmp_path / "out",
        build_config(construction_server, tiny_grounding_models, videos),
        workers=1,
        progress=False,
    )
    assert summary.ok and summary.videos_ok == 2, summary.format()
    assert [stage.name for stage in summary.stages][-6:] == [
        "qa_generation",
        "qa_filter",
        "cot_evidence",
        "grounding",
        "distractors",
        "export",
    ]

    generated = tmp_path / "out" / "generated"
    manifest = json.loads((generated / "manifest.json").read_text())
    assert manifest["qa"]["generated"] == 6 and manifest["qa"]["kept_by_filter"] == 4
    assert manifest["qa"]["rejected"] == {"qa_filter:subjective": 2}
    assert manifest["qa"]["failed"] == {"cot_evidence:llm_error": 1}  # the yellow video's malformed CoT
    assert manifest["counts"]["train"] + manifest["counts"]["test"] == 3
    assert manifest["counts"]["test"] >= 1 and manifest["counts"]["train"] >= 1
    assert manifest["boxes"]["kept"] + manifest["boxes"]["dropped"] == manifest["boxes"]["candidates"] > 0
    export_usage = summary.stages[-1].usage.counters
    assert export_usage["qa_generated"] == 6 and export_usage["qa_filter:subjective"] == 2
    assert summary.outputs["export.manifest_file"] == str(generated / "manifest.json")
    assert all(
        stage.total_usage.cost_usd > 0
        for stage in summary.stages
        if stage.name in ("qa_generation", "cot_evidence")
    )

    loaded = datasets.load_dataset(str(generated), cache_dir=str(tmp_path / "hf-cache"))
    assert loaded["train"].features == features()
    test = loaded["test"].cast_column("video", datasets.Video(decode=False))
    row = test.cast_column("images", datasets.List(datasets.Image(decode=False)))[0]
    assert len(row["options"]) == 4 and row["options"]["ABCD".index(row["correct_answer"])] == row["answer"]
    assert Path(row["video"]["path"]).resolve() in {Path(v).resolve() for v in videos}
    metadata = json.loads(row["metadata"])
    assert metadata["caption_model"] == "gpt-4o-mini" and metadata["fps"] == pytest.approx(12.0)
    assert set(metadata["prompt_versions"]) == {"qa_generation", "qa_filter", "cot_evidence", "distractors"}
    assert all(Path(image["path"]).is_file() for image in row["images"]) and row["images"]


def _wait_then_kill(process: subprocess.Popen, event: threading.Event) -> None:
    if event.wait(timeout=240):
        process.send_signal(signal.SIGKILL)


def test_kill_during_the_qa_stages_and_resume_pays_nothing_twice(
    construction_server, colour_videos, tiny_grounding_models, tmp_path
):
    videos = list(colour_videos.values())
    config_path = tmp_path / "config.json"
    build_config(construction_server, tiny_grounding_models, videos).save(config_path)
    first_cot = threading.Event()
    responder = construction_server.responder

    def slow_cot(request):
        if schema_name(request) == "CoTEvidence":
            first_cot.set()  # qa_generation and qa_filter are done for every video (stage-major order)
            threading.Event().wait(0.5)
        return responder(request)

    construction_server.responder = slow_cot
    out = tmp_path / "out"
    command = [
        str(Path(sys.executable).parent / "videoespresso"),
        "build",
        *map(str, videos),
        "--out",
        str(out),
        "--config",
        str(config_path),
        "--workers",
        "1",
        "--no-progress",
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    killer = threading.Thread(target=_wait_then_kill, args=(process, first_cot), daemon=True)
    killer.start()
    output, _ = process.communicate(timeout=300)
    assert process.returncode == -signal.SIGKILL, output.decode()[-2000:]
    before = by_schema(construction_server)
    assert before["QAPairs"] == 2 and before["QAFilterVerdicts"] == 2 and before["CoTEvidence"] >= 1
    assert not (out / "generated" / "manifest.json").exists()

    construction_server.responder = responder
    resumed = run_build(videos, out, BuildConfig.load(config_path), workers=1, progress=False)
    assert resumed.ok, resumed.format()
    after = by_schema(construction_server)
    # Finished work is reused: no caption, QA or filter request is sent again; CoT requests answered before
    # the kill come from the cache (only those in flight at the kill may be asked twice).
    assert {name: n for name, n in after.items() if name not in ("CoTEvidence", "DistractorCandidates")} == {
        name: n for name, n in before.items() if name not in ("CoTEvidence", "DistractorCandidates")
    }
    assert after["QAPairs"] == 2 and after["QAFilterVerdicts"] == 2
    assert after["CoTEvidence"] - 4 <= before["CoTEvidence"]  # re-asked ones were in flight at the kill
    stats = {stage.name: stage for stage in resumed.stages}
    assert stats["qa_generation"].reused == 2 and stats["qa_generation"].executed == 0
    manifest = json.loads((out / "generated" / "manifest.json").read_text())
    assert manifest["counts"]["train"] + manifest["counts"]["test"] == 4


def test_batch_mode_end_to_end(construction_server, colour_videos, tiny_grounding_models, tmp_path):
    videos = list(colour_videos.values())
    batch = {"enabled": True, "poll_interval_s": 0.0}
    config = build_config(construction_server, tiny_grounding_models, videos, llm_batch=batch)
    summary = run_build(videos, tmp_path / "out", config, workers=1, progress=False)
    assert summary.ok, summary.format()
    # The QA stages' requests went through the Batch API (one batch per video and LLM stage), captions did not.
    assert not set(by_schema(construction_server)) & set(QA_SCHEMAS)
    assert (
        construction_server.count("POST /v1/batches") == 2 * 4 - 1
    )  # the train video has no distractor batch
    manifest = json.loads((tmp_path / "out" / "generated" / "manifest.json").read_text())
    assert manifest["qa"]["generated"] == 6 and manifest["counts"]["train"] + manifest["counts"]["test"] == 4
    # Billed at the Batch API's half price (gpt-4o: $2.50 / $10 per 1M input / output tokens).
    usage = next(stage.usage for stage in summary.stages if stage.name == "qa_generation")
    full_price = (usage.prompt_tokens * 2.5 + usage.completion_tokens * 10.0) / 1e6
    assert usage.llm_calls == 2 and usage.cost_usd == pytest.approx(full_price / 2)

"""The QA stages on a real video against the loopback OpenAI server (structured JSON answers, faults injected).

Each test runs the stages the way the orchestrator does (``stage.run(record, ctx)`` in chain order) on a
record whose caption groups point at a real encoded video, so grounding decodes real frames and the export
is loaded back with ``datasets``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from doubles.construction_responder import construction_responder, schema_is
from doubles.openai_server import request_text

from videoespresso_hf.data.evidence import parse_evidence
from videoespresso_hf.pipeline.stages.base import StageContext, clear_process_resources
from videoespresso_hf.pipeline.stages.cot_evidence import CoTEvidenceStage
from videoespresso_hf.pipeline.stages.distractors import DistractorsStage
from videoespresso_hf.pipeline.stages.export import export_generated
from videoespresso_hf.pipeline.stages.grounding import GroundingStage
from videoespresso_hf.pipeline.stages.llm_calls import LLMUnavailableError
from videoespresso_hf.pipeline.stages.qa_filter import QAFilterStage
from videoespresso_hf.pipeline.stages.qa_generation import QAGenerationStage
from videoespresso_hf.pipeline.stages.qa_items import QARecord
from videoespresso_hf.pipeline.video_record import CaptionGroup, VideoRecord

from .conftest import loopback_config, tiny_grounding

CAPTIONS = ["a solid red frame", "a solid green frame", "a solid blue frame"]
CHAT = "POST /v1/chat/completions"


@pytest.fixture()
def record(colour_videos) -> VideoRecord:
    """Two caption groups over the red/green/blue shots (2 s each at 12 fps) of a real mp4."""
    path = str(colour_videos["three_static"])
    groups = [
        CaptionGroup(
            group_id=f"vid-g{k:04d}",
            video_id="vid",
            video_path=path,
            position=k,
            frame_indices=[start, start + 24, start + 48],
            timestamps=[start / 12, (start + 24) / 12, (start + 48) / 12],
            captions=[prefix + caption for caption in CAPTIONS],
        )
        for k, (start, prefix) in enumerate(((0, ""), (12, "later, ")))
    ] + [
        CaptionGroup(
            group_id="vid-g0002",
            video_id="vid",
            video_path=path,
            position=2,
            frame_indices=[70],
            timestamps=[70 / 12],
            captions=["a solid blue frame"],
        )
    ]
    return VideoRecord(
        video_id="vid",
        path=path,
        fps=12.0,
        num_frames=72,
        width=96,
        height=64,
        groups=groups,
        sampling={"caption_model": "loopback-vlm"},
    )


def make_ctx(construction_server, out_dir: Path, tiny_grounding_models, **stages) -> StageContext:
    sections = {
        "grounding": tiny_grounding(tiny_grounding_models, max_boxes_per_object=2, background_prompts=[]),
        "distractors": {"test_fraction": 1.0},
        **stages,
    }
    llm = {
        "model": "gpt-4o-2024-08-06",
        "max_retries": 1,
        "backoff_base_s": 0.0,
        "max_parse_attempts": 3,
        "max_concurrency": 4,
    }
    config = loopback_config(construction_server.base_url, llm=llm, **sections)
    return StageContext(config=config, out_dir=out_dir)


STAGES = (QAGenerationStage, QAFilterStage, CoTEvidenceStage, GroundingStage, DistractorsStage)


def run_stages(record: VideoRecord, ctx: StageContext, stages=STAGES) -> dict[str, QARecord]:
    """Each stage's output, by stage name, running them as the driver does (each on the one before)."""
    outputs = {}
    for stage in stages:
        record = outputs[stage.name] = stage().run(record, ctx)
    return outputs


def run_chain(record: VideoRecord, ctx: StageContext, stages=STAGES) -> QARecord:
    return list(run_stages(record, ctx, stages).values())[-1]


def dropped_by(record: QARecord, stage: str) -> list:
    return [row for row in record.dropped if row.stage == stage]


def test_full_chain_with_faults_records_every_rejection_and_failure(
    construction_server, record, tmp_path, tiny_grounding_models
):
    # One QA answer violates the schema once (retried, then fine); one CoT answer stays malformed on every
    # attempt (recorded as a failure, the run goes on).
    construction_server.inject("schema_violation", 1, when=schema_is("QAPairs"))
    one_item = "Question: How does the scene change from later, a solid red frame"
    construction_server.inject(
        "malformed_json", 3, when=lambda r: schema_is("CoTEvidence")(r) and one_item in request_text(r)
    )
    ctx = make_ctx(construction_server, tmp_path, tiny_grounding_models)
    outputs = run_stages(record, ctx)

    generation = outputs["qa_generation"]
    assert len(generation.items) == 6  # 3 pairs x 2 groups of 3 captions
    assert [row.criterion for row in generation.dropped] == ["group_too_small"]
    assert (
        construction_server.count(CHAT) == (2 + 1) + 2 + (4 + 2) + 3
    )  # qa (+1 retry), filter, cot (+2 retries), distractors

    filtered = outputs["qa_filter"]
    assert len(filtered.items) == 4
    rejected = dropped_by(filtered, "qa_filter")
    assert {(row.kind, row.criterion) for row in rejected} == {("rejected", "subjective")}
    assert all(row.qa_id.endswith("-q02") and row.reason for row in rejected)

    cot_dropped = dropped_by(outputs["cot_evidence"], "cot_evidence")
    assert len(cot_dropped) == 1 and cot_dropped[0].kind == "failed"
    assert cot_dropped[0].reason.startswith("malformed JSON") and cot_dropped[0].qa_id == "vid-g0001-q00"
    out = outputs["distractors"]
    assert out.dropped == [*filtered.dropped, *cot_dropped]  # every stage's rows, in chain order
    assert out.tally == {"generated": 6, "kept_by_filter": 4}

    items = out.items
    assert len(items) == 3
    for item in items:
        group = next(g for g in record.groups if g.group_id == item.group_id)
        quoted = [group.captions[n - 1] for n in item.caption_numbers]
        # Temporal grounding mapped the paraphrased core captions back to the quoted captions' frames.
        assert [frame.caption for frame in item.core_frames] == sorted(quoted, key=group.captions.index)
        for frame in item.core_frames:
            assert frame.frame_index == group.frame_indices[frame.position]
            assert frame.timestamp == pytest.approx(frame.frame_index / 12)
            assert (tmp_path / "generated" / frame.path).is_file()
        for obj in item.key_objects:
            assert obj.frame_index in [frame.frame_index for frame in item.core_frames]
            assert len(obj.checks) == 2  # every candidate recorded, kept or not
            kept = [c["box"] for c in obj.checks if c["kept"]]
            assert obj.boxes == kept and obj.box_status == ("ok" if kept else "empty")
            assert all(0 <= x1 <= x2 <= 96 and 0 <= y1 <= y2 <= 64 for x1, y1, x2, y2 in obj.boxes)
            assert all(c["reason"] for c in obj.checks if not c["kept"])
        parsed = parse_evidence(item.evidence_raw)
        assert parsed.text == item.evidence
        assert [o.label for o in parsed.key_objects] == [o.label for o in item.key_objects]
        # Multiple choice: the reference among 3 length-matched distractors, letter pointing at it.
        assert item.split == "test" and len(item.options) == 4
        assert item.options["ABCD".index(item.correct_answer)] == item.answer
        assert item.distractors["length_balanced"] and item.distractors["max_gap"] <= 0.2
        assert set(item.provenance) == {
            "qa_generation",
            "qa_filter",
            "cot_evidence",
            "grounding",
            "distractors",
        }

    usage = ctx.usage.counters
    assert usage["qa_generated"] == 6 and usage["qa_kept"] == 4 and usage["qa_rejected:subjective"] == 2
    assert usage["cot_failed:llm_error"] == 1
    assert usage.get("boxes_kept", 0) + usage.get("boxes_dropped", 0) == 2 * sum(
        len(i.key_objects) for i in items
    )


def test_export_writes_a_folder_datasets_loads_with_the_shared_schema(
    construction_server, record, tmp_path, tiny_grounding_models
):
    import datasets

    from videoespresso_hf.data import load_videoespresso
    from videoespresso_hf.data.schema import features

    ctx = make_ctx(construction_server, tmp_path, tiny_grounding_models, distractors={"test_fraction": 0.0})
    train_record = run_chain(record, ctx)
    test_record = run_chain(
        record.model_copy(update={"video_id": "vid-test"}),
        make_ctx(construction_server, tmp_path, tiny_grounding_models),
    )
    manifest = export_generated([train_record, test_record], tmp_path)
    assert manifest["counts"] == {"train": 4, "test": 4}
    assert manifest["qa"]["generated"] == 12 and manifest["qa"]["rejected"] == {
        "qa_filter:subjective": 4,
        "qa_generation:group_too_small": 2,
    }
    assert manifest["boxes"]["candidates"] == manifest["boxes"]["kept"] + manifest["boxes"]["dropped"]
    dropped = [
        json.loads(line) for line in (tmp_path / "generated" / "dropped.jsonl").read_text().splitlines()
    ]
    assert len(dropped) == 2 * (1 + 2)  # per video: one small group, two rejected pairs

    loaded = datasets.load_dataset(str(tmp_path / "generated"), cache_dir=str(tmp_path / "hf-cache"))
    assert loaded["train"].features == features() and loaded.num_rows == {"train": 4, "test": 4}
    test_rows = loaded["test"].cast_column("video", datasets.Video(decode=False))
    row = test_rows.cast_column("images", datasets.List(datasets.Image(decode=False)))[0]
    assert row["correct_answer"] in "ABCD" and len(row["options"]) == 4
    assert row["video"]["path"] == str(Path(record.path).resolve())
    metadata = json.loads(row["metadata"])
    assert metadata["fps"] == 12.0 and metadata["prompt_versions"]["cot_evidence"] == "cot_evidence.v1"
    assert metadata["models"]["qa_generation"] == "gpt-4o-2024-08-06"
    assert metadata["core_caption_ids"] == [f"vid-test/f{f['frame_index']}" for f in row["core_frames"]]
    assert len(metadata["group"]["timestamps"]) == 3

    # No build state store here (export_generated is called directly) to record where the videos are: name it.
    built = load_videoespresso("generated", data_dir=tmp_path, cache_dir=tmp_path / "builder-cache",
                               media_roots=(str(Path(record.path).parent),))  # fmt: skip
    assert built["train"].num_rows == 4 and built["test"].num_rows == 4


def test_transient_failures_are_retried_on_the_next_run_without_paying_twice(
    construction_server, record, tmp_path, tiny_grounding_models
):
    ctx = make_ctx(construction_server, tmp_path, tiny_grounding_models)
    out = QAGenerationStage().run(record, ctx)
    construction_server.inject(
        "500", 10, when=schema_is("QAFilterVerdicts")
    )  # outlasts max_retries=1 for both groups
    with pytest.raises(LLMUnavailableError, match="run again"):
        QAFilterStage().run(out, ctx)
    assert ctx.usage.counters.get("qa_kept") is None
    construction_server.reset_counts()
    clear_process_resources()  # a fresh process: only the SQLite cache survives
    construction_server._faults.clear()
    rerun = run_chain(record, make_ctx(construction_server, tmp_path, tiny_grounding_models), STAGES[:2])
    assert len(rerun.items) == 4
    # QA generation was answered from the cache: only the two filter requests were sent again.
    assert [r["response_format"]["json_schema"]["name"] for r in construction_server.chat_requests] == [
        "QAFilterVerdicts"
    ] * 2


def test_batch_mode_submits_polls_collects_and_resumes(
    construction_server, record, tmp_path, tiny_grounding_models
):
    construction_server.batch_polls_before_done = 2
    batch = {"enabled": True, "max_wait_s": 0.0, "poll_interval_s": 0.0}
    ctx = make_ctx(construction_server, tmp_path, tiny_grounding_models, llm_batch=batch)
    with pytest.raises(LLMUnavailableError, match="run again to resume"):
        QAGenerationStage().run(record, ctx)  # submitted; the batch is still running
    assert construction_server.count("POST /v1/batches") == 1 and construction_server.count(CHAT) == 0
    clear_process_resources()
    batch["max_wait_s"] = None
    ctx = make_ctx(construction_server, tmp_path, tiny_grounding_models, llm_batch=batch)
    out = QAGenerationStage().run(record, ctx)  # re-attaches to the same batch and collects it
    assert construction_server.count("POST /v1/batches") == 1 and construction_server.count(CHAT) == 0
    assert construction_server.count("batch line") == 2
    assert len(out.items) == 6
    assert ctx.usage.llm_calls == 2 and ctx.usage.cost_usd > 0
    # Synchronous answers to the same requests would be identical: batch results fill the same cache.
    clear_process_resources()
    sync = QAGenerationStage().run(record, make_ctx(construction_server, tmp_path, tiny_grounding_models))
    assert (
        sync == out and construction_server.count(CHAT) == 0
    )


def test_bad_references_and_missing_verdicts_are_recorded_not_dropped_silently(
    construction_server, record, tmp_path, tiny_grounding_models
):
    def responder(request):
        answer = construction_responder(request)
        name = schema_is("QAPairs")(request)
        if name:
            answer["pairs"][0]["caption_numbers"] = [1, 9]  # the group has 3 captions
            answer["pairs"][1]["caption_numbers"] = [2, 2]  # a single caption
        elif schema_is("QAFilterVerdicts")(request):
            answer["verdicts"] = [v for v in answer["verdicts"] if v["pair_number"] != 1]
        return answer

    construction_server.responder = responder
    ctx = make_ctx(construction_server, tmp_path, tiny_grounding_models)
    out = run_chain(record, ctx, STAGES[:2])
    generation = dropped_by(out, "qa_generation")
    assert sorted((row.qa_id, row.kind, row.criterion) for row in generation if row.qa_id) == [
        ("vid-g0000-q00", "failed", "invalid_caption_reference"),
        ("vid-g0000-q01", "rejected", "single_frame"),
        ("vid-g0001-q00", "failed", "invalid_caption_reference"),
        ("vid-g0001-q01", "rejected", "single_frame"),
    ]
    # The filter saw one pair per group (q02, as pair 1) and gave no verdict for it.
    assert {(row.qa_id, row.criterion) for row in dropped_by(out, "qa_filter")} == {
        ("vid-g0000-q02", "missing_verdict"),
        ("vid-g0001-q02", "missing_verdict"),
    }
    assert out.items == []
    assert ctx.usage.counters["qa_failed:missing_verdict"] == 2


def test_dry_run_estimate_costs_nothing_and_counts_only_uncached_requests(
    construction_server, record, tmp_path, tiny_grounding_models
):
    ctx = make_ctx(construction_server, tmp_path, tiny_grounding_models)
    estimate = QAGenerationStage().estimate(record, ctx)
    assert construction_server.count(CHAT) == 0
    assert (
        estimate.counters["estimated_requests"] == 2 and estimate.cost_usd > 0 and estimate.prompt_tokens > 0
    )
    QAGenerationStage().run(record, ctx)
    again = QAGenerationStage().estimate(record, make_ctx(construction_server, tmp_path, tiny_grounding_models))
    assert again.counters["estimated_requests"] == 0 and again.cached_calls == 2 and again.cost_usd == 0
    batch = make_ctx(construction_server, tmp_path / "b", tiny_grounding_models, llm_batch={"enabled": True})
    assert QAGenerationStage().estimate(record, batch).cost_usd == pytest.approx(estimate.cost_usd / 2)


def test_filter_and_spatial_grounding_can_be_switched_off(
    construction_server, record, tmp_path, tiny_grounding_models
):
    ctx = make_ctx(
        construction_server, tmp_path, tiny_grounding_models, qa_filter={"enabled": False}, grounding={"spatial": False}
    )
    out = run_chain(record, ctx)
    assert "QAFilterVerdicts" not in {
        r["response_format"]["json_schema"]["name"] for r in construction_server.chat_requests
    }
    items = out.items
    assert len(items) == 6 and all(item.verdict is None for item in items)
    for item in items:
        assert item.key_objects and all(
            o.box_status == "empty" and o.checks == [] for o in item.key_objects
        )
        assert parse_evidence(item.evidence_raw).text == item.evidence
        assert "<box_start>[]<box_end>" in item.evidence_raw
        assert set(item.provenance["grounding"]) == {"embedder"}
    manifest = export_generated([out], tmp_path)
    assert manifest["counts"]["test"] == 6 and manifest["boxes"]["candidates"] == 0


def test_grounding_without_boxes_or_saved_frames_never_decodes_the_video(
    construction_server, record, tmp_path, tiny_grounding_models
):
    ctx = make_ctx(construction_server, tmp_path, tiny_grounding_models)
    before = run_chain(record, ctx, stages=STAGES[:3])
    ctx.config.grounding = ctx.config.grounding.model_copy(update={"spatial": False, "save_frames": False})
    deleted = before.video.model_copy(update={"path": str(tmp_path / "deleted.mp4")})  # decoding would fail
    out = GroundingStage().run(before.model_copy(update={"video": deleted}), ctx)
    items = out.items
    assert items and all(item.core_frames and item.evidence for item in items)
    assert not (tmp_path / "generated").exists()

"""Stage ``export``: write the ``generated`` format the dataset builder loads (``notes/schema.md``).

Layout of ``OUT/generated/``:

* ``train.jsonl`` / ``test.jsonl``: one schema row per QA item (test rows are 4-way multiple choice);
  ``task``/``task_group`` as names, ``video`` the absolute source path, ``metadata`` a JSON string with the
  provenance (source video, fps, frame indices and timestamps, caption ids, model ids, prompt versions, the
  filter verdict, every dropped box with its reason, the distractor length balance).
* ``frames/<video_id>/<frame_index>.jpg``: the core frames (``core_frames[i].path`` is relative to
  ``generated/``; ``images`` holds their absolute paths).
* ``dropped.jsonl``: every QA item or group a stage let go, with stage, kind, criterion and reason.
* ``manifest.json``: ``{"schema_version": 1, "counts": {"train", "test"}, "qa": ..., "boxes": ..., ...}``;
  an export that lacks some of the build's inputs (they failed, or are to be retried) also has
  ``"partial": {"unfinished_videos": {path: reason}}``. A partial export never replaces a complete one:
  the complete dataset is kept and the run summary says why the new rows were not written.
* ``README.md``: a dataset card whose YAML (``configs`` + ``dataset_info.features``) declares the shared
  schema, so ``datasets.load_dataset("OUT/generated")`` reads the folder with the exact features of
  :func:`videoespresso_hf.data.schema.features` (the package builder reads it too:
  ``load_videoespresso("generated", data_dir=OUT)``).

Box convention: pixel ``[x1, y1, x2, y2]`` on the full-resolution decoded core frame the object was
detected on (``metadata.key_object_frames`` gives that frame per object).

Files are written to a temporary name and renamed, so a kill never leaves a half-written split behind.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from videoespresso_hf.data.schema import FIELDS, SCHEMA_VERSION, empty_row
from videoespresso_hf.files import write_jsonl_atomic, write_text_atomic
from videoespresso_hf.pipeline.stages.base import BuildConfigView, DatasetResult, DatasetStage, StageContext
from videoespresso_hf.pipeline.stages.qa_items import QAItem, QARecord, caption_id
from videoespresso_hf.pipeline.video_record import VideoRecord
from videoespresso_hf.tasks import task_group

__all__ = [
    "BOX_CONVENTION",
    "ExportSettings",
    "ExportStage",
    "export_generated",
    "item_to_row",
    "qa_report",
]

BOX_CONVENTION = (
    "pixel [x1, y1, x2, y2] (top-left, bottom-right) on the full-resolution decoded core frame the object "
    "was detected on (metadata.key_object_frames); GroundingDINO boxes kept only when CLIP confirms the label"
)


class ExportSettings(BaseModel):
    """``config.export``.

    Attributes:
        source: the ``source`` field of every row; None uses the source video's parent folder name.
        video_root: ``video_path`` is written relative to this folder; None writes the file name.
    """

    model_config = ConfigDict(extra="forbid")

    source: str | None = None
    video_root: str | None = None


def _row_id(qa_id: str) -> str:
    return "gen-" + hashlib.sha256(qa_id.encode()).hexdigest()[:16]


def _video_path(path: str, video_root: str | None) -> str:
    if video_root:
        try:
            return Path(path).resolve().relative_to(Path(video_root).resolve()).as_posix()
        except ValueError:
            pass
    return Path(path).name


def item_to_row(
    item: QAItem, record: VideoRecord, settings: ExportSettings, generated_dir: Path | None = None
) -> dict[str, Any]:
    """One schema row (the ``generated`` JSONL form) for a finished QA item."""
    group = next(group for group in record.groups if group.group_id == item.group_id)
    images = []
    if generated_dir is not None:
        candidates = [generated_dir / frame.path for frame in item.core_frames]
        if candidates and all(path.is_file() for path in candidates):
            images = [str(path.resolve()) for path in candidates]
    dropped_boxes = [
        {"label": obj.label, "frame_index": obj.frame_index, **check}
        for obj in item.key_objects
        for check in obj.checks
        if not check["kept"]
    ]
    metadata = {
        "generator": "videoespresso_hf build",
        "qa_id": item.qa_id,
        "video_id": record.video_id,
        "source_video": record.path,
        "fps": record.fps,
        "group": {
            "group_id": group.group_id,
            "frame_indices": group.frame_indices,
            "timestamps": group.timestamps,
            "caption_ids": [caption_id(record.video_id, index) for index in group.frame_indices],
        },
        "core_frame_indices": [frame.frame_index for frame in item.core_frames],
        "core_timestamps": [frame.timestamp for frame in item.core_frames],
        "core_caption_ids": [frame.caption_id for frame in item.core_frames],
        "temporal_grounding": [
            {
                "chosen_caption": frame.chosen_caption,
                "frame_index": frame.frame_index,
                "similarity": frame.similarity,
            }
            for frame in item.core_frames
        ],
        "key_object_frames": {obj.label: obj.frame_index for obj in item.key_objects},
        "caption_numbers": item.caption_numbers,
        "models": {stage: info.get("model") for stage, info in item.provenance.items() if "model" in info},
        "grounding_models": {k: v for k, v in item.provenance.get("grounding", {}).items()},
        "caption_model": record.sampling.get("caption_model"),
        "sampling": record.sampling,
        "prompt_versions": {
            stage: info["prompt_version"]
            for stage, info in item.provenance.items()
            if "prompt_version" in info
        },
        "filter": item.verdict,
        "boxes_kept": sum(len(obj.boxes) for obj in item.key_objects),
        "boxes_dropped": dropped_boxes,
        "box_convention": BOX_CONVENTION,
        "split": item.split,
    }
    if item.distractors is not None:
        metadata["distractors"] = item.distractors
    row = empty_row()
    row.update(
        id=_row_id(item.qa_id),
        question=item.question,
        answer=item.answer,
        options=list(item.options),
        correct_answer=item.correct_answer,
        task=item.task,
        task_group=task_group(item.task),
        evidence=item.evidence,
        evidence_raw=item.evidence_raw,
        key_objects=[
            {"label": obj.label, "boxes": obj.boxes, "box_status": obj.box_status}
            for obj in item.key_objects
        ],
        core_frames=[
            {
                "path": frame.path,
                "caption": frame.caption,
                "frame_index": frame.frame_index,
                "timestamp": frame.timestamp,
            }
            for frame in item.core_frames
        ],
        images=images,
        source=settings.source or Path(record.path).parent.name,
        video=str(Path(record.path).resolve()),
        video_path=_video_path(record.path, settings.video_root),
        fps=record.fps,
        metadata=json.dumps(metadata, ensure_ascii=False, sort_keys=True, default=str),
    )
    return {key: row[key] for key in FIELDS}


def qa_report(records: Sequence[QARecord]) -> dict[str, Any]:
    """Counts over finished QA records: the stages' tallies (generated, kept by the filter, ...), rejections
    and failures by stage and reason, boxes, multiple choice."""
    tally: Counter[str] = Counter()
    rejected: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    for record in records:
        tally.update(record.tally)
        for row in record.dropped:
            (rejected if row.kind == "rejected" else failed)[f"{row.stage}:{row.criterion}"] += 1
    final = [item for record in records for item in record.items]
    checks = [check for item in final for obj in item.key_objects for check in obj.checks]
    dropped_reasons = Counter((check["reason"] or "").split(":")[0] for check in checks if not check["kept"])
    test = [item for item in final if item.split == "test"]
    gaps = [item.distractors["max_gap"] for item in test if item.distractors]
    return {
        "qa": {
            **tally,
            "rejected": dict(sorted(rejected.items())),
            "failed": dict(sorted(failed.items())),
            "exported": len(final),
        },
        "boxes": {
            "candidates": len(checks),
            "kept": sum(1 for c in checks if c["kept"]),
            "dropped": sum(1 for c in checks if not c["kept"]),
            "dropped_by_reason": dict(dropped_reasons),
            "key_objects": sum(len(item.key_objects) for item in final),
            "key_objects_without_box": sum(
                1 for item in final for obj in item.key_objects if not obj.boxes
            ),
        },
        "multiple_choice": {
            "items": len(test),
            "correct_letter_counts": dict(sorted(Counter(item.correct_answer for item in test).items())),
            "length_balanced": sum(
                1 for item in test if item.distractors and item.distractors["length_balanced"]
            ),
            "mean_max_length_gap": round(sum(gaps) / len(gaps), 4) if gaps else None,
            "max_length_gap": max(gaps, default=None),
        },
    }


def write_card(generated_dir: Path, manifest: dict[str, Any]) -> Path:
    """``README.md`` with ``configs``/``dataset_info`` YAML for the JSONL splits (see the module docstring)."""
    from videoespresso_hf.data.card import render_jsonl_card
    from videoespresso_hf.data.schema import features

    # Only splits with rows: datasets cannot load an empty one.
    counts = manifest.get("counts", {})
    splits = [split for split in ("train", "test") if counts.get(split)] or ["train"]
    body = (
        "# VideoEspresso-style generated QA with CoT evidence\n\n"
        f"Built by `videoespresso build`: {counts.get('train', 0)} train rows, {counts.get('test', 0)} "
        "multiple-choice test rows. Provenance of every row is in its `metadata` column; counts of generated, "
        "kept and rejected QA pairs and of kept/dropped boxes are in `manifest.json`; every dropped item is "
        "in `dropped.jsonl` with its reason.\n\n"
        f"Box convention: {BOX_CONVENTION}.\n"
    )
    card = render_jsonl_card(
        generated_dir,
        config_name="generated",
        splits=splits,
        description="Rows written by videoespresso build.",
        features=features()._to_yaml_list(),
        body=body,
    )
    return write_text_atomic(generated_dir / "README.md", str(card))


def export_generated(
    records: Sequence[QARecord],
    out_dir: str | os.PathLike[str],
    settings: ExportSettings | None = None,
    *,
    provenance: dict[str, Any] | None = None,
    unfinished: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Write ``out_dir/generated/{train,test}.jsonl``, ``dropped.jsonl`` and ``manifest.json``.

    Args:
        records: the QA records of every video that finished the QA stages.
        out_dir: the build output folder.
        settings: export settings.
        provenance: extra manifest fields (e.g. the build config).
        unfinished: the build's inputs missing from ``records``, with why (recorded as ``partial``).

    Returns:
        The manifest (also written), with the file paths under ``"files"``.
    """
    settings = settings or ExportSettings()
    generated_dir = Path(out_dir) / "generated"
    generated_dir.mkdir(parents=True, exist_ok=True)
    rows: dict[str, list[dict[str, Any]]] = {"train": [], "test": []}
    dropped: list[dict[str, Any]] = []
    for record in sorted(records, key=lambda r: r.video.video_id):
        for item in record.items:
            rows[item.split or "train"].append(item_to_row(item, record.video, settings, generated_dir))
        dropped += [{"video_id": record.video.video_id, **row.model_dump()} for row in record.dropped]
    files = {}
    for split, split_rows in rows.items():
        files[split] = str(generated_dir / f"{split}.jsonl")
        write_jsonl_atomic(Path(files[split]), split_rows)
    files["dropped"] = str(generated_dir / "dropped.jsonl")
    write_jsonl_atomic(Path(files["dropped"]), dropped)
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "config": "generated",
        "counts": {split: len(split_rows) for split, split_rows in rows.items()},
        "videos": len(records),
        **qa_report(records),
        "box_convention": BOX_CONVENTION,
        "core_frame_paths": "relative to this folder (frames/<video_id>/<frame_index>.jpg)",
        "files": {name: Path(path).name for name, path in files.items()},
        **(provenance or {}),
    }
    if unfinished:
        manifest["partial"] = {"unfinished_videos": dict(sorted(unfinished.items()))}
    files["card"] = str(write_card(generated_dir, manifest))
    write_text_atomic(
        generated_dir / "manifest.json",
        json.dumps(manifest, indent=2, ensure_ascii=False, default=str) + "\n",
    )
    return {**manifest, "paths": {**files, "manifest": str(generated_dir / "manifest.json")}}


class ExportStage(DatasetStage):
    """Writes ``OUT/generated`` once over every video that finished the QA stages."""

    name = "export"
    version = "1"
    input_type = QARecord

    def config_slice(self, config: BuildConfigView) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, **config.export.model_dump()}

    def finalize(
        self, records: list[QARecord], ctx: StageContext, unfinished: dict[str, str]
    ) -> DatasetResult:
        generated = Path(ctx.out_dir) / "generated"
        if unfinished:
            kept = _complete_rows(generated / "manifest.json")
            if kept is not None:
                return DatasetResult(
                    dataset_dir=str(generated),
                    notes=[
                        f"kept the complete dataset in {generated} ({kept} rows): this run's export would lack "
                        f"{len(unfinished)} unfinished video(s) ({', '.join(sorted(unfinished))}), so it was not "
                        "written; finish them (re-run, --retry-failed) or remove that folder to export without them"
                    ]
                )
        manifest = export_generated(
            records,
            ctx.out_dir,
            ctx.config.export,
            provenance={"llm_model": ctx.config.llm.model},
            unfinished=unfinished,
        )
        usage = ctx.usage
        usage.count("rows_train", manifest["counts"]["train"])
        usage.count("rows_test", manifest["counts"]["test"])
        for record in records:  # the stages' tallies: qa_generated, qa_kept_by_filter, ...
            for key, value in record.tally.items():
                usage.count(f"qa_{key}", value)
        for key, value in {**manifest["qa"]["rejected"], **manifest["qa"]["failed"]}.items():
            usage.count(key, value)
        usage.count("boxes_kept", manifest["boxes"]["kept"])
        usage.count("boxes_dropped", manifest["boxes"]["dropped"])
        paths = manifest["paths"]
        rows = manifest["counts"]["train"] + manifest["counts"]["test"]
        result = DatasetResult(
            outputs={
                "dir": str(Path(paths["manifest"]).parent),
                "train_file": paths["train"],
                "test_file": paths["test"],
                "dropped_file": paths["dropped"],
                "manifest_file": paths["manifest"],
            },
            counts={"rows_exported": rows},
            dataset_dir=str(generated) if rows else None,
        )
        if unfinished:
            result.notes.append(
                f"partial export: {len(unfinished)} video(s) unfinished ({', '.join(sorted(unfinished))}); "
                "manifest.json lists them under 'partial'"
            )
        if rows == 0:
            reasons = {**manifest["qa"]["rejected"], **manifest["qa"]["failed"]}
            why = ", ".join(f"{key}={n}" for key, n in sorted(reasons.items(), key=lambda kv: -kv[1]))
            result.problems.append(
                f"0 rows exported from {len(records)} video(s): every QA item was dropped "
                f"({why or 'no QA item was generated'}); see {paths['dropped']}"
            )
        return result


def _complete_rows(manifest_path: Path) -> int | None:
    """The row count of the complete export at ``manifest_path``, or None if there is none."""
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        return None
    if manifest.get("partial"):
        return None
    return sum(manifest.get("counts", {}).values())

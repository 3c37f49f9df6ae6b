"""A prepared config → the files verl / EasyR1 and ms-swift / LLaMA-Factory train on (issue 20.6).

``videoespresso data export PREPARED --config train_video --format verl --out DIR`` writes
``DIR/<split>.parquet`` in the layout verl's ``RLHFDataset`` reads (its gsm8k preprocessing example,
``verl/utils/dataset/README.md``), one row per QA item:

==============  ==================================================================================
column          value
==============  ==================================================================================
data_source     ``"videoespresso/<config>"``
prompt          chat messages ``[{"role": "user", "content": "<video>…"}]`` (``<image>`` per frame for
                image rows): the question, the options and the rollout format (:data:`ROLLOUT_FORMAT`)
videos          ``[{"video": "/abs/clip.mp4"}]`` for video configs (``qwen_vl_utils.fetch_video``'s form)
images          ``[{"image": "/abs/frame.jpg"}, …]`` for image configs (``fetch_image``'s form); a config
                has one of the two columns
ability         ``"video_reasoning"``
reward_model    ``{"style": "rule", "ground_truth": <answer letter, or the reference text>}``
extra_info      ``{index, id, split, task, question_type, options, answer_text, keyframe_times,
                boxes, box_reading, image_size, evidence}``
==============  ==================================================================================

``keyframe_times`` holds only times recovered by image matching (``data prepare``; a time from a guessed
``--fps`` is never ground truth), ``boxes`` the row's key-object boxes as 0–1 corners of the key-frame image,
only where the row's box reading was decided. ``--format swift`` writes ``DIR/<split>.jsonl`` with
``{"messages": [...], "videos"|"images": [paths], "solution": <ground truth>, …}`` plus the same fields,
which ms-swift passes to reward functions as keyword arguments. ``--format easyr1`` writes
``DIR/<split>.parquet`` with EasyR1's string columns: ``problem`` (the prompt text), ``answer`` (a JSON object:
the ground truth under ``answer`` and the labels beside it, since EasyR1 hands its reward only the answer
column) and ``videos`` / ``images`` (paths). The reward functions ship as one
self-contained file, :mod:`videoespresso_hf.integrations.verl_reward` (copied into ``DIR``), for verl's
``custom_reward_function.path``.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from videoespresso_hf.data.keyframes import grounding_labels
from videoespresso_hf.data.schema import CONFIG_NAMES
from videoespresso_hf.data.sources import DataError
from videoespresso_hf.files import atomic_path, write_bytes_atomic, write_jsonl_atomic
from videoespresso_hf.tasks import LEADERBOARD_TASKS

__all__ = ["EXPORT_FORMATS", "ROLLOUT_FORMAT", "ExportConfig", "ExportResult", "export_dataset", "rollout_prompt"]

EXPORT_FORMATS: tuple[str, ...] = ("verl", "easyr1", "swift")
REWARD_FILE = Path(__file__).resolve().parents[1] / "integrations" / "verl_reward.py"
LETTERS = "ABCDEFGH"
_SAFE = re.compile(r"[^A-Za-z0-9._-]")

# The one-pass grounded format the RL rewards score (kept in step with integrations/verl_reward.py).
ROLLOUT_FORMAT = (
    "First think inside <think></think>: ground each key object as "
    "<obj_start>name<obj_end><box_start>[x1,y1,x2,y2]<box_end> at <t>seconds</t>s, with the box as corners on a "
    "0-1000 grid of the frame and the time in seconds from the start of the video. Then give the final answer "
    "inside <answer></answer>{answer_rule}."
)


@dataclass
class ExportConfig:
    """What ``data export`` writes; the fields are the CLI's options."""

    prepared: str = field(metadata={"help": "the folder written by `videoespresso data prepare`"})
    out: str = field(metadata={"help": "output folder (a <split>.parquet or <split>.jsonl per split)"})
    config: str = field(default="train_video", metadata={"help": f"prepared config: {', '.join(CONFIG_NAMES)}"})
    format: str = field(default="verl", metadata={"help": "verl (parquet for verl), easyr1 (parquet for EasyR1) or swift (JSONL for ms-swift/LLaMA-Factory)"})  # fmt: skip
    split: str | None = field(default=None, metadata={"help": "one split (default: every split of the config)"})
    limit: int | None = field(default=None, metadata={"help": "at most this many rows per split"})

    def __post_init__(self) -> None:
        if self.format not in EXPORT_FORMATS:
            raise DataError(f"--format must be one of {', '.join(EXPORT_FORMATS)}, got {self.format!r}")
        if self.config not in CONFIG_NAMES:
            raise DataError(f"--config must be one of {', '.join(CONFIG_NAMES)}, got {self.config!r}")
        if self.limit is not None and self.limit < 1:
            raise DataError(f"--limit must be at least 1, got {self.limit}")
        folder = Path(self.prepared) / self.config
        if not folder.is_dir():
            raise DataError(f"{self.prepared} has no {self.config!r} config folder; run `videoespresso data prepare "
                            f"--config {self.config} --out {self.prepared}` first")  # fmt: skip
        splits = _splits(folder)
        if self.split is not None and self.split not in splits:
            raise DataError(f"{self.config} has no split {self.split!r} in {self.prepared} (it has {', '.join(splits) or 'none'})")


@dataclass
class ExportResult:
    """What was written: files per split, rows, and how many rows carry grounding labels."""

    files: dict[str, Path]
    rows: dict[str, int]
    with_times: dict[str, int]
    with_boxes: dict[str, int]
    reward_file: Path
    summary: str


def _splits(folder: Path) -> list[str]:
    return sorted({path.name.split("-", 1)[0] for path in folder.glob("*.parquet")})


def _read_rows(folder: Path, split: str) -> Iterator[dict[str, Any]]:
    import pyarrow.parquet as pq

    for path in sorted(folder.glob(f"{split}-*.parquet")):
        for batch in pq.ParquetFile(path).iter_batches(batch_size=1_000):
            yield from batch.to_pylist()


def rollout_prompt(row: Mapping[str, Any], media_tags: str) -> str:
    """The user turn: media placeholders, the question, the options (if any) and :data:`ROLLOUT_FORMAT`."""
    options = list(row.get("options") or [])
    lines = [media_tags + row["question"].strip()]
    if options:
        lines += ["Options:", *(f"({letter}) {text}" for letter, text in zip(LETTERS, options, strict=False))]
        rule = " as the option letter only, e.g. <answer>B</answer>"
    else:
        rule = " as a short free-form answer"
    lines.append(ROLLOUT_FORMAT.format(answer_rule=rule))
    return "\n".join(lines)


class _Media:
    """Absolute media paths for the exported rows; embedded bytes are written once under ``OUT/media``."""

    def __init__(self, out: Path, config: str):
        self.folder = out / "media" / config

    def path(self, value: Mapping[str, Any] | None, name: str) -> str | None:
        if not value:
            return None
        path = value.get("path")
        if value.get("bytes"):
            # Row ids and released names are data, not paths: only a plain file name under OUT/media is written.
            suffix = _SAFE.sub("_", Path(path or "").suffix)[:16] or ".bin"
            target = self.folder / (_SAFE.sub("_", name).lstrip(".") + suffix)
            if not target.is_file():
                target.parent.mkdir(parents=True, exist_ok=True)
                write_bytes_atomic(target, value["bytes"])
            return str(target.resolve())
        if path and Path(path).is_absolute() and Path(path).is_file():
            return str(path)
        return None


def _ground_truth(row: Mapping[str, Any]) -> str:
    return row.get("correct_answer") or row.get("answer") or ""


def _export_row(row: dict[str, Any], index: int, split: str, config: str, media: _Media, fmt: str) -> dict[str, Any] | None:
    task = row.get("task")
    task_name = LEADERBOARD_TASKS[task] if isinstance(task, int) else task
    video = media.path(row.get("video"), f"{row['id']}-video")
    labels = grounding_labels(row, config, video)
    images = [media.path(image, f"{row['id']}-{i}") for i, image in enumerate(row.get("images") or [])]
    images = [image for image in images if image]
    if not video and not images:
        return None  # no media on this machine: nothing a rollout could look at
    extra = {
        "index": index, "id": row["id"], "split": split, "task": task_name or "",
        "question_type": "multiple_choice" if row.get("options") else "free_form",
        "options": list(row.get("options") or []), "answer_text": row.get("answer") or "",
        "keyframe_times": list(labels.keyframe_times),
        "boxes": [{"label": label, "box": list(box)} for label, box in labels.boxes],
        "box_reading": labels.box_reading or "", "image_size": list(labels.image_size or []),
        "evidence": row.get("evidence_raw") or row.get("evidence") or "",
    }  # fmt: skip
    tags = "<video>\n" if video else "".join("<image>" for _ in images) + "\n"
    prompt = [{"role": "user", "content": rollout_prompt(row, tags)}]
    if fmt == "easyr1":  # a prompt string and one answer column: the labels travel inside the answer, as JSON
        record = {"problem": prompt[0]["content"], "answer": json.dumps({"answer": _ground_truth(row), **extra}),
                  "data_source": f"videoespresso/{config}", "id": row["id"]}  # fmt: skip
        record["videos" if video else "images"] = [video] if video else images
        return record
    if fmt == "swift":
        record: dict[str, Any] = {"messages": prompt, "solution": _ground_truth(row), "data_source": f"videoespresso/{config}"}
        record["videos" if video else "images"] = [video] if video else images
        return {**record, **{key: value for key, value in extra.items() if key != "index"}, "index": index}
    return {
        "data_source": f"videoespresso/{config}",
        "prompt": prompt,
        "videos": [{"video": video}] if video else [],
        "images": [{"image": image} for image in images] if not video else [],
        "ability": "video_reasoning",
        "reward_model": {"style": "rule", "ground_truth": _ground_truth(row)},
        "extra_info": extra,
    }


def _verl_schema():
    import pyarrow as pa

    message = pa.struct([("role", pa.string()), ("content", pa.string())])
    box = pa.struct([("label", pa.string()), ("box", pa.list_(pa.float64()))])
    return pa.schema([
        ("data_source", pa.string()),
        ("prompt", pa.list_(message)),
        ("videos", pa.list_(pa.struct([("video", pa.string())]))),
        ("images", pa.list_(pa.struct([("image", pa.string())]))),
        ("ability", pa.string()),
        ("reward_model", pa.struct([("style", pa.string()), ("ground_truth", pa.string())])),
        ("extra_info", pa.struct([
            ("index", pa.int64()), ("id", pa.string()), ("split", pa.string()), ("task", pa.string()),
            ("question_type", pa.string()), ("options", pa.list_(pa.string())), ("answer_text", pa.string()),
            ("keyframe_times", pa.list_(pa.float64())), ("boxes", pa.list_(box)), ("box_reading", pa.string()),
            ("image_size", pa.list_(pa.int64())), ("evidence", pa.string()),
        ])),
    ])  # fmt: skip


def export_dataset(config: ExportConfig | None = None, /, **kwargs: Any) -> ExportResult:
    """Write a prepared config for verl/EasyR1 (parquet) or ms-swift/LLaMA-Factory (JSONL); see the module docstring.

    Rows whose media are not on this machine are left out (counted in the summary).

    Raises:
        DataError: unknown format/config/split, or a folder with no prepared config.
    """
    if config is None:
        config = ExportConfig(**kwargs)
    elif kwargs:
        raise TypeError("pass an ExportConfig or keyword arguments, not both")
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    folder = Path(config.prepared) / config.config
    media = _Media(out, config.config)
    files, rows, with_times, with_boxes, skipped = {}, {}, {}, {}, {}
    for split in [config.split] if config.split else _splits(folder):
        records, left_out = [], 0
        for index, row in enumerate(_read_rows(folder, split)):
            if config.limit is not None and len(records) >= config.limit:
                break
            record = _export_row(row, index, split, config.config, media, config.format)
            if record is None:
                left_out += 1
                continue
            records.append(record)
        extras = [_extra_of(record, config.format) for record in records]
        rows[split], skipped[split] = len(records), left_out
        with_times[split] = sum(bool(extra["keyframe_times"]) for extra in extras)
        with_boxes[split] = sum(bool(extra["boxes"]) for extra in extras)
        files[split] = _write(out, split, records, config.format)
    reward_file = out / REWARD_FILE.name
    shutil.copyfile(REWARD_FILE, reward_file)  # self-contained: the engines load it by path
    parts = [f"{split}: {rows[split]} rows ({with_times[split]} with recovered key-frame times, {with_boxes[split]} "
             f"with decided boxes{f', {skipped[split]} left out without media' if skipped[split] else ''})"
             for split in rows]  # fmt: skip
    summary = (f"exported {config.config} as {config.format} to {out}: {'; '.join(parts)}; "
               f"reward functions: {reward_file} (compute_score)")  # fmt: skip
    return ExportResult(files, rows, with_times, with_boxes, reward_file, summary)


def _extra_of(record: Mapping[str, Any], fmt: str) -> Mapping[str, Any]:
    if fmt == "verl":
        return record["extra_info"]
    return json.loads(record["answer"]) if fmt == "easyr1" else record


def _easyr1_schema(media: str):
    import pyarrow as pa

    return pa.schema([("problem", pa.string()), ("answer", pa.string()), ("data_source", pa.string()),
                      ("id", pa.string()), (media, pa.list_(pa.string()))])  # fmt: skip


def _media_column(records: Sequence[Mapping[str, Any]], fmt: str) -> str:
    """``videos`` or ``images``: the media kind of the split (one per config), the other column is left out."""
    if fmt == "easyr1":
        return "videos" if any("videos" in record for record in records) or not records else "images"
    return "videos" if any(record["videos"] for record in records) or not records else "images"


def _write(out: Path, split: str, records: Sequence[dict[str, Any]], fmt: str) -> Path:
    if fmt == "swift":
        target = out / f"{split}.jsonl"
        write_jsonl_atomic(target, records)
        return target
    import pyarrow as pa
    import pyarrow.parquet as pq

    target = out / f"{split}.parquet"
    media = _media_column(records, fmt)
    if fmt == "easyr1":
        schema = _easyr1_schema(media)
    else:
        full = _verl_schema()
        schema = full.remove(full.get_field_index("images" if media == "videos" else "videos"))
    with atomic_path(target) as temporary:
        pq.write_table(pa.Table.from_pylist(list(records), schema=schema), temporary)
    return target

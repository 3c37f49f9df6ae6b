"""Released VideoEspresso records → schema rows (pure functions, no I/O).

The released files differ in their field names: the test set uses ``core_frames_paths`` /
``core_frames_captions``, training releases use ``path`` / ``caption`` (issue #6) or
``keyframe_path`` (issue #21). Options are ``"(A): text"`` strings and the correct answer is
``"(A)"``. Every variant maps to the same row (:mod:`videoespresso_hf.data.schema`); fields we do not
recognise are kept verbatim in ``metadata["extra_fields"]`` so nothing is lost (the test set's
undocumented "key items" field among them).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from videoespresso_hf.data.evidence import parse_evidence
from videoespresso_hf.data.schema import empty_row
from videoespresso_hf.tasks import TASK_GROUPS, UnknownTaskError, canonical_task, task_group

__all__ = [
    "KNOWN_SOURCES",
    "core_frames_from_record",
    "generated_record_to_row",
    "parse_correct_letter",
    "parse_frame_name",
    "release_record_to_row",
    "row_to_release_record",
    "source_from_path",
    "strip_option_letter",
]

LETTERS = "ABCDEFGH"

# Source datasets seen in released paths (canonical spelling); matched case-insensitively.
KNOWN_SOURCES: tuple[str, ...] = ("XD-Violence", "vatex", "CUVA", "Moviechat", "Storystream")
_SOURCE_LOOKUP = {name.lower(): name for name in KNOWN_SOURCES}
# Path components that are containers, not sources.
_CONTAINER_DIRS = {"all_video", "videos", "video", "images", "image", "frames", "train", "test", "data", ""}

# Field-name variants across releases, in order of preference.
FRAME_PATH_KEYS = ("core_frames_paths", "core_frame_paths", "core_frames_path", "core_frame_path",
                   "keyframe_paths", "keyframe_path", "key_frame_path", "key_frames_path", "paths", "path")  # fmt: skip
FRAME_CAPTION_KEYS = ("core_frames_captions", "core_frame_captions", "core_frames_caption", "core_frame_caption",
                      "keyframe_captions", "keyframe_caption", "key_frame_caption", "captions", "caption")  # fmt: skip
VIDEO_PATH_KEYS = ("video_path", "video", "video_name", "video_id")
_CONSUMED_KEYS = {"question", "answer", "options", "correct_answer", "task", "evidence", "id",
                  *FRAME_PATH_KEYS, *FRAME_CAPTION_KEYS, *VIDEO_PATH_KEYS}  # fmt: skip

_OPTION_PREFIX = re.compile(r"^\s*(?:\(\s*([A-Ha-h])\s*\)|([A-Ha-h])\s*[.:)])\s*[:.]?\s*")
_LETTER = re.compile(r"\(?\s*\b([A-H])\b\s*\)?")
_STORYSTREAM_TIME = re.compile(r"keyframe_(\d+)-(\d+)-(\d+)-(\d+)$")
_FRAME_NUMBER = re.compile(r"(?:^|[_-])(?:frame[_-]?)?(\d+)$")


def strip_option_letter(option: str) -> str:
    """``"(A): a man runs"`` → ``"a man runs"``; also ``"A. text"``, ``"A) text"``; other text unchanged."""
    return _OPTION_PREFIX.sub("", str(option), count=1).strip()


def parse_correct_letter(value: Any, n_options: int | None = None) -> str:
    """The answer letter from ``"(A)"``, ``"A"``, ``"(B): text"`` or a 0-based index; ``""`` if none."""
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, int):
        return LETTERS[value] if 0 <= value < (n_options or len(LETTERS)) else ""
    match = _LETTER.match(str(value).strip())
    return match.group(1) if match else ""


def _options_list(options: Any) -> list[str]:
    if options is None:
        return []
    if isinstance(options, Mapping):  # {"A": "text", ...}
        return [str(options[key]) for key in sorted(options)]
    if isinstance(options, str):
        return [options]
    return [str(option) for option in options]


def parse_frame_name(path: str) -> tuple[int | None, float | None]:
    """Frame number and/or timestamp (seconds) encoded in a key-frame file name.

    ``".../480.jpg"`` → ``(480, None)``; Storystream ``"000027_keyframe_1-38-11-958.jpg"`` → ``(None, 5891.958)``
    (h-m-s-ms); names with no trailing number → ``(None, None)``.
    """
    name = str(path).replace("\\", "/").rsplit("/", 1)[-1]
    stem = name.rsplit(".", 1)[0] if "." in name[1:] else name
    match = _STORYSTREAM_TIME.search(stem)
    if match:
        hours, minutes, seconds, fraction = match.groups()
        return None, int(hours) * 3600 + int(minutes) * 60 + int(seconds) + int(fraction) / 10 ** len(fraction)
    match = _FRAME_NUMBER.search(stem)
    return (int(match.group(1)), None) if match else (None, None)


@functools.lru_cache(maxsize=65_536)  # ~10 QA rows share a video path
def source_from_path(path: str | None) -> str:
    """Source dataset named in a released path: ``"all_video/XD-Violence/x.mp4"`` → ``"XD-Violence"``.

    A known source anywhere in the path wins; otherwise the first component that is not a container
    folder (``all_video``, ``videos``, …) and not the file name; ``""`` if none.
    """
    if not path:
        return ""
    parts = [part for part in str(path).replace("\\", "/").split("/") if part not in (".", "")]
    for part in parts[:-1]:
        if part.lower() in _SOURCE_LOOKUP:
            return _SOURCE_LOOKUP[part.lower()]
    for part in parts[:-1]:
        if part.lower() not in _CONTAINER_DIRS and not part.lower().startswith("videoespresso"):
            return part
    return ""


def _first_present(record: Mapping[str, Any], keys: Sequence[str]) -> Any:
    for key in keys:
        if key in record and record[key] is not None:
            return record[key]
    return None


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def core_frames_from_record(record: Mapping[str, Any], fps: float | None = None) -> list[dict[str, Any]]:
    """``core_frames`` items (path, caption, frame_index, timestamp) from any released field variant.

    ``timestamp`` is ``frame_index / fps`` when ``fps`` is given, or the time written in the file name
    (Storystream); otherwise None.
    """
    paths = [str(p) for p in _as_list(_first_present(record, FRAME_PATH_KEYS))]
    captions = [str(c) for c in _as_list(_first_present(record, FRAME_CAPTION_KEYS))]
    frames = []
    for position, path in enumerate(paths):
        frame_index, timestamp = parse_frame_name(path)
        if timestamp is None and frame_index is not None and fps:
            timestamp = frame_index / fps
        caption = captions[position] if position < len(captions) else ""
        frames.append({"path": path, "caption": caption, "frame_index": frame_index, "timestamp": timestamp})
    return frames


@functools.lru_cache(maxsize=1_024)
def _lookup_task(raw_task: str) -> tuple[str, str] | None:
    try:
        task = canonical_task(raw_task)
    except UnknownTaskError:
        return None
    return task, task_group(task)


def _task_fields(raw_task: Any, metadata: dict[str, Any]) -> tuple[str | None, str | None]:
    if raw_task is None or raw_task == "":
        return None, None
    found = _lookup_task(str(raw_task))
    if found is None:
        metadata["task_raw"] = raw_task  # kept so a newer task list can recover it
        return None, None
    if str(raw_task) != found[0]:
        metadata["task_raw"] = raw_task
    return found


def release_record_to_row(
    record: Mapping[str, Any],
    *,
    id_prefix: str,
    index: int,
    fps: float | None = None,
    fps_by_source: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """One record of ``bench_hard.json`` or a training annotation file → a schema row.

    ``video`` and ``images`` are left empty: media are resolved against files on disk later.

    Args:
        record: the released JSON object.
        id_prefix: e.g. ``"bench"`` or ``"train"``; the id is ``f"{id_prefix}-{index:06d}"``.
        index: position of the record in its file (stable across runs).
        fps: sampling fps that core-frame numbers refer to, for every source.
        fps_by_source: per-source fps (wins over ``fps``), keyed by source name (case-insensitive).

    Raises:
        ValueError: if the record is not a JSON object or has no ``question``.
    """
    if not isinstance(record, Mapping):
        raise ValueError(f"record {index} is a {type(record).__name__}, expected a JSON object")
    if not isinstance(record.get("question"), str):
        raise ValueError(f"record {index} has no 'question' text (keys: {sorted(record)[:12]})")
    row = empty_row()
    metadata: dict[str, Any] = {}
    video_path = _first_present(record, VIDEO_PATH_KEYS)
    row["video_path"] = str(video_path) if video_path is not None else ""
    frame_paths = _as_list(_first_present(record, FRAME_PATH_KEYS))
    source = source_from_path(row["video_path"]) or (source_from_path(str(frame_paths[0])) if frame_paths else "")
    lower_fps = {key.lower(): value for key, value in (fps_by_source or {}).items()}
    row_fps = lower_fps.get(source.lower(), fps)
    options = [strip_option_letter(option) for option in _options_list(record.get("options"))]
    evidence = parse_evidence(record.get("evidence") if isinstance(record.get("evidence"), str) else None)
    task, group = _task_fields(record.get("task"), metadata)
    row.update(
        id=f"{id_prefix}-{index:06d}",
        question=record["question"],
        answer=str(record.get("answer") or ""),
        options=options,
        correct_answer=parse_correct_letter(record.get("correct_answer"), len(options)) if options else "",
        task=task,
        task_group=group,
        evidence=evidence.text,
        evidence_raw=evidence.raw,
        key_objects=[obj.to_dict() for obj in evidence.key_objects],
        core_frames=core_frames_from_record(record, row_fps),
        source=source,
        fps=row_fps,
    )
    if "id" in record:
        metadata["released_id"] = record["id"]
    if not isinstance(record.get("evidence"), str | None):
        metadata["evidence_value"] = record["evidence"]
    extra = {key: value for key, value in record.items() if key not in _CONSUMED_KEYS}
    if extra:
        metadata["extra_fields"] = extra
    row["metadata"] = _metadata_json(metadata)
    return row


def row_to_release_record(row: Mapping[str, Any], task: str) -> dict[str, Any]:
    """A schema row → the ``bench_hard.json`` layout (key order as released), with our ``id`` first.

    The inverse of :func:`release_record_to_row` (what models and lmms-eval tasks see of a bench item).
    """
    metadata = json.loads(row.get("metadata") or "{}")
    frames = row.get("core_frames") or []
    record: dict[str, Any] = {
        "id": row["id"],
        "core_frames_paths": [frame["path"] for frame in frames],
        "core_frames_captions": [frame["caption"] for frame in frames],
        "question": row["question"],
        "answer": row["answer"],
        **metadata.get("extra_fields", {}),
        "evidence": row.get("evidence_raw") or row.get("evidence") or "",
        "task": metadata.get("task_raw") or task,
        "correct_answer": f"({row['correct_answer']})" if row.get("correct_answer") else "",
        "video_path": row.get("video_path") or "",
        "options": [f"({letter}): {text}" for letter, text in zip(LETTERS, row.get("options") or [], strict=False)],
    }
    return record


def _metadata_json(metadata: dict[str, Any]) -> str:
    if not metadata:
        return "{}"
    if len(metadata) == 1 and isinstance(metadata.get("task_raw"), str):  # the common case, 3x faster
        return '{"task_raw": ' + json.dumps(metadata["task_raw"], ensure_ascii=False) + "}"
    return json.dumps(metadata, ensure_ascii=False, sort_keys=True)


def generated_record_to_row(record: Mapping[str, Any], line_number: int = 0) -> dict[str, Any]:
    """One line of the pipeline's ``generated/{train,test}.jsonl`` → a schema row.

    The line holds the schema fields with ``task``/``task_group`` as names (any known spelling),
    ``metadata`` as a JSON string (a dict is accepted) and ``video`` as an absolute path.
    Missing fields take their empty values; unknown fields go to ``metadata["extra_fields"]``.

    Raises:
        ValueError: on a non-object line, a missing ``question``, or malformed ``key_objects``/``core_frames``.
    """
    where = f"line {line_number}"
    if not isinstance(record, Mapping):
        raise ValueError(f"{where}: expected a JSON object, got {type(record).__name__}")
    if not isinstance(record.get("question"), str):
        raise ValueError(f"{where}: no 'question' text")
    row = empty_row()
    metadata_value = record.get("metadata") or "{}"
    try:
        metadata = json.loads(metadata_value) if isinstance(metadata_value, str) else dict(metadata_value)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{where}: 'metadata' is not a JSON object: {error}") from None
    for key, value in record.items():
        if key in row and key not in ("metadata", "task", "task_group"):
            row[key] = value
        elif key not in row:
            metadata.setdefault("extra_fields", {})[key] = value
    task, group = _task_fields(record.get("task"), metadata)
    raw_group = record.get("task_group")
    if group is None and raw_group:
        if raw_group in TASK_GROUPS:
            group = raw_group
        else:  # not a class of the schema: Arrow encoding would fail, so keep it like an unknown task
            metadata["task_group_raw"] = raw_group
    row["task"] = task
    row["task_group"] = group
    if not row["id"]:
        digest = hashlib.sha1(f"{row['video_path']}\x00{row['question']}".encode()).hexdigest()[:16]
        row["id"] = f"gen-{digest}"
    row["options"] = [str(option) for option in row["options"] or []]
    try:
        row["key_objects"] = [
            {"label": str(obj.get("label", "")), "boxes": [[float(v) for v in box] for box in obj.get("boxes") or []],
             "box_status": str(obj.get("box_status") or ("ok" if obj.get("boxes") else "empty"))}
            for obj in row["key_objects"] or []
        ]  # fmt: skip
        row["core_frames"] = [
            {"path": str(frame.get("path") or ""), "caption": str(frame.get("caption") or ""),
             "frame_index": None if frame.get("frame_index") is None else int(frame["frame_index"]),
             "timestamp": None if frame.get("timestamp") is None else float(frame["timestamp"])}
            for frame in row["core_frames"] or []
        ]  # fmt: skip
    except (AttributeError, TypeError, ValueError) as error:
        raise ValueError(f"{where}: malformed key_objects/core_frames: {error}") from None
    if any(len(box) != 4 for obj in row["key_objects"] for box in obj["boxes"]):
        raise ValueError(f"{where}: every box must have 4 numbers [x1, y1, x2, y2]")
    if not row["evidence"] and row["evidence_raw"]:
        row["evidence"] = parse_evidence(row["evidence_raw"]).text
    if not row["source"]:
        row["source"] = source_from_path(row["video_path"])
    row["fps"] = None if row["fps"] is None else float(row["fps"])
    row["metadata"] = json.dumps(metadata, ensure_ascii=False, sort_keys=True)
    return row

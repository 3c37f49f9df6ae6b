"""The one record schema shared by every VideoEspresso config (bench, train_video, train_multi_image, generated).

One row is one QA item, whether released or written by the construction pipeline (whose export
writes this schema, so ``generated`` loads like the other configs); :data:`FIELDS` lists the columns in order, :func:`features` gives the typed
``datasets.Features``, :func:`empty_row` the defaults a missing value takes, and
:func:`encode_row` turns a row into the Arrow-ready form (class names → ids, media → ``{"path","bytes"}``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from videoespresso_hf.data.evidence import BOX_STATUSES
from videoespresso_hf.tasks import LEADERBOARD_TASKS, TASK_GROUPS

if TYPE_CHECKING:
    import pyarrow as pa
    from datasets import Features

__all__ = [
    "BOX_STATUSES",
    "CONFIG_NAMES",
    "FIELDS",
    "SCHEMA_VERSION",
    "arrow_schema",
    "empty_row",
    "encode_row",
    "features",
]

SCHEMA_VERSION = 1
CONFIG_NAMES: tuple[str, ...] = ("bench", "train_video", "train_multi_image", "generated")

FIELDS: tuple[str, ...] = (
    "id", "question", "answer", "options", "correct_answer", "task", "task_group", "evidence",
    "evidence_raw", "key_objects", "core_frames", "images", "source", "video", "video_path", "fps", "metadata",
)  # fmt: skip


def features(decode_media: bool = True) -> Features:
    """The typed schema of every config.

    Args:
        decode_media: ``False`` gives ``Video(decode=False)`` / ``Image(decode=False)`` (rows hold
            ``{"path", "bytes"}`` dicts; no torchcodec or PIL needed to read them).
    """
    # Imported here: ``records`` and the pipeline's export need FIELDS/empty_row, not the 2 s ``datasets`` import.
    from datasets import ClassLabel, Features, Image, List, Value, Video

    return Features(
        {
            "id": Value("string"),
            "question": Value("string"),
            "answer": Value("string"),
            "options": List(Value("string")),
            "correct_answer": Value("string"),
            "task": ClassLabel(names=list(LEADERBOARD_TASKS)),
            "task_group": ClassLabel(names=list(TASK_GROUPS)),
            "evidence": Value("string"),
            "evidence_raw": Value("string"),
            "key_objects": List(
                {
                    "label": Value("string"),
                    "boxes": List(List(Value("float32"), length=4)),
                    "box_status": Value("string"),
                }
            ),
            "core_frames": List(
                {
                    "path": Value("string"),
                    "caption": Value("string"),
                    "frame_index": Value("int32"),
                    "timestamp": Value("float32"),
                }
            ),
            # Key-frame images aligned with ``core_frames`` where the images exist (train_multi_image);
            # a missing image is None, rows without images have [].
            "images": List(Image(decode=decode_media)),
            "source": Value("string"),
            "video": Video(decode=decode_media),
            "video_path": Value("string"),
            "fps": Value("float32"),
            "metadata": Value("string"),
        }
    )


def empty_row() -> dict[str, Any]:
    """A row with every field at its "missing" value (None, "", [] or "{}")."""
    return {
        "id": "",
        "question": "",
        "answer": "",
        "options": [],
        "correct_answer": "",
        "task": None,
        "task_group": None,
        "evidence": "",
        "evidence_raw": "",
        "key_objects": [],
        "core_frames": [],
        "images": [],
        "source": "",
        "video": None,
        "video_path": "",
        "fps": None,
        "metadata": "{}",
    }


_TASK_IDS = {name: index for index, name in enumerate(LEADERBOARD_TASKS)}
_GROUP_IDS = {name: index for index, name in enumerate(TASK_GROUPS)}


def _encode_media(value: Any) -> dict | None:
    if value is None:
        return None
    if isinstance(value, Mapping):
        return {"bytes": value.get("bytes"), "path": value.get("path")}
    return {"bytes": None, "path": str(value)}


def encode_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """The Arrow storage form of a (decoded-form) row, matching ``features().arrow_schema``.

    A fast, schema-specific equivalent of ``features().encode_example(row)`` (no per-value
    dispatch): ``task``/``task_group`` names → class ids, ``video``/``images`` (path string or
    ``{"path", "bytes"}``) → ``{"bytes", "path"}``, ``metadata`` dicts → JSON text.

    Raises:
        ValueError: on a task or group name outside the schema's class names.
    """
    out = dict(row)
    for key, ids in (("task", _TASK_IDS), ("task_group", _GROUP_IDS)):
        value = out.get(key)
        if isinstance(value, str):
            if value not in ids:
                raise ValueError(f"{key} {value!r} is not one of {list(ids)}")
            out[key] = ids[value]
    out["video"] = _encode_media(out.get("video"))
    out["images"] = [_encode_media(image) for image in out.get("images") or []]
    metadata = out.get("metadata")
    if not isinstance(metadata, str):
        out["metadata"] = json.dumps(metadata or {}, ensure_ascii=False, sort_keys=True)
    return out


def arrow_schema() -> pa.Schema:
    """``features().arrow_schema`` (with the ``huggingface`` metadata that restores the Features on load)."""
    return features().arrow_schema


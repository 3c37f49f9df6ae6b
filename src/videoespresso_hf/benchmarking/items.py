"""Benchmark items from a prepared folder (``videoespresso data prepare``) or a Hub dataset, and the
released record layout that predictions are written in.

A schema row (:mod:`videoespresso_hf.data.schema`) is turned back into a ``bench_hard.json`` record —
``"(A): text"`` options, ``"(B)"`` answers, leaderboard task names, the undocumented extra fields —
so that ``videoespresso score``/``judge``, the authors' ``eval/score.py`` and any peer script read our
predictions as they read the release.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from videoespresso_hf.data.hub import prepared_media_roots
from videoespresso_hf.data.media import MediaPathError, confine
from videoespresso_hf.data.prepared import load_prepared
from videoespresso_hf.data.records import row_to_release_record
from videoespresso_hf.files import cache_dir, write_bytes_atomic
from videoespresso_hf.text import printable

__all__ = ["BenchItem", "dataset_fingerprint", "load_bench_items", "resolve_video"]


@dataclass(frozen=True)
class BenchItem:
    """One question: the fields prompts need, where its video is, and the record predictions extend."""

    id: str
    question: str
    options: tuple[str, ...]  # option texts without "(A): "
    task: str  # leaderboard name ("" when the row has none)
    video: str | None  # local path, or None when the row has no video (or names one outside its roots)
    record: dict[str, Any]  # the released layout, see :func:`~videoespresso_hf.data.records.row_to_release_record`
    video_problem: str | None = None  # why ``video`` is None when the row names one: a refused path


def resolve_video(value: Any) -> str | None:
    """The local file of a ``Video(decode=False)`` value: its path, or its embedded bytes written once to a cache."""
    if not value:
        return None
    if value.get("bytes"):
        data = value["bytes"]
        suffix = Path(value.get("path") or "video.mp4").suffix or ".mp4"
        path = cache_dir("videos") / f"{hashlib.sha256(data).hexdigest()[:32]}{suffix}"
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            write_bytes_atomic(path, data)
        return str(path)
    return value.get("path") or None


def _load_rows(data: str, config: str, split: str):
    """The rows through the one prepared-data reader (:func:`videoespresso_hf.data.prepared.load_prepared`: a
    local folder's config/split checked, a Hub id through ``datasets``, one-line errors), without the images:
    a question is asked over its video."""
    return load_prepared(data, config, split).remove_columns(["images"])


def load_bench_items(data: str | os.PathLike, config: str = "bench", split: str = "test") -> list[BenchItem]:
    """The items of ``config``/``split`` of a prepared folder or Hub dataset, in dataset order.

    Raises:
        DataError: the dataset cannot be loaded or is not in our schema (one line).
    """
    dataset = _load_rows(str(data), config, split)
    task_names = dataset.features["task"]
    # A local prepared folder's rows may name video files: only those inside its media roots are opened.
    roots = prepared_media_roots(data, config) if Path(data).is_dir() else None
    items = []
    for row in dataset:
        task = task_names.int2str(row["task"]) if row["task"] is not None else ""
        video, problem = _confined_video(row["video"], roots)
        items.append(
            BenchItem(
                id=row["id"],
                question=row["question"],
                options=tuple(row["options"] or ()),
                task=task,
                video=video,
                record=row_to_release_record(row, task),
                video_problem=problem,
            )
        )
    return items


def _confined_video(value: Any, roots: list[Path] | None) -> tuple[str | None, str | None]:
    """The row's local video file, or ``None`` and why: a path leading outside ``roots`` is never opened
    (:func:`videoespresso_hf.data.media.confine`, the rule ``data prepare`` and the viewer apply)."""
    if roots is None or not value or value.get("bytes") or not value.get("path"):
        return resolve_video(value), None
    try:
        return str(confine(value["path"], roots)), None
    except MediaPathError as error:
        return None, printable(f"video path {error.path!r} {error.reason}")


def dataset_fingerprint(items: list[BenchItem]) -> str:
    """A short hash of the item ids and questions: the same data gives the same value (recorded in the sidecar)."""
    digest = hashlib.sha256()
    for item in items:
        digest.update(f"{item.id}\x00{item.question}\x00".encode())
    return digest.hexdigest()[:16]

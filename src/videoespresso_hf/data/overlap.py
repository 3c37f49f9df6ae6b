"""Which videos two prepared configs share: the check that training data does not contain the bench.

Two rows show the same video when the video files have the same content key
(:func:`videoespresso_hf.video.video_identity`: the key the build's state store and training's caption
cache use, so a renamed or re-packed copy still matches), or when the release names the same source
video for both (``source`` is one of :data:`~videoespresso_hf.data.records.KNOWN_SOURCES` and the file
stems agree: ``vatex/RgtipEqA7ZA_000046_000056``), which catches a copy re-encoded or trimmed
differently, and rows with key-frame images only (``train_multi_image``).

``videoespresso data check-overlap A B`` lists them; ``data prepare`` warns after writing a config that
shares videos with the bench in the same folder and records what it found in the folder's manifest
(:func:`record_bench_overlap`), so that ``train`` warns too (:func:`recorded_bench_overlap`) without hashing
every video again at the start of each run.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from videoespresso_hf.data.hub import prepared_media_roots
from videoespresso_hf.data.media import MediaPathError, confine
from videoespresso_hf.data.records import KNOWN_SOURCES
from videoespresso_hf.data.sources import DataError
from videoespresso_hf.video.identity import video_identity

__all__ = [
    "OverlapReport",
    "SharedVideo",
    "bench_overlap_warnings",
    "record_bench_overlap",
    "recorded_bench_overlap",
    "shared_videos",
    "shared_videos_between",
]

_EVALUATION_CONFIG = "bench"
_COLUMNS = ["id", "video", "video_path", "source"]


@dataclass(frozen=True)
class SharedVideo:
    """One video found in both configs, and the rows of each that use it."""

    by: str  # "content" (same video bytes) or "source id" (the release names the same source video)
    key: str  # the content key, or "source/stem"
    ids_a: tuple[str, ...]
    ids_b: tuple[str, ...]
    path_a: str  # the video_path of the first row of each side
    path_b: str

    def describe(self) -> str:
        def rows(ids: tuple[str, ...]) -> str:
            return ", ".join(ids[:3]) + (f" (+{len(ids) - 3})" if len(ids) > 3 else "")

        key = self.key[:16] if self.by == "content" else self.key
        return f"{self.by} {key}: {self.path_a} [{rows(self.ids_a)}] = {self.path_b} [{rows(self.ids_b)}]"


@dataclass
class OverlapReport:
    """What :func:`shared_videos` compared and found."""

    config_a: str
    config_b: str
    rows_a: int = 0
    rows_b: int = 0
    videos_a: int = 0  # distinct video files hashed
    videos_b: int = 0
    unhashed_a: int = 0  # rows whose video could not be hashed (none, missing, or outside the folder's roots)
    unhashed_b: int = 0
    shared: list[SharedVideo] = field(default_factory=list)

    @property
    def shared_rows_a(self) -> int:
        return len({row for video in self.shared for row in video.ids_a})

    @property
    def shared_rows_b(self) -> int:
        return len({row for video in self.shared for row in video.ids_b})

    def summary(self) -> str:
        by_content = sum(video.by == "content" for video in self.shared)
        return (
            f"{self.config_a} and {self.config_b} share {len(self.shared)} video(s) "
            f"({by_content} by content, {len(self.shared) - by_content} by source id only): "
            f"{self.shared_rows_a} of {self.rows_a} rows of {self.config_a}, "
            f"{self.shared_rows_b} of {self.rows_b} rows of {self.config_b}; hashed {self.videos_a} and "
            f"{self.videos_b} video files ({self.unhashed_a} and {self.unhashed_b} rows without a readable video)"
        )


def _rows(folder: Path, config: str) -> Iterator[dict[str, Any]]:
    import pyarrow.parquet as pq

    shards = sorted((folder / config).glob("*.parquet"))
    if not shards:
        raise DataError(
            f"{folder / config} holds no prepared rows; run `videoespresso data prepare --config {config} --out {folder}`"
        )
    for shard in shards:
        parquet = pq.ParquetFile(shard)
        columns = [name for name in _COLUMNS if name in parquet.schema_arrow.names]
        for batch in parquet.iter_batches(columns=columns, batch_size=256):
            yield from batch.to_pylist()


def _source_id(row: dict[str, Any]) -> str | None:
    """``source/stem`` when the release names the source dataset of the row's video, else None."""
    source, video_path = row.get("source") or "", row.get("video_path") or ""
    if source not in KNOWN_SOURCES or not video_path:
        return None
    return f"{source}/{PurePosixPath(video_path.replace(chr(92), '/')).stem}"


class _Side:
    """One config's rows indexed by content key and by source id."""

    def __init__(self, folder: Path, config: str):
        self.label = f"{folder.name}/{config}"
        self.roots = prepared_media_roots(folder, config)
        self.by_content: dict[str, list[str]] = defaultdict(list)
        self.by_source: dict[str, list[str]] = defaultdict(list)
        self.paths: dict[str, str] = {}
        self.rows = self.unhashed = 0
        self._keys: dict[str, str | None] = {}  # media path or sha1 of embedded bytes -> content key
        for row in _rows(folder, config):
            self.rows += 1
            row_id = str(row.get("id") or f"row {self.rows}")
            key = self._content_key(row.get("video"))
            if key is None:
                self.unhashed += 1
            else:
                self.by_content[key].append(row_id)
                self.paths.setdefault(key, row.get("video_path") or "")
            source_id = _source_id(row)
            if source_id is not None:
                self.by_source[source_id].append(row_id)
                self.paths.setdefault(source_id, row.get("video_path") or "")

    def _content_key(self, video: dict[str, Any] | None) -> str | None:
        if not video:
            return None
        if video.get("bytes"):
            data = video["bytes"]
            digest = "sha1:" + hashlib.sha1(data).hexdigest()  # rows of one video carry copies of the same bytes: key them once
            if digest not in self._keys:
                # The same key as for a file: video_identity reads it from disk, so embedded bytes go through one.
                with tempfile.TemporaryDirectory() as folder:
                    path = Path(folder, "video")
                    path.write_bytes(data)
                    self._keys[digest] = video_identity(path).content_key
            return self._keys[digest]
        given = video.get("path") or ""
        if given not in self._keys:
            try:
                identity = video_identity(confine(given, self.roots)) if given else None
            except MediaPathError:
                identity = None
            self._keys[given] = identity.content_key if identity is not None and identity.exists else None
        return self._keys[given]

    @property
    def videos(self) -> int:
        return len(self.by_content)


def _compare(a: _Side, b: _Side) -> OverlapReport:
    report = OverlapReport(a.label, b.label, a.rows, b.rows, a.videos, b.videos, a.unhashed, b.unhashed)
    covered: set[tuple[str, str]] = set()
    for key in sorted(a.by_content.keys() & b.by_content.keys()):
        ids_a, ids_b = tuple(a.by_content[key]), tuple(b.by_content[key])
        report.shared.append(SharedVideo("content", key, ids_a, ids_b, a.paths[key], b.paths[key]))
        covered.update((x, y) for x in ids_a for y in ids_b)
    for key in sorted(a.by_source.keys() & b.by_source.keys()):
        ids_a, ids_b = tuple(a.by_source[key]), tuple(b.by_source[key])
        if all((x, y) in covered for x in ids_a for y in ids_b):
            continue  # the same rows already matched by content
        report.shared.append(SharedVideo("source id", key, ids_a, ids_b, a.paths[key], b.paths[key]))
    return report


def shared_videos(
    folder: str | os.PathLike, config_a: str, config_b: str, *, folder_b: str | os.PathLike | None = None
) -> OverlapReport:
    """The videos ``config_a`` and ``config_b`` of a prepared folder share (``folder_b``: B is elsewhere).

    Both configs are read from their Parquet shards (``FOLDER/CONFIG/*.parquet``, as ``data prepare``
    writes them); path-only media are opened only inside the folders their prepare recorded.

    Raises:
        DataError: a config folder holds no prepared rows.
    """
    side_a = _Side(Path(folder), config_a)
    side_b = _Side(Path(folder_b if folder_b is not None else folder), config_b)
    return _compare(side_a, side_b)


def _config_folder(spec: str, prepared: str | os.PathLike | None) -> tuple[Path, str]:
    """``OUT/bench`` (a config folder) or ``bench`` with ``prepared`` → ``(prepared folder, config)``."""
    path = Path(spec)
    if prepared is not None and not any(path.glob("*.parquet")):
        return Path(prepared), spec
    if not path.is_dir():
        raise DataError(f"{spec} is not a prepared config folder (e.g. OUT/bench); or pass --prepared OUT with a config name")
    return path.parent, path.name


def shared_videos_between(a: str, b: str, *, prepared: str | os.PathLike | None = None) -> OverlapReport:
    """:func:`shared_videos` for two configs named as ``videoespresso data check-overlap`` takes them."""
    folder_a, config_a = _config_folder(a, prepared)
    folder_b, config_b = _config_folder(b, prepared)
    return shared_videos(folder_a, config_a, config_b, folder_b=folder_b)


def bench_overlap_warnings(folder: str | os.PathLike, config: str) -> list[str]:
    """Lines for ``data prepare``: does ``config`` share videos with the bench in the same prepared folder?

    Preparing a training config checks it against the bench, preparing the bench checks every training
    config there; nothing to say (``[]``) when there is no such pair or nothing is shared.
    """
    folder = Path(folder)
    present = [path.name for path in sorted(folder.iterdir()) if path.is_dir() and any(path.glob("*.parquet"))]
    if config == _EVALUATION_CONFIG:
        pairs = [(name, config) for name in present if name != config]
    else:
        pairs = [(config, _EVALUATION_CONFIG)] if _EVALUATION_CONFIG in present else []
    lines = []
    for train, bench in pairs:
        report = shared_videos(folder, train, bench)
        if report.shared:
            lines.append(
                f"warning: contamination: {report.summary()}; list them with "
                f"`videoespresso data check-overlap {folder / train} {folder / bench}`"
            )
    return lines


_OVERLAP_KEY = "bench_overlap"


def record_bench_overlap(folder: str | os.PathLike, config: str) -> list[str]:
    """:func:`bench_overlap_warnings`, and each training config's finding (none shared, or the warning) written into
    the folder's manifest, where :func:`recorded_bench_overlap` reads it."""
    import json

    from videoespresso_hf.data.hub import MANIFEST_NAME
    from videoespresso_hf.files import write_json_atomic

    folder = Path(folder)
    present = [path.name for path in sorted(folder.iterdir()) if path.is_dir() and any(path.glob("*.parquet"))]
    if _EVALUATION_CONFIG not in present:
        return []
    trains = [name for name in present if name != _EVALUATION_CONFIG] if config == _EVALUATION_CONFIG else [config]
    lines, findings = [], {}
    for train in trains:
        found = bench_overlap_warnings(folder, train) if train != _EVALUATION_CONFIG else []
        findings[train] = found[0] if found else ""
        lines += found
    manifest_path = folder / MANIFEST_NAME
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return lines  # no manifest to record in (not a prepared folder of ours): the warnings are still printed
    for train, warning in findings.items():
        entry = manifest.setdefault("configs", {}).get(train)
        if isinstance(entry, dict):
            entry[_OVERLAP_KEY] = warning
    write_json_atomic(manifest_path, manifest)
    return lines


def recorded_bench_overlap(folder: str | os.PathLike, config: str) -> str | None:
    """The contamination warning ``data prepare`` recorded for ``config`` (``None``: nothing shared, or never
    checked because the folder had no bench when it was prepared)."""
    import json

    from videoespresso_hf.data.hub import MANIFEST_NAME

    try:
        manifest = json.loads((Path(folder) / MANIFEST_NAME).read_text(encoding="utf-8"))
        entry = manifest["configs"][config]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    warning = entry.get(_OVERLAP_KEY) if isinstance(entry, dict) else None
    return warning or None

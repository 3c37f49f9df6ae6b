"""The released (and generated) layouts on disk → schema rows with their media resolved.

:class:`ReleaseReader` is the one place that knows where each config's files live; the
``datasets`` builder and ``videoespresso data prepare`` both read rows through it, so they agree
row for row. Reading is one streaming pass over the annotations (:meth:`ReleaseReader.checked_chunks`):
each chunk's videos/images are checked before its records are converted, and under the ``error``
policy the first missing file stops conversion while the rest of the file is only scanned, so the
one error lists every missing file. ``prepare`` writes into a staging folder that such an error
discards; the builder calls :meth:`ReleaseReader.scan_media` first, so a missing file fails before
``datasets`` starts writing its cache.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from videoespresso_hf.data.archives import ArchiveError
from videoespresso_hf.data.keyframes import KeyframeReport
from videoespresso_hf.data.media import Location, MediaLocator, MediaPathError, build_input_folders
from videoespresso_hf.data.records import (
    FRAME_PATH_KEYS,
    VIDEO_PATH_KEYS,
    generated_record_to_row,
    release_record_to_row,
)
from videoespresso_hf.data.schema import CONFIG_NAMES
from videoespresso_hf.text import printable

__all__ = [
    "CONFIG_SPECS",
    "ConfigSpec",
    "DataError",
    "MissingMediaError",
    "Omission",
    "ReleaseReader",
    "SourceOptions",
    "iter_json_records",
]

MISSING_MEDIA_POLICIES = ("error", "skip", "keep")


class DataError(ValueError):
    """Bad or missing input data; the message is one line meant for the user."""


@dataclass(frozen=True)
class Omission:
    """A row whose media could not be used (dropped with ``skip``, kept without media with ``keep``)."""

    id: str
    path: str
    reason: str
    index: int = -1  # position of the record in its annotation file


class MissingMediaError(DataError):
    """Some rows reference videos/images that are missing or unreadable (policy ``error``)."""

    def __init__(self, config: str, media: str, omissions: list[Omission], total: int):
        self.omissions = omissions
        # Ids and paths come from the release: printable keeps the message on one line and the terminal intact.
        shown = "; ".join(f"{printable(o.id)}: {o.path!r} ({o.reason})" for o in omissions[:5])
        more = f" and {len(omissions) - 5} more" if len(omissions) > 5 else ""
        fix = f"Download the media (videoespresso data download --config {config})"
        if config == "generated":  # rows point at the build's own videos: nothing to download
            fix = "Check that the videos `videoespresso build` read are still there"
        super().__init__(
            f"{config}: {len(omissions)} of {total} rows reference missing or unreadable {media}: {shown}{more}. "
            f"{fix} or pass "
            f"--missing-videos skip (leave those rows out) or keep (keep them without {media})"
        )


@dataclass(frozen=True)
class ConfigSpec:
    """Where a config's data lives and what media its rows carry."""

    name: str
    splits: tuple[str, ...]
    annotation_names: tuple[str, ...]
    media: str  # "video" or "images"
    id_prefix: str
    repo_id: str | None
    description: str


CONFIG_SPECS: dict[str, ConfigSpec] = {
    "bench": ConfigSpec(
        "bench", ("test",), ("bench_hard.json", "bench_final.json"), "video", "bench",
        "hshjerry0315/VideoEspresso-Test",
        "The 1,382-question multiple-choice benchmark (bench_hard.json + all_video.zip).",
    ),
    "train_video": ConfigSpec(
        "train_video", ("train",),
        ("videoespresso_train_video.json", "videoespresso_train.json", "merged_ano_all.json"), "video", "train",
        "hshjerry0315/VideoEspresso_train_video",
        "Training QA with chain-of-thought evidence and the source videos (Info-ZIP split archive).",
    ),
    "train_multi_image": ConfigSpec(
        "train_multi_image", ("train",),
        ("merged_ano_all.json", "videoespresso_train_multi_image.json", "videoespresso_train.json"), "images",
        "train", "hshjerry0315/VideoEspresso_train_multi_image",
        "The same training text with its key-frame images (byte-split zip part_aa…).",
    ),
    "generated": ConfigSpec(
        "generated", ("train", "test"), (), "video", "gen", None,
        "QA/evidence written by this package's construction pipeline (videoespresso build).",
    ),
}  # fmt: skip
assert tuple(CONFIG_SPECS) == CONFIG_NAMES


@dataclass
class SourceOptions:
    """How released records become rows.

    Attributes:
        fps: sampling fps that core-frame numbers refer to (all sources); None = unknown.
        fps_by_source: per-source fps, e.g. ``{"vatex": 1.0}``; wins over ``fps``.
        missing_videos: ``"error"`` (default: stop and list them), ``"skip"`` (drop those rows) or
            ``"keep"`` (keep the rows with ``video=None`` / ``None`` images).
        embed_media: store media bytes in the rows instead of absolute paths (``prepare`` only).
        extract_dir: where archive members are extracted (default: the data directory).
        annotations: explicit annotation file (overrides the per-config file names).
        verify_media: decode the first frame of every video (slow) instead of only checking the file.
        match_keyframes: recover key-frame times by matching the released key-frame images to the decoded
            videos (:mod:`videoespresso_hf.data.keyframes`) wherever both can be found; ``fps`` /
            ``fps_by_source`` then only cross-check (a disagreement is reported, the images win).
        keyframes_dir: where the released key-frame images are for a video config (the unpacked or still
            split ``train_multi_image`` release); default: the data directory.
        videos_dir: where the videos are for the ``train_multi_image`` config; default: the data directory.
        keyframe_report: filled while reading: what matching found (see :class:`KeyframeReport`).
        media_roots: folders besides the data directory (and ``extract_dir``) that media paths may lead
            into (``--media-root``); any other place is refused (:func:`videoespresso_hf.data.media.confine`).
    """

    fps: float | None = None
    fps_by_source: dict[str, float] = field(default_factory=dict)
    missing_videos: str = "error"
    embed_media: bool = False
    extract_dir: str | None = None
    annotations: str | None = None
    verify_media: bool = False
    match_keyframes: bool = True
    keyframes_dir: str | None = None
    videos_dir: str | None = None
    keyframe_report: KeyframeReport = field(default_factory=KeyframeReport, compare=False, repr=False)
    media_roots: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("keyframes_dir", "videos_dir"):
            folder = getattr(self, name)
            if folder is not None and not Path(folder).is_dir():
                raise DataError(f"--{name.replace('_', '-')} {folder} is not a folder")
        self.media_roots = tuple(str(root) for root in self.media_roots)
        missing_roots = [root for root in self.media_roots if not Path(root).is_dir()]
        if missing_roots:
            raise DataError(f"--media-root {missing_roots[0]} is not a folder")
        if self.missing_videos not in MISSING_MEDIA_POLICIES:
            raise DataError(f"missing_videos must be one of {MISSING_MEDIA_POLICIES}, got {self.missing_videos!r}")
        if self.fps is not None and not self.fps > 0:  # `not >`: NaN is refused too
            raise DataError(f"fps must be positive, got {self.fps}")
        bad = {source: fps for source, fps in self.fps_by_source.items() if not fps > 0}
        if bad:
            raise DataError(f"fps_by_source values must be positive, got {bad}")


def iter_json_records(path: str | os.PathLike, chunk_size: int = 1 << 20) -> Iterator[Any]:
    """Stream the items of a JSON array file, or the lines of a JSONL file, without loading it whole.

    Raises:
        DataError: on malformed JSON (with the line) or a file that is not UTF-8 text.
    """
    path = Path(path)
    try:
        yield from _iter_json_text(path, chunk_size)
    except UnicodeDecodeError as error:  # a ValueError, but not one the CLI reports as a user error
        raise DataError(f"{path}: not UTF-8 text ({error.reason}); re-save the file as UTF-8") from None


def _iter_json_text(path: Path, chunk_size: int) -> Iterator[Any]:
    decoder = json.JSONDecoder()
    with open(path, encoding="utf-8-sig") as handle:  # -sig: a leading BOM is dropped
        buffer = handle.read(chunk_size)
        while buffer and not buffer.strip():  # find the first significant character
            more = handle.read(chunk_size)
            if not more:
                break
            buffer += more
        stripped = buffer.lstrip()
        if not stripped.startswith("["):
            yield from _iter_jsonl(path, handle, buffer, chunk_size)
            return
        consumed_lines, position = 0, buffer.index("[") + 1
        at_eof, expect_item = False, True
        while True:
            while position < len(buffer) and buffer[position] in " \t\r\n":
                position += 1
            if position >= len(buffer) - 1 and not at_eof:
                consumed_lines += buffer.count("\n", 0, position)
                more = handle.read(chunk_size)
                at_eof = not more
                buffer, position = buffer[position:] + more, 0
                continue
            if position < len(buffer) and buffer[position] == "]":
                return
            if position < len(buffer) and buffer[position] == "," and not expect_item:
                position, expect_item = position + 1, True
                continue
            try:
                item, end = decoder.raw_decode(buffer, position)
            except json.JSONDecodeError as error:
                if at_eof:
                    line = consumed_lines + buffer.count("\n", 0, error.pos) + 1
                    raise DataError(f"{path}: malformed JSON at line {line}: {error.msg}") from None
                consumed_lines += buffer.count("\n", 0, position)
                more = handle.read(chunk_size)
                at_eof = not more
                buffer, position = buffer[position:] + more, 0
                continue
            if not expect_item:
                line = consumed_lines + buffer.count("\n", 0, position) + 1
                raise DataError(f"{path}: malformed JSON at line {line}: expected ',' between records")
            # An item that ends exactly at the buffer end may be a truncated number; re-read to be sure.
            if end >= len(buffer) and not at_eof:
                consumed_lines += buffer.count("\n", 0, position)
                more = handle.read(chunk_size)
                at_eof = not more
                buffer, position = buffer[position:] + more, 0
                continue
            yield item
            position, expect_item = end, False


def _iter_jsonl(path: Path, handle, first_chunk: str, chunk_size: int) -> Iterator[Any]:
    pending = first_chunk
    line_number = 0
    while True:
        more = handle.read(chunk_size)
        pending += more
        lines = pending.split("\n")
        pending = lines.pop() if more else ""
        for line in lines:
            line_number += 1
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as error:
                    raise DataError(f"{path}: malformed JSON on line {line_number}: {error.msg}") from None
        if not more:
            return


def _record_media_paths(record: Any, media: str, generated: bool = False) -> list[str]:
    """Media paths a raw released record references (cheap: no full conversion)."""
    if not isinstance(record, Mapping):
        return []
    if media == "images":
        for key in FRAME_PATH_KEYS:
            value = record.get(key)
            if value is not None:
                return [value] if isinstance(value, str) else [str(v) for v in value]
        return []
    for key in ("video", "video_path") if generated else VIDEO_PATH_KEYS:
        value = record.get(key)
        if isinstance(value, str) and value:
            return [value]
    return []


def _generated_image(image: Any, resolve: Callable[[str], Any]) -> Any:
    """A generated row's image (a path, or ``{"path", "bytes"}``) resolved like its video; bytes kept as given."""
    if isinstance(image, Mapping) and image.get("bytes"):
        return {"path": image.get("path"), "bytes": image["bytes"]}
    path = image.get("path") if isinstance(image, Mapping) else image
    return resolve(path) if isinstance(path, str) and path else None


def convert_records(
    config: str,
    records: list[Any],
    start: int,
    options: SourceOptions,
    resolve: Callable[[str], Any],
    skip: frozenset[int] | set[int] = frozenset(),
    source_name: str = "annotations",
) -> list[dict[str, Any]]:
    """Released (or generated) records → schema rows with media attached (pure apart from ``resolve``).

    Args:
        config: the config the records belong to.
        records: consecutive records of one annotation file, the first at position ``start``.
        options: fps settings.
        resolve: released media path → value of the ``video`` / ``images`` item (``None`` if unusable).
        skip: positions of records to leave out.
        source_name: the annotation file, for error messages.

    Raises:
        DataError: a record that is not a usable QA object.
    """
    spec = CONFIG_SPECS[config]
    generated = config == "generated"
    rows = []
    for index, record in enumerate(records, start):
        if index in skip:
            continue
        try:
            if generated:
                row = generated_record_to_row(record, index + 1)
            else:
                row = release_record_to_row(record, id_prefix=spec.id_prefix, index=index, fps=options.fps,
                                            fps_by_source=options.fps_by_source)  # fmt: skip
        except ValueError as error:
            raise DataError(f"{source_name}: {error}") from None
        if spec.media == "images":
            row["images"] = [resolve(path) for path in _record_media_paths(record, "images")]
        else:
            paths = _record_media_paths(record, "video", generated)
            row["video"] = resolve(paths[0]) if paths else None
            # Generated rows may carry their core frames' images: media like the video, resolved (and confined) alike.
            row["images"] = [_generated_image(image, resolve) for image in row.get("images") or []]
        rows.append(row)
    return rows


class ReleaseReader:
    """Rows of one config read from ``data_dir`` (see :data:`CONFIG_SPECS` for the expected files).

    Args:
        config: one of ``bench``, ``train_video``, ``train_multi_image``, ``generated``.
        data_dir: the downloaded release folder (or the pipeline output folder for ``generated``).
        options: see :class:`SourceOptions`.

    Raises:
        DataError: unknown config, missing folder or annotation file.
    """

    def __init__(self, config: str, data_dir: str | os.PathLike, options: SourceOptions | None = None):
        if config not in CONFIG_SPECS:
            raise DataError(f"unknown config {config!r}; choose one of {', '.join(CONFIG_SPECS)}")
        self.spec = CONFIG_SPECS[config]
        self.data_dir = Path(data_dir)
        if not self.data_dir.is_dir():
            raise DataError(f"data directory {self.data_dir} does not exist")
        self.options = options or SourceOptions()
        try:
            roots = list(self.options.media_roots)
            if config == "generated":  # its rows name the build's input videos by absolute path
                roots += build_input_folders(self.data_dir)
            self.locator = MediaLocator(self.data_dir, self.options.extract_dir, media_roots=roots)
        except ArchiveError as error:
            raise DataError(str(error)) from None
        self._problems: dict[str, tuple[Location | None, str | None]] = {}
        self.omissions: dict[str, list[Omission]] = {}
        self.row_counts: dict[str, int] = {}  # records per split, known after scan_media
        self.annotation_files = {split: self._annotation_file(split) for split in self._candidate_splits()}

    # -- files ------------------------------------------------------------------------------------
    def _candidate_splits(self) -> tuple[str, ...]:
        if self.spec.name != "generated":
            return self.spec.splits
        if self.options.annotations:
            return (Path(self.options.annotations).stem,)
        found = tuple(split for split in self.spec.splits if self._generated_file(split) is not None)
        if not found:
            raise DataError(
                f"generated: no {'/'.join(f'{s}.jsonl' for s in self.spec.splits)} under {self.data_dir}/generated "
                "(the output folder of `videoespresso build`)"
            )
        return found

    @property
    def splits(self) -> tuple[str, ...]:
        return tuple(self.annotation_files)

    def _generated_file(self, split: str) -> Path | None:
        for candidate in (self.data_dir / "generated" / f"{split}.jsonl", self.data_dir / f"{split}.jsonl"):
            if candidate.is_file():
                return candidate
        return None

    def _annotation_file(self, split: str) -> Path:
        if self.options.annotations:
            path = Path(self.options.annotations)
            if not path.is_file():
                raise DataError(f"annotation file {path} does not exist")
            return path
        if self.spec.name == "generated":
            return self._generated_file(split)  # type: ignore[return-value]
        try:
            found = self.locator.find_file(self.spec.annotation_names)
        except ArchiveError as error:
            raise DataError(str(error)) from None
        if found is None:
            present = sorted(p.name for p in self.data_dir.glob("*.json*"))[:10]
            raise DataError(
                f"{self.spec.name}: no annotation file ({' / '.join(self.spec.annotation_names)}) in {self.data_dir} "
                f"or its archives; JSON files present: {present or 'none'}; pass --annotations FILE"
            )
        try:
            return self.locator.materialize(found)
        except (ArchiveError, OSError) as error:
            raise DataError(f"{error} (pass --extract-dir to extract elsewhere)") from None

    # -- records ----------------------------------------------------------------------------------
    def raw_records(self, split: str) -> Iterator[Any]:
        yield from iter_json_records(self.annotation_files[split])

    def record_chunks(self, split: str, size: int) -> Iterator[tuple[int, list[Any]]]:
        """``(position of the first record, records)`` in chunks of ``size``."""
        chunk: list[Any] = []
        start = 0
        for index, record in enumerate(self.raw_records(split)):
            if not chunk:
                start = index
            chunk.append(record)
            if len(chunk) >= size:
                yield start, chunk
                chunk = []
        if chunk:
            yield start, chunk

    def _check(self, path: str) -> tuple[Location | None, str | None]:
        if path not in self._problems:
            try:
                location = self.locator.locate(path)
            except MediaPathError as error:  # never read: recorded like a missing file, with why
                self._problems[path] = (None, error.reason)
                return self._problems[path]
            try:
                problem = self.locator.problem(location, self.options.verify_media)
            except ArchiveError as error:
                problem = str(error)
            self._problems[path] = (location, problem)
        return self._problems[path]

    def checked_chunks(self, split: str, size: int = 1_000) -> Iterator[tuple[int, list[Any], frozenset[int]]]:
        """One pass over a split: ``(first position, records, positions to skip)`` with media checked.

        Rows whose media are missing or unreadable are recorded in ``self.omissions[split]``. Under the
        ``error`` policy the first such row stops the chunks (nothing more is converted); the rest of
        the file is only scanned to count them, then :class:`MissingMediaError` is raised.

        Raises:
            MissingMediaError: policy ``error`` and at least one row's media is missing or unreadable.
        """
        omissions: list[Omission] = []
        generated = self.spec.name == "generated"
        failing = False
        total = 0
        for start, records in self.record_chunks(split, size):
            total += len(records)
            skip = set()
            for index, record in enumerate(records, start):
                paths = _record_media_paths(record, self.spec.media, generated)
                for path in paths or ([] if self.spec.media == "images" else [""]):
                    problem = self._check(path)[1] if path else "no video path in record"
                    if problem:
                        omissions.append(Omission(self._row_id(record, index), path, problem, index))
                        skip.add(index)
                        break
            failing = failing or (bool(omissions) and self.options.missing_videos == "error")
            if not failing:
                yield start, records, frozenset(skip) if self.options.missing_videos == "skip" else frozenset()
        self.omissions[split] = omissions
        self.row_counts[split] = total
        if failing:
            raise MissingMediaError(self.spec.name, "videos" if self.spec.media == "video" else "images",
                                    omissions, total)  # fmt: skip

    def scan_media(self, split: str) -> list[Omission]:
        """Check every row's media without converting anything; returns the rows whose media are unusable.

        Raises:
            MissingMediaError: policy ``error`` and at least one row's media is missing or unreadable.
        """
        for _ in self.checked_chunks(split, 10_000):
            pass
        return self.omissions[split]

    def _row_id(self, record: Any, index: int) -> str:
        if self.spec.name == "generated":
            return str(record.get("id") or f"line {index + 1}") if isinstance(record, Mapping) else f"line {index + 1}"
        return f"{self.spec.id_prefix}-{index:06d}"

    def rows(self, split: str) -> Iterator[dict[str, Any]]:
        """Schema rows with media resolved (absolute paths, or bytes with ``embed_media``), in one pass.

        Raises:
            MissingMediaError: see :meth:`checked_chunks` (raised before any row with missing media is yielded).
        """
        annotator = self._keyframe_annotator(split)
        for start, records, skip in self.checked_chunks(split):
            rows = convert_records(self.spec.name, records, start, self.options, self.media_value, skip,
                                   str(self.annotation_files[split]))  # fmt: skip
            if annotator is not None:
                for row in rows:
                    annotator.annotate(row)
            yield from rows

    def _keyframe_annotator(self, split: str):
        """The key-frame matcher for ``split``, or None (matching off, ``generated``, or no image to be found)."""
        if not self.options.match_keyframes or self.spec.name == "generated":
            return None
        from videoespresso_hf.data.keyframes import KeyframeAnnotator

        annotator = KeyframeAnnotator.for_reader(self, split)
        return annotator if annotator.enabled else None

    def media_value(self, path: str) -> Any:
        """The ``video`` / ``images`` item for a released path: absolute path, ``{"path","bytes"}`` or None."""
        location, problem = self._check(path)
        if problem or location is None:
            return None
        try:
            if self.options.embed_media:
                # The stored path is the released relative one: it must not resolve on the reader's disk,
                # or datasets would keep the path and drop the bytes.
                return {"path": path, "bytes": self.locator.read_bytes(location)}
            return str(self.locator.materialize(location))
        except (ArchiveError, OSError) as error:
            raise DataError(f"cannot read {self.locator.display(location)}: {error}") from None

    def close(self) -> None:
        self.locator.close()
        for locator in getattr(self, "_extra_locators", ()):
            locator.close()

    def __enter__(self) -> ReleaseReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

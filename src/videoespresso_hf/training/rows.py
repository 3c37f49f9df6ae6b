"""Rows of a prepared config → what training needs: checked rows, decoded core frames, a skip log.

Core frames come from the row's video (``train_video``, ``generated``) or, for image-only rows
(``train_multi_image``), from its key-frame images. A bad row (video or image missing or unreadable,
a core frame without a time or past the end, empty evidence or answer) is never fatal and never silently dropped: it is counted and written with its id
and reason to ``OUT/skipped_rows.jsonl``. Rows are checked before training from the container
headers only (no frame is decoded), so a 200k-row config is checked in minutes; a frame that fails
to decode later, mid-run, is logged the same way (see :class:`SkipLog`).
"""

from __future__ import annotations

import functools
import json
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from videoespresso_hf.data.prepared import check_prepared_split, load_prepared
from videoespresso_hf.video import VideoError, VideoMetadata, VideoReader, probe

__all__ = [
    "SKIPPED_ROWS_FILE",
    "CoreClip",
    "SkipLog",
    "check_rows",
    "check_split",
    "core_frame_times",
    "decode_core_frames",
    "load_rows",
    "video_file",
]

SKIPPED_ROWS_FILE = "skipped_rows.jsonl"


def load_rows(data: str | Path, config: str, split: str = "train", max_rows: int | None = None):
    """The rows of a prepared config/split (:func:`~videoespresso_hf.data.prepared.load_prepared`: the one reader,
    media left undecoded), at most ``max_rows``.

    Raises:
        DataError: what ``load_prepared`` refuses, in one line (a config without ``split`` names the configs that
            have it).
    """
    dataset = load_prepared(data, config, split)
    if max_rows is not None:
        dataset = dataset.select(range(min(max_rows, len(dataset))))
    return dataset


def check_split(data: str | Path, config: str, split: str) -> None:
    """Refuse, before a run starts, a config that has no ``split`` (``bench`` is test-only): the check
    :func:`load_rows` makes (:func:`~videoespresso_hf.data.prepared.check_prepared_split`), without reading rows.

    Raises:
        DataError: one line naming the splits the config has and the configs that have ``split``.
    """
    check_prepared_split(data, config, split)


def video_file(row: Mapping[str, Any]) -> str | None:
    """The row's video as a local file path (``None`` if the row has none)."""
    video = row.get("video")
    path = video.get("path") if isinstance(video, Mapping) else video
    return str(path) if path else None


def _image_sources(row: Mapping[str, Any]) -> list | None:
    """The row's key-frame images (``train_multi_image``) when every core frame has one, else ``None``."""
    images = row.get("images") or []
    if not images or len(images) != len(row.get("core_frames") or []):
        return None
    sources = []
    for image in images:
        if isinstance(image, Mapping) and (image.get("bytes") or image.get("path")):
            sources.append(image.get("bytes") or image.get("path"))
        elif isinstance(image, str) and image:
            sources.append(image)
        else:
            return None
    return sources


def core_frame_times(row: Mapping[str, Any]) -> list[float]:
    """Seconds of each core frame: its ``timestamp``, else ``frame_index / fps``.

    The fps is the row's, else its video's: the released ``train_video`` annotations name key frames by
    their frame number in the video (``…/4560.jpg``) and store no fps.

    Raises:
        ValueError: a core frame has neither a timestamp nor a frame index with a known fps.
    """
    times, fps = [], None
    for frame in row.get("core_frames") or []:
        if frame.get("timestamp") is not None:
            times.append(float(frame["timestamp"]))
            continue
        if fps is None:
            fps = float(row.get("fps") or 0) or _video_fps(video_file(row))
        if frame.get("frame_index") is not None and fps:
            times.append(frame["frame_index"] / fps)
        else:
            raise ValueError("a core frame has no timestamp, and neither the row nor its video gives an fps")
    return times


def _video_fps(path: str | None) -> float | None:
    """The video's frame rate; ``None`` without a readable video."""
    probed = _probe(path) if path is not None else None
    return None if probed is None or isinstance(probed, VideoError) else probed.fps or None


def _probe(path: str) -> VideoMetadata | VideoError:
    """The video's header, read once per file version (fps and duration checks share it), or why it cannot be."""
    try:
        stat = os.stat(path)
    except OSError:
        return _probe_file(path, None, None)
    return _probe_file(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4096)
def _probe_file(path: str, mtime_ns: int | None, size: int | None) -> VideoMetadata | VideoError:
    # Keyed on the file's version too: a video replaced in the same process (a notebook) is read again.
    try:
        return probe(path)
    except VideoError as error:
        return error.with_traceback(None)  # kept in the cache: without the frames of the failed read


class SkipLog:
    """Appends ``{"id", "reason", "stage"}`` lines to ``OUT/skipped_rows.jsonl``.

    One ``write`` per line in append mode, so several DataLoader workers or processes may log
    concurrently without interleaving lines. The file is only appended to: a row that failed in a
    killed run stays listed after the resumed one.
    """

    def __init__(self, path: str | Path, *, enabled: bool = True):
        self.path = Path(path)
        self.enabled = enabled  # off in all processes but the main one for checks every process repeats

    def add(self, row_id: str, reason: str, stage: str) -> None:
        if not self.enabled:
            return
        line = json.dumps({"id": row_id, "reason": reason, "stage": stage}, ensure_ascii=False) + "\n"
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(descriptor, line.encode("utf-8"))
        finally:
            os.close(descriptor)

    def entries(self) -> list[dict]:
        """The logged rows, each (id, reason, stage) once (a resumed run checks the rows again)."""
        if not self.path.is_file():
            return []
        lines = dict.fromkeys(line for line in self.path.read_text(encoding="utf-8").splitlines() if line)
        return [json.loads(line) for line in lines]


def _row_problem(
    row: Mapping[str, Any], required_text: Sequence[str], require_video: bool
) -> tuple[str, str] | None:
    """``(reason, detail)`` of what makes the row unusable, or ``None``."""
    for name in required_text:
        if not str(row.get(name) or "").strip():
            return f"empty {name}", ""
    if not row.get("core_frames"):
        return "no core frames", ""
    try:
        times = core_frame_times(row)
    except ValueError as error:
        return "core frame without time", str(error)
    path = video_file(row)
    if path is None:
        images = _image_sources(row)
        if require_video:
            return "no video", "candidate frames are sampled from the video"
        if images is None:
            return "no video", "and no key-frame image for every core frame"
        missing = [image for image in images if isinstance(image, str) and not Path(image).is_file()]
        return ("missing key-frame image", missing[0]) if missing else None
    probed = _probe(path)
    if isinstance(probed, VideoError):
        return "unreadable video", str(probed)
    duration = probed.duration
    # A core frame must be on screen inside the clip (half a second of slack for rounded times).
    outside = [time for time in times if time > duration + 0.5 or time < 0]
    if outside:
        return "core frame outside the video", f"{outside[0]:.2f}s in a {duration:.2f}s video"
    return None


def check_rows(
    rows: Iterable[Mapping[str, Any]], required_text: Sequence[str], skip_log: SkipLog, stage: str,
    *, require_video: bool = False,
) -> tuple[list[int], Counter]:  # fmt: skip
    """Positions of the usable rows; every other row is logged with its reason.

    Args:
        required_text: row fields that must be non-empty (e.g. ``("question", "evidence_raw")``).
        require_video: image-only rows are unusable too (selector training samples from the video).

    Returns:
        ``(good_positions, reasons)`` — ``reasons`` counts the skipped rows by reason.
    """
    good, reasons = [], Counter()
    for position, row in enumerate(rows):
        problem = _row_problem(row, required_text, require_video)
        if problem is None:
            good.append(position)
            continue
        reason, detail = problem
        reasons[reason] += 1
        skip_log.add(str(row.get("id") or f"row-{position}"), f"{reason}: {detail}" if detail else reason, stage)
    return good, reasons


@dataclass
class CoreClip:
    """A row's core frames as the reasoner sees them, with the metadata of their source video."""

    frames: np.ndarray  # (N, H, W, 3) uint8
    metadata: dict[str, Any]  # {"total_num_frames", "fps", "frames_indices"}, as hybrid inference passes it


def decode_core_frames(row: Mapping[str, Any]) -> CoreClip:
    """Decode the row's core frames at their native size with the package's PyAV reader.

    Frames are in temporal order with their true indices in the source video, which is what hybrid
    inference hands the reasoner for the frames the selector chose; the reasoner's input helper then sizes
    them by the config's pixel bounds, in training as in inference.

    Raises:
        VideoError / ValueError: the video or a frame cannot be read.
    """
    path = video_file(row)
    if path is None:
        return _decode_key_frame_images(row)
    times = sorted(core_frame_times(row))
    with VideoReader(path) as reader:
        indices = [int(index) for index in reader.indices_at(times)]
        frames = reader.get_frames(indices)
        meta = {"total_num_frames": reader.num_frames, "fps": reader.metadata.fps, "frames_indices": indices}
    return CoreClip(frames, meta)


def _decode_key_frame_images(row: Mapping[str, Any]) -> CoreClip:
    """Core frames of an image-only row (``train_multi_image``): its key-frame images, in temporal order.

    The metadata gives each frame its annotated index at the row's sampling fps, so the reasoner sees
    the same timestamps as for a video row.
    """
    import io

    from PIL import Image

    sources = _image_sources(row)
    if sources is None:
        raise ValueError("no video and no key-frame image for every core frame")
    times = core_frame_times(row)
    order = sorted(range(len(times)), key=times.__getitem__)
    pictures = []
    for position in order:
        source = sources[position]
        picture = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source).convert("RGB")
        # Frames of one clip share a size: later images follow the first one's.
        pictures.append(picture.resize(pictures[0].size, Image.Resampling.BICUBIC) if pictures else picture)
    fps = float(row.get("fps") or 1.0)
    indices = [round(times[position] * fps) for position in order]
    meta = {"total_num_frames": max(indices) + 1, "fps": fps, "frames_indices": indices}
    return CoreClip(np.stack([np.asarray(picture) for picture in pictures]), meta)

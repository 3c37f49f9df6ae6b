"""Key-frame times recovered by matching the released key-frame images to the decoded video (issue 20.0).

The release stores no times. A key frame's file name (``.../480.jpg``) carries a frame number that indexes
frames sampled from the original video at 1, 2 or 4 fps, the rate varying by source (release issues #11,
#21; ``data-formats.md`` §1.1), so a key frame numbered N was shown at N/1, N/2 or N/4 seconds. Instead of
trusting a rate the user guesses, :func:`match_keyframes` decodes those candidate frames (seeking, nothing
else is decoded), compares each with the released image and keeps what the pixels say:

* **distance**: mean absolute difference of 16×16 RGB thumbnails, values in 0–1 (:func:`image_distance`);
  re-encoding and JPEG noise stay well under :data:`MATCH_THRESHOLD`, a different shot is far above it;
* **one rate per video**: a rate is accepted for a video only when every matchable key frame of that
  video is within :data:`MATCH_THRESHOLD` at that rate; when several rates fit, the one whose distances are
  :data:`CLEAR_MARGIN` times smaller than the next wins, otherwise the frames whose time depends on the rate
  are ``ambiguous``;
* **never guessed**: a frame from another video (no candidate within the threshold) is ``unmatched``, key
  frames that need different rates are ``conflict``; those carry no time.
* a time written in the file name (Storystream ``…_keyframe_1-38-11-958.jpg``) is checked the same way.

Pure apart from decoding the video (:class:`~videoespresso_hf.video.VideoReader`) and the images (PIL).
"""

from __future__ import annotations

import io
import json
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from videoespresso_hf.data.records import parse_frame_name

__all__ = [
    "CLEAR_MARGIN",
    "FRAME_STATUSES",
    "MATCH_THRESHOLD",
    "RELEASE_RATES",
    "FrameMatch",
    "GroundingLabels",
    "KeyframeReport",
    "VideoMatch",
    "grounding_labels",
    "image_distance",
    "match_keyframes",
    "thumbnail",
    "trusted_keyframe_times",
]

RELEASE_RATES: tuple[float, ...] = (1.0, 2.0, 4.0)  # fps the release sampled key frames at (issues #11, #21)
THUMBNAIL_SIZE = 16
MATCH_THRESHOLD = 0.08  # thumbnail distance (0–1) under which a decoded frame is the released image
CLEAR_MARGIN = 0.5  # a rate wins over another fitting one only when its mean distance is at most half of it
# ``matched``: time recovered; ``unmatched``: no decoded candidate looks like the image (another video?);
# ``ambiguous``: several rates fit and give different times; ``conflict``: the video's key frames need
# different rates; ``no_image`` / ``no_video`` / ``no_frame_number``: nothing to match with.
FRAME_STATUSES: tuple[str, ...] = (
    "matched", "unmatched", "ambiguous", "conflict", "no_image", "no_video", "no_frame_number",
)  # fmt: skip


def thumbnail(image: Any) -> np.ndarray:
    """A ``(16, 16, 3)`` float32 thumbnail in 0–1 of an RGB array, a PIL image, or encoded image bytes.

    Area averaging (PIL ``BOX``) makes it insensitive to the resolution the release saved the image at.
    """
    from PIL import Image

    if isinstance(image, bytes | bytearray):
        image = Image.open(io.BytesIO(image))
    elif isinstance(image, np.ndarray):
        image = Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8))
    small = image.convert("RGB").resize((THUMBNAIL_SIZE, THUMBNAIL_SIZE), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.float32) / 255.0


def image_distance(a: Any, b: Any) -> float:
    """Mean absolute difference (0–1) of the two images' thumbnails (see :func:`thumbnail`)."""
    first = a if isinstance(a, np.ndarray) and a.dtype == np.float32 and a.shape[:2] == (16, 16) else thumbnail(a)
    second = b if isinstance(b, np.ndarray) and b.dtype == np.float32 and b.shape[:2] == (16, 16) else thumbnail(b)
    return float(np.abs(first - second).mean())


@dataclass(frozen=True)
class FrameMatch:
    """What matching said about one key frame (stored per frame in a row's ``metadata["keyframes"]``).

    Attributes:
        path: the released key-frame path.
        status: one of :data:`FRAME_STATUSES`.
        time: the recovered time in seconds (``matched`` only; otherwise None).
        distance: the thumbnail distance at the chosen candidate (or the closest one when unmatched).
        candidates: candidate → distance (``"1"``, ``"2"``, ``"4"`` fps, ``"name"`` for a time in the file
            name); a candidate past the video's end is left out.
    """

    path: str
    status: str
    time: float | None = None
    distance: float | None = None
    candidates: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "status": self.status, "time": self.time,
                "distance": None if self.distance is None else round(self.distance, 4),
                "candidates": {key: round(value, 4) for key, value in self.candidates.items()}}  # fmt: skip


@dataclass(frozen=True)
class VideoMatch:
    """The key frames of one video matched together.

    Attributes:
        status: ``matched`` (a rate was decided, or no frame needed one), ``ambiguous``, ``conflict`` or
            ``unmatched`` (no frame matched at any rate).
        rate: the sampling rate (fps) the video's frame numbers refer to, when decided.
        frames: released path → :class:`FrameMatch`.
        reason: one sentence on how the rate was decided.
    """

    status: str
    rate: float | None
    frames: dict[str, FrameMatch]
    reason: str


def _rate_key(rate: float) -> str:
    return f"{rate:g}"


def match_keyframes(
    video: str | os.PathLike,
    images: Mapping[str, Any],
    *,
    rates: Sequence[float] = RELEASE_RATES,
    threshold: float = MATCH_THRESHOLD,
) -> VideoMatch:
    """Recover the times of one video's key frames by matching their images to the decoded video.

    Args:
        video: the video file the key frames were cut from.
        images: released key-frame path → its image (encoded bytes, PIL image or RGB array). The frame
            number (or time) is read from the path (:func:`~videoespresso_hf.data.records.parse_frame_name`).
        rates: the sampling rates a frame number may refer to.
        threshold: the largest thumbnail distance that counts as the same frame.

    Raises:
        VideoError: the video cannot be opened or decoded (a ``ValueError``).
    """
    from videoespresso_hf.video import VideoReader

    names = {path: parse_frame_name(path) for path in images}
    with VideoReader(video) as reader:
        end = float(reader.frame_timestamps[-1]) + 1.0 / max(reader.metadata.fps or 1.0, 1e-6)
        wanted: dict[str, dict[str, float]] = {}  # path → candidate → time
        for path, (number, name_time) in names.items():
            candidates = {}
            if number is not None:
                candidates = {_rate_key(rate): number / rate for rate in rates if number / rate < end}
            if name_time is not None and name_time < end:
                candidates["name"] = name_time
            wanted[path] = candidates
        times = sorted({time for candidates in wanted.values() for time in candidates.values()})
        decoded = dict(zip(times, reader.get_frames_at(times), strict=True)) if times else {}
    thumbs = {time: thumbnail(frame) for time, frame in decoded.items()}
    released: dict[str, np.ndarray] = {}
    for path in wanted:
        try:
            released[path] = thumbnail(images[path])
        except (OSError, ValueError):  # PIL.UnidentifiedImageError, a truncated JPEG: nothing to compare with
            continue
    distances = {
        path: {key: image_distance(released[path], thumbs[time]) for key, time in candidates.items()}
        for path, candidates in wanted.items()
        if path in released
    }
    usable = {path: name for path, name in names.items() if path in released}
    result = _decide(usable, wanted, distances, [_rate_key(rate) for rate in rates], threshold)
    for path in names.keys() - released.keys():
        result.frames[path] = FrameMatch(path, "no_image")
    return result


def _decide(
    names: Mapping[str, tuple[int | None, float | None]],
    wanted: Mapping[str, Mapping[str, float]],
    distances: Mapping[str, Mapping[str, float]],
    rate_keys: Sequence[str],
    threshold: float,
) -> VideoMatch:
    """The per-video rate decision and per-frame outcome (pure; see the module docstring)."""
    frames: dict[str, FrameMatch] = {}
    numbered = [path for path, (number, _) in names.items() if number is not None]
    fits = {path: {key for key in rate_keys if distances[path].get(key, np.inf) <= threshold} for path in numbered}
    matchable = [path for path in numbered if fits[path]]
    common = set(rate_keys).intersection(*(fits[path] for path in matchable)) if matchable else set()
    rate: str | None = None
    reason = "no key frame with a frame number matched the video at any rate"
    if matchable and not common:
        reason = "its key frames match at different rates: " + ", ".join(
            f"{Path(path).name} at {'/'.join(sorted(fits[path]))} fps" for path in matchable[:4]
        )
    elif len(common) == 1:
        rate = next(iter(common))
        reason = f"only {rate} fps puts all {len(matchable)} matching key frame(s) on their images"
    elif len(common) > 1:
        mean = {key: float(np.mean([distances[path][key] for path in matchable])) for key in common}
        ordered = sorted(common, key=lambda key: mean[key])
        if mean[ordered[0]] < CLEAR_MARGIN * mean[ordered[1]]:  # strict: two exact ties (0 = 0) stay undecided
            rate = ordered[0]
            reason = (f"{rate} fps fits every key frame clearly best (mean distance {mean[ordered[0]]:.3f} vs "
                      f"{mean[ordered[1]]:.3f} at {ordered[1]} fps)")  # fmt: skip
        else:
            reason = f"{' and '.join(sorted(common))} fps fit every key frame equally well"
    for path, (number, name_time) in names.items():
        candidates, measured = wanted[path], distances[path]
        if number is None:
            if name_time is None:
                frames[path] = FrameMatch(path, "no_frame_number")
            else:
                distance = measured.get("name")
                ok = distance is not None and distance <= threshold
                frames[path] = FrameMatch(path, "matched" if ok else "unmatched", name_time if ok else None,
                                          distance, dict(measured))  # fmt: skip
            continue
        closest = min(measured.values()) if measured else None
        if path not in matchable:
            frames[path] = FrameMatch(path, "unmatched", None, closest, dict(measured))
        elif rate is not None:
            frames[path] = FrameMatch(path, "matched", candidates[rate], measured[rate], dict(measured))
        elif common and len({candidates[key] for key in common}) == 1:  # e.g. frame 0: every rate gives 0 s
            key = next(iter(common))
            frames[path] = FrameMatch(path, "matched", candidates[key], measured[key], dict(measured))
        else:
            frames[path] = FrameMatch(path, "ambiguous" if common else "conflict", None, closest, dict(measured))
    statuses = {frame.status for path, frame in frames.items() if path in numbered}
    if rate is not None or (statuses and statuses <= {"matched", "unmatched"} and "matched" in statuses):
        status = "matched"
    elif matchable and not common:
        status = "conflict"
    elif len(common) > 1:
        status = "ambiguous"
    else:
        status = "matched" if any(frame.status == "matched" for frame in frames.values()) else "unmatched"
    return VideoMatch(status, float(rate) if rate is not None else None, frames, reason)


def trusted_keyframe_times(row: Mapping[str, Any], config: str | None = None) -> list[float | None]:
    """Per core frame of a prepared row: its time when it can be trusted as ground truth, else None.

    Trusted: a time recovered by image matching (``metadata["keyframes"]``), or any time of a ``generated`` row
    (the construction pipeline decoded those frames itself). Rewards and metrics should ground on these only:
    a released row's ``core_frames[i].timestamp`` may also come from a user-given ``--fps`` (kept for SFT, which
    only needs a plausible time), which nothing verified.
    """
    frames_of_row = row.get("core_frames") or []
    if config == "generated":
        return [None if frame.get("timestamp") is None else float(frame["timestamp"]) for frame in frames_of_row]
    frames = (_row_metadata(row).get("keyframes") or {}).get("frames") or []
    by_path = {frame.get("path"): frame for frame in frames if isinstance(frame, Mapping)}
    out: list[float | None] = []
    for core in frames_of_row:
        found = by_path.get(core.get("path"))
        out.append(float(found["time"]) if found and found.get("status") == "matched" and found.get("time") is not None
                   else None)  # fmt: skip
    return out


@dataclass(frozen=True)
class GroundingLabels:
    """What a grounded reward or metric may check a row's claims against (see :func:`grounding_labels`).

    Attributes:
        keyframe_times: trusted key-frame times (s), sorted; empty when none can be trusted.
        boxes: ``(label, (x1, y1, x2, y2))`` with corners as fractions (0–1) of the key-frame image; every box of
            the row (the release ties boxes to objects, not to one key frame); empty unless the reading is decided.
        box_reading: the decided reading (:data:`~videoespresso_hf.data.boxes.BOX_READINGS`), else None.
        image_size: ``(width, height)`` the reading was decided on, else None.
    """

    keyframe_times: tuple[float, ...]
    boxes: tuple[tuple[str, tuple[float, float, float, float]], ...]
    box_reading: str | None
    image_size: tuple[int, int] | None


def _row_metadata(row: Mapping[str, Any]) -> dict[str, Any]:
    metadata = row.get("metadata") or "{}"
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except ValueError:
            return {}
    return dict(metadata) if isinstance(metadata, Mapping) else {}


def grounding_labels(row: Mapping[str, Any], config: str | None = None, video: str | None = None) -> GroundingLabels:
    """The trusted grounding labels of a prepared row: :func:`trusted_keyframe_times` and the boxes of a decided reading.

    Released rows use the reading ``data prepare`` decided from the key-frame image (``metadata["boxes"]``).
    ``generated`` rows hold the construction pipeline's GroundingDINO pixel corners on the decoded frame, whose
    size is the video's (``video``: its path; default the row's ``video`` path), probed here.
    """
    from videoespresso_hf.data.boxes import reading_to_corners

    times = tuple(sorted(time for time in trusted_keyframe_times(row, config) if time is not None))
    reading: dict[str, Any] = dict(_row_metadata(row).get("boxes") or {})
    if config == "generated":
        reading = {}
        value = row.get("video")
        path = video or (value.get("path") if isinstance(value, Mapping) else value)
        if path and Path(path).is_file():
            from videoespresso_hf.video import VideoError, probe

            try:
                meta = probe(path)
                reading = {"status": "decided", "reading": "pixels-xyxy", "image_size": [meta.width, meta.height]}
            except (VideoError, OSError):
                reading = {}
    if reading.get("status") != "decided" or not reading.get("image_size") or not reading.get("reading"):
        return GroundingLabels(times, (), None, None)
    width, height = (int(v) for v in reading["image_size"])
    boxes = []
    for obj in row.get("key_objects") or []:
        for box in obj.get("boxes") or []:
            x1, y1, x2, y2 = reading_to_corners(box, reading["reading"], width, height)
            boxes.append((str(obj.get("label") or ""),
                          (round(x1 / width, 5), round(y1 / height, 5), round(x2 / width, 5), round(y2 / height, 5))))  # fmt: skip
    return GroundingLabels(times, tuple(boxes), reading["reading"], (width, height))


@dataclass
class KeyframeReport:
    """What key-frame matching did over a ``prepare`` run (printed by the CLI, one line per fact).

    Attributes:
        videos: video status → count.
        frames: frame status → count.
        boxes: row box-reading status → count.
        disagreements: ``(source, video, declared fps, matched fps)`` where a user-given fps contradicts
            the images (the matched rate is kept).
        enabled: False when no key-frame image could be found (nothing was matched).
        note: why matching did not run, when it did not.
    """

    videos: Counter = field(default_factory=Counter)
    frames: Counter = field(default_factory=Counter)
    boxes: Counter = field(default_factory=Counter)
    disagreements: list[tuple[str, str, float, float]] = field(default_factory=list)
    enabled: bool = False
    note: str = ""

    def summary_lines(self) -> list[str]:
        """Human-readable lines, every number with what it counts."""
        if not self.enabled:
            return [f"key-frame times: not recovered ({self.note or 'no key-frame images found'})"] if self.note else []
        total = sum(self.frames.values())
        lines = [
            f"key-frame times: {self.frames.get('matched', 0)} of {total} key frames matched to their video "
            f"({', '.join(f'{count} {status}' for status, count in sorted(self.frames.items()) if status != 'matched') or 'none other'}); "
            f"videos: {', '.join(f'{count} {status}' for status, count in sorted(self.videos.items()))}",
        ]
        if self.boxes:
            rows = sum(self.boxes.values())
            lines.append(f"box readings: {', '.join(f'{count} of {rows} rows {status}' for status, count in sorted(self.boxes.items()))}")
        for source, video, declared, found in self.disagreements[:5]:
            lines.append(f"warning: {video} ({source}): --fps/--source-fps says {declared:g} fps, "
                         f"its key-frame images say {found:g} fps (the images win)")  # fmt: skip
        if len(self.disagreements) > 5:
            lines.append(f"warning: {len(self.disagreements) - 5} more videos disagree with the given fps")
        return lines


# -- prepare: rows of a release annotated with their recovered times -------------------------------------------

_PROBE_RECORDS = 200  # records looked at to tell whether any key-frame image can be found at all


class KeyframeAnnotator:
    """Annotates the rows a :class:`~videoespresso_hf.data.sources.ReleaseReader` yields with matched times.

    Built by :meth:`for_reader` (one per split). Every key frame of a video is matched at once, the first
    time a row of that video comes by (an index of the annotation file gives all of a video's key frames,
    whichever rows name them), so all rows of a video share one rate decision.
    Per row it writes ``core_frames[i].timestamp`` (the matched time; None for a frame that was matched
    against its video and failed; a frame with no image or no video keeps the time ``--fps`` gave it),
    ``fps`` (the decided rate), ``metadata["keyframes"]`` and ``metadata["boxes"]``.
    """

    def __init__(self, reader: Any, split: str, image_locator: Any, video_locator: Any, report: KeyframeReport):
        self.reader, self.split = reader, split
        self.images, self.videos, self.report = image_locator, video_locator, report
        self.enabled = False
        self._video_frames: dict[str, list[str]] | None = None
        self._matches: dict[str, VideoMatch | str] = {}
        self._sizes: dict[str, tuple[int, int] | None] = {}
        self._warned: set[str] = set()
        self._video_boxes: dict[str, list[list[tuple[float, ...]]]] = {}  # video → boxes of each of its rows
        self._counted: set[str] = set()

    @classmethod
    def for_reader(cls, reader: Any, split: str) -> KeyframeAnnotator:
        from videoespresso_hf.data.media import MediaLocator

        options = reader.options
        extra = reader.__dict__.setdefault("_extra_locators", [])

        def locator_for(folder: str | None) -> Any:
            if folder is None or Path(folder).resolve() == reader.data_dir.resolve():
                return reader.locator
            extra.append(MediaLocator(folder, options.extract_dir or folder, media_roots=options.media_roots))
            return extra[-1]

        if reader.spec.media == "images":
            images, videos = reader.locator, locator_for(options.videos_dir)
        else:
            images, videos = locator_for(options.keyframes_dir), reader.locator
        annotator = cls(reader, split, images, videos, options.keyframe_report)
        annotator.enabled = annotator._any_image()
        report = options.keyframe_report
        report.enabled = report.enabled or annotator.enabled
        if not annotator.enabled and not report.enabled:
            where = options.keyframes_dir or reader.data_dir
            report.note = (
                "the test set ships no key-frame images: bench rows carry no times" if reader.spec.name == "bench"
                else f"no released key-frame image found under {where}; pass --keyframes-dir (the unpacked "
                "train_multi_image release) to recover times"
            )  # fmt: skip
        return annotator

    def _any_image(self) -> bool:
        from videoespresso_hf.data.sources import _record_media_paths

        for position, record in enumerate(self.reader.raw_records(self.split)):
            if position >= _PROBE_RECORDS:
                return False
            if any(self.images.locate(path) is not None for path in _record_media_paths(record, "images")):
                return True
        return False

    def _index(self) -> dict[str, list[str]]:
        """Video path → every key-frame path the annotation file names for it (one extra streaming pass)."""
        if self._video_frames is None:
            from videoespresso_hf.data.evidence import parse_evidence
            from videoespresso_hf.data.sources import _record_media_paths

            index: dict[str, dict[str, None]] = {}
            for record in self.reader.raw_records(self.split):
                video = _record_media_paths(record, "video")
                if video:
                    index.setdefault(video[0], {}).update(dict.fromkeys(_record_media_paths(record, "images")))
                    evidence = record.get("evidence")
                    boxes = [box for obj in parse_evidence(evidence if isinstance(evidence, str) else None).key_objects
                             for box in obj.boxes]  # fmt: skip
                    if boxes:
                        self._video_boxes.setdefault(video[0], []).append(boxes)
            self._video_frames = {video: list(paths) for video, paths in index.items()}
        return self._video_frames

    def _image_bytes(self, path: str) -> bytes | None:
        """The image's bytes (not kept: a release holds gigabytes); its size is remembered."""
        location = self.images.locate(path)
        data = None
        if location is not None and self.images.problem(location) is None:
            try:
                data = self.images.read_bytes(location)
            except (OSError, ValueError):
                data = None
        if path not in self._sizes:
            self._sizes[path] = _size_of(data)
        return data

    def _has_image(self, path: str) -> bool:
        return self._image_size(path) is not None

    def _image_size(self, path: str) -> tuple[int, int] | None:
        if path not in self._sizes:
            self._image_bytes(path)
        return self._sizes[path]

    def _match(self, video_path: str, row_frames: Sequence[str]) -> VideoMatch | str:
        """The video's :class:`VideoMatch`, or a frame status (``no_image`` / ``no_video``) when it cannot run."""
        if video_path in self._matches:
            return self._matches[video_path]
        from videoespresso_hf.video import VideoError

        paths = list(dict.fromkeys([*self._index().get(video_path, []), *row_frames]))
        images = {path: data for path in paths if (data := self._image_bytes(path))}
        result: VideoMatch | str
        if not images:
            result = "no_image"
        else:
            location = self.videos.locate(video_path) if video_path else None
            if location is None or self.videos.problem(location) is not None:
                result = "no_video"
            else:
                try:
                    result = match_keyframes(self.videos.materialize(location), images)
                except (VideoError, OSError, ValueError):
                    result = "no_video"
        if isinstance(result, VideoMatch):
            self.report.videos[result.status] += 1
        else:
            self.report.videos[result] += 1
        self._matches[video_path] = result
        return result

    def annotate(self, row: dict[str, Any]) -> None:
        """Write the recovered times, the decided rate and the box reading into ``row`` (in place)."""
        from videoespresso_hf.data.boxes import decide_row_box_reading, decide_video_box_reading

        frames = row.get("core_frames") or []
        if not frames:
            return
        metadata = json.loads(row.get("metadata") or "{}")
        declared_fps = row.get("fps")
        result = self._match(row.get("video_path") or "", [frame["path"] for frame in frames])
        entries = []
        for frame in frames:
            if isinstance(result, VideoMatch):
                found = result.frames.get(frame["path"]) or FrameMatch(frame["path"], "no_image")
            else:
                found = FrameMatch(frame["path"], result if self._has_image(frame["path"]) else "no_image")
            if found.status not in ("no_image", "no_video"):  # matching ran: only what it found is kept
                frame["timestamp"] = found.time
            if frame["path"] not in self._counted:  # distinct key frames, however many rows name them
                self._counted.add(frame["path"])
                self.report.frames[found.status] += 1
            entries.append(found.to_dict())
        info: dict[str, Any] = {"frames": entries, "declared_fps": declared_fps}
        if isinstance(result, VideoMatch):
            info.update(status=result.status, rate=result.rate, reason=result.reason)
            if result.rate is not None:
                video = row.get("video_path") or ""
                if declared_fps and abs(float(declared_fps) - result.rate) > 1e-6 and video not in self._warned:
                    self._warned.add(video)  # once per video, however many rows it has
                    self.report.disagreements.append((row.get("source") or "", video, float(declared_fps), result.rate))
                row["fps"] = result.rate
        else:
            info.update(status=result, rate=None, reason="key-frame images or video not found: nothing matched")
        sizes = [self._image_size(frame["path"]) for frame in frames]
        size = next((size for size in sizes if size), None)
        boxes = [box for obj in row.get("key_objects") or [] for box in obj.get("boxes") or []]
        reading = decide_row_box_reading(boxes, size)
        if reading.status == "ambiguous":
            self._index()
            reading = decide_video_box_reading(reading, self._video_boxes.get(row.get("video_path") or "", []), size)
        self.report.boxes[reading.status if reading.basis == "row" else "decided with its video's rows"] += 1
        metadata["keyframes"] = info
        metadata["boxes"] = reading.to_dict()
        row["metadata"] = json.dumps(metadata, ensure_ascii=False, sort_keys=True)


def _size_of(data: bytes | None) -> tuple[int, int] | None:
    """``(width, height)`` of encoded image bytes (header only), None when absent or not an image."""
    if not data:
        return None
    from PIL import Image, UnidentifiedImageError

    try:
        return Image.open(io.BytesIO(data)).size
    except (UnidentifiedImageError, OSError):
        return None

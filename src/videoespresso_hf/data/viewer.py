"""``videoespresso data view``: a static HTML site of a prepared config, to open from disk or publish.

Per item the page shows the question, the options with the correct one marked, the answer, the evidence
with its key objects highlighted, and the core frames as thumbnails with each key object's boxes drawn
over the frame it belongs to. Frames come from the row's images where the release ships them
(``train_multi_image``); otherwise they are decoded from the video with our PyAV reader
(:mod:`videoespresso_hf.video`), at the core frame's timestamp when the fps is known, else at its index.

The site is plain files (``index.html``, ``page-N.html``, ``assets/``, ``frames/``): no server, no
fetch, so it works from ``file://``. Items are paged (``page_size``) and capped (``limit``) so a
200k-row config never becomes one giant page; thumbnails are bounded in size and written once
(``frames/frames.json`` remembers them across runs). Filtering by task and group runs in the page.

Which frame a key object belongs to: the pipeline's ``metadata.key_object_frames`` when present, else a
released "key items" field (the test set's undocumented 5th key) that names an object and a frame;
otherwise it is unknown and the object's boxes are drawn dashed on every core frame, labelled so.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from videoespresso_hf.data.boxes import BOX_CONVENTIONS, BoxConvention, decide_box_convention, place_box
from videoespresso_hf.data.evidence import parse_evidence
from videoespresso_hf.data.hub import prepared_media_roots
from videoespresso_hf.data.media import MediaPathError, confine
from videoespresso_hf.data.sources import CONFIG_SPECS, DataError
from videoespresso_hf.files import atomic_path, write_bytes_atomic, write_text_atomic
from videoespresso_hf.tasks import LEADERBOARD_TASKS, TASK_GROUPS, task_group

__all__ = ["DEFAULT_LIMIT", "DEFAULT_PAGE_SIZE", "THUMBNAIL_MAX_SIDE", "ViewerOptions", "ViewerSite", "build_viewer"]

DEFAULT_LIMIT = 500
DEFAULT_PAGE_SIZE = 50
THUMBNAIL_MAX_SIDE = 320
FRAME_INDEX_NAME = "frames.json"
_LETTERS = "ABCDEFGH"
_ASSETS = ("viewer.css", "viewer.js")


@dataclass
class ViewerOptions:
    """What part of a prepared folder the site shows, and how.

    Attributes:
        config: ``bench``, ``train_video``, ``train_multi_image`` or ``generated``.
        split: the split (default: ``test`` when the config has one, else its first split).
        limit: at most this many items in the site (the rest is counted, not shown).
        page_size: items per HTML page.
        task: only this task (any spelling :func:`videoespresso_hf.tasks.canonical_task` accepts).
        boxes: ``auto`` (decide from the data; ``generated`` is always pixels) or one of
            :data:`videoespresso_hf.data.boxes.BOX_CONVENTIONS`.
    """

    config: str = "bench"
    split: str | None = None
    limit: int = DEFAULT_LIMIT
    page_size: int = DEFAULT_PAGE_SIZE
    task: str | None = None
    boxes: str = "auto"
    predictions: tuple[str, ...] = ()  # predictions files: each model's output, letter read and verdict per item

    def resolved_split(self) -> str:
        splits = CONFIG_SPECS[self.config].splits
        return self.split or ("test" if "test" in splits else splits[0])


@dataclass
class ViewerSite:
    """What :func:`build_viewer` wrote."""

    index: Path
    pages: list[Path]
    items: int
    rows: int
    task_counts: dict[str, int]
    box_convention: BoxConvention
    frames_written: int
    frames_reused: int


@dataclass
class _Frame:
    """One core-frame thumbnail (or why there is none)."""

    thumbnail: str | None  # site-relative path
    width: int = 0  # of the full frame: boxes are placed in these pixels
    height: int = 0
    caption: str = ""
    where: str = ""  # "frame 3", "t=1.50 s", "image 2"
    frame_index: int | None = None
    problem: str | None = None
    boxes: list[dict[str, Any]] = field(default_factory=list)


class _FrameStore:
    """Bounded thumbnails under ``SITE/frames``, written once and remembered in ``frames.json``."""

    def __init__(self, site: Path, media_roots: Sequence[Path] = ()):
        self.media_roots = list(media_roots)  # a row's media path is opened only inside these (see confine)
        self.folder = site / "frames"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.videos = site / "videos"
        self.index_path = self.folder / FRAME_INDEX_NAME
        try:
            self.index: dict[str, dict[str, Any]] = json.loads(self.index_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.index = {}
        self.written = 0
        self.reused = 0

    @staticmethod
    def key(*parts: object) -> str:
        return hashlib.sha1("\x00".join(map(str, parts)).encode()).hexdigest()[:20]

    def known(self, key: str) -> dict[str, Any] | None:
        entry = self.index.get(key)
        if entry and (entry.get("file") is None or (self.folder / entry["file"]).is_file()):
            self.reused += 1
            return entry
        return None

    def save(self, key: str, image) -> dict[str, Any]:
        """Store a PIL image as a JPEG of at most :data:`THUMBNAIL_MAX_SIDE` px."""
        width, height = image.size
        thumbnail = image.convert("RGB")
        thumbnail.thumbnail((THUMBNAIL_MAX_SIDE, THUMBNAIL_MAX_SIDE))
        name = f"{key}.jpg"
        with atomic_path(self.folder / name) as temporary:
            thumbnail.save(temporary, format="JPEG", quality=85)
        self.written += 1
        return self.remember(key, {"file": name, "width": width, "height": height})

    def remember(self, key: str, entry: dict[str, Any]) -> dict[str, Any]:
        self.index[key] = entry
        return entry

    def flush(self) -> None:
        write_text_atomic(self.index_path, json.dumps(self.index, indent=0, sort_keys=True))

    def video_file(self, video: Mapping[str, Any] | None) -> tuple[Path | None, str | None]:
        """A decodable file for the row's video (embedded bytes are written once under ``videos/``)."""
        if not video:
            return None, None
        if video.get("bytes"):
            data = video["bytes"]
            suffix = Path(str(video.get("path") or "video.mp4")).suffix or ".mp4"
            target = self.videos / f"{hashlib.sha1(data).hexdigest()[:20]}{suffix}"
            if not target.is_file():
                self.videos.mkdir(parents=True, exist_ok=True)
                write_bytes_atomic(target, data)
            return target, None
        given = str(video.get("path") or "")
        if given in ("", "."):
            return None, "no video in this row"
        try:
            path = self.media_file(given)
        except MediaPathError as error:
            return None, f"video not opened: {error}"
        if path.is_file():
            return path, None
        return None, f"video not found at {given}"

    def media_file(self, path: str) -> Path:
        """The file a row's media path names, if it lies in the prepared folder's media roots.

        Raises:
            MediaPathError: it leads anywhere else.
        """
        return confine(path, self.media_roots)


def _read_split(prepared: Path, config: str, split: str, columns: Sequence[str] | None = None) -> Iterator[dict]:
    """Rows of a prepared config, streamed, media left undecoded (``{"path","bytes"}``)."""
    from videoespresso_hf.data.prepared import load_prepared

    if not (prepared / config).is_dir():  # the site is built from a local folder, never fetched from the Hub
        raise DataError(f"{prepared} has no {config!r} config folder; run `videoespresso data prepare --config {config} --out {prepared}` first")
    yield from load_prepared(prepared, config, split, streaming=True, columns=columns)


def _names(value: Any, names: Sequence[str]) -> str | None:
    if value is None:
        return None
    return names[value] if isinstance(value, int) else str(value)


def _object_frames(row: Mapping[str, Any], metadata: Mapping[str, Any]) -> dict[str, int]:
    """Label → frame number for the key objects whose frame the row records."""
    explicit = metadata.get("key_object_frames")
    if isinstance(explicit, Mapping):
        return {str(label): int(frame) for label, frame in explicit.items() if isinstance(frame, int | float)}
    found: dict[str, int] = {}
    for value in (metadata.get("extra_fields") or {}).values():
        for item in value if isinstance(value, list) else []:
            if not isinstance(item, Mapping):
                continue
            label = next((item[k] for k in ("object", "label", "name", "item") if isinstance(item.get(k), str)), None)
            frame = next((item[k] for k in ("frame", "frame_index", "frame_id") if isinstance(item.get(k), int)), None)
            if label is not None and frame is not None:
                found.setdefault(label, frame)
    return found


def _frames_of_row(row: Mapping[str, Any], store: _FrameStore) -> tuple[list[_Frame], str | None]:
    """Thumbnails of the row's core frames, from its images or decoded from its video."""
    import io

    from PIL import Image

    core = row.get("core_frames") or []
    images = row.get("images") or []
    frames: list[_Frame] = []
    if images:
        for position, image in enumerate(images):
            info = core[position] if position < len(core) else {}
            frame = _Frame(None, caption=info.get("caption") or "", where=f"image {position + 1}",
                           frame_index=info.get("frame_index"))  # fmt: skip
            if not image:
                frame.problem = "image missing from this row"
            else:
                key = store.key("image", image.get("path"), hashlib.sha1(image.get("bytes") or b"").hexdigest())
                entry = store.known(key)
                if entry is None:
                    try:
                        source = io.BytesIO(image["bytes"]) if image.get("bytes") else store.media_file(image["path"])
                        with Image.open(source) as opened:
                            entry = store.save(key, opened)
                    except MediaPathError as error:
                        entry = store.remember(key, {"file": None, "problem": f"image not opened: {error}"})
                    except (OSError, ValueError) as error:
                        entry = store.remember(key, {"file": None, "problem": f"unreadable image: {error}"})
                _fill(frame, entry)
            frames.append(frame)
        return frames, None
    video_file, video_problem = store.video_file(row.get("video"))
    wanted = []
    for info in core:
        timestamp, index = info.get("timestamp"), info.get("frame_index")
        where = f"t={timestamp:.2f} s" if timestamp is not None else (f"frame {index}" if index is not None else "frame ?")
        frames.append(_Frame(None, caption=info.get("caption") or "", where=where, frame_index=index))
        wanted.append((timestamp, index))
    if video_file is None:
        for frame in frames:
            frame.problem = video_problem
        return frames, None
    video_key = store.key("video", row.get("video_path"), video_file.stat().st_size)
    pending = []
    for frame, (timestamp, index) in zip(frames, wanted, strict=True):
        key = store.key(video_key, "t" if timestamp is not None else "i", timestamp if timestamp is not None else index)
        entry = store.known(key)
        if entry is not None:
            _fill(frame, entry)
        elif timestamp is None and index is None:
            frame.problem = "the release gives no frame number for this core frame"
        else:
            pending.append((frame, key, timestamp, index))
    if pending:
        _decode_into(video_file, pending, store)
    return frames, _video_link(video_file, store)


def _decode_into(video_file: Path, pending: list, store: _FrameStore) -> None:
    from PIL import Image

    from videoespresso_hf.video import VideoError, VideoReader

    try:
        reader = VideoReader(video_file)
    except (VideoError, ValueError) as error:
        for frame, key, _, _ in pending:
            _fill(frame, store.remember(key, {"file": None, "problem": str(error)}))
        return
    with reader:
        decodable = []
        for frame, key, timestamp, index in pending:
            if timestamp is None and index >= reader.num_frames:
                problem = (
                    f"frame {index} is past the video's {reader.num_frames} frames: the release numbers core frames at "
                    "a sampling fps it does not record (pass --fps / --source-fps to `data prepare`)"
                )
                _fill(frame, store.remember(key, {"file": None, "problem": problem}))
            else:
                position = int(reader.indices_at([timestamp])[0]) if timestamp is not None else index
                decodable.append((frame, key, position))
        if not decodable:
            return
        try:  # one call per video: the reader plans seeks and decodes each wanted frame once
            pixels = reader.get_frames([position for _, _, position in decodable])
        except VideoError as error:
            for frame, key, _ in decodable:
                _fill(frame, store.remember(key, {"file": None, "problem": str(error)}))
            return
        for (frame, key, _), array in zip(decodable, pixels, strict=True):
            _fill(frame, store.save(key, Image.fromarray(array)))


def _fill(frame: _Frame, entry: Mapping[str, Any]) -> None:
    frame.thumbnail = f"frames/{entry['file']}" if entry.get("file") else None
    frame.width, frame.height = int(entry.get("width") or 0), int(entry.get("height") or 0)
    frame.problem = entry.get("problem")


def _video_link(video_file: Path, store: _FrameStore) -> str:
    """A link that works from the site folder: relative, so it survives publishing with the site."""
    site = store.folder.parent
    try:
        return Path(os.path.relpath(video_file.resolve(), site.resolve())).as_posix()
    except ValueError:  # another drive on Windows
        return video_file.resolve().as_uri()


def _evidence_html(raw: str, plain: str) -> str:
    """The evidence with each key object wrapped in ``<mark class="obj" data-obj="i">``."""
    parsed = parse_evidence(raw) if raw else None
    if not parsed or not parsed.key_objects:
        return html.escape(plain or raw)
    out, position = [], 0
    for segment in parsed.segments:
        if isinstance(segment, str):
            out.append(html.escape(segment))
        else:
            out.append(f'<mark class="obj obj-{position % 8}" data-obj="{position}">{html.escape(segment.label)}</mark>')
            position += 1
    return "".join(out)


def _item(row: Mapping[str, Any], store: _FrameStore) -> dict[str, Any]:
    metadata = row.get("metadata") or "{}"
    try:
        metadata = json.loads(metadata) if isinstance(metadata, str) else dict(metadata)
    except ValueError:
        metadata = {}
    task = _names(row.get("task"), LEADERBOARD_TASKS)
    group = _names(row.get("task_group"), TASK_GROUPS) or (task_group(task) if task else None)
    options = list(row.get("options") or [])
    correct = row.get("correct_answer") or ""
    frames, video_link = _frames_of_row(row, store)
    return {
        "id": row.get("id") or "",
        "task": task or metadata.get("task_raw") or "(unknown task)",
        "group": group or "(unknown group)",
        "source": row.get("source") or "",
        "question": row.get("question") or "",
        "options": [{"letter": _LETTERS[i], "text": text, "correct": _LETTERS[i] == correct} for i, text in enumerate(options)],
        "answer": row.get("answer") or "",
        "evidence_html": _evidence_html(row.get("evidence_raw") or "", row.get("evidence") or ""),
        "key_objects": list(row.get("key_objects") or []),
        "object_frames": _object_frames(row, metadata),
        "frames": frames,
        "video_link": video_link,
        "video_path": row.get("video_path") or "",
    }


def _box_samples(items: list[dict[str, Any]]) -> Iterator[tuple[Sequence[float], tuple[int, int] | None]]:
    for item in items:
        size = next(((f.width, f.height) for f in item["frames"] if f.width), None)
        for obj in item["key_objects"]:
            for box in obj.get("boxes") or []:
                yield box, size


def _place_boxes(item: dict[str, Any], convention: str) -> None:
    """Attach each key object's boxes to the frame it belongs to (every frame, dashed, when unknown)."""
    frames = item["frames"]
    for number, obj in enumerate(item["key_objects"]):
        label = obj.get("label") or "(no label)"
        frame_number = item["object_frames"].get(obj.get("label"))
        targets = [f for f in frames if f.frame_index == frame_number] if frame_number is not None else []
        known = bool(targets)
        obj["frame_note"] = (
            f"frame {frame_number}" if known else
            (f"frame {frame_number} (not a core frame)" if frame_number is not None else "frame not recorded")
        )  # fmt: skip
        for frame in targets or frames:
            if not frame.thumbnail or not frame.width:
                continue
            for box in obj.get("boxes") or []:
                placed = place_box(box, convention, frame.width, frame.height)
                frame.boxes.append({
                    "label": label + ("" if known else " (frame?)"), "obj": number, "placed": placed,
                    "known_frame": known, "raw": [round(float(v), 2) for v in box],
                })  # fmt: skip


def build_viewer(prepared_dir: str | os.PathLike, out_dir: str | os.PathLike, options: ViewerOptions | None = None) -> ViewerSite:
    """Write the static site of one config/split of a prepared folder (``videoespresso data prepare`` output).

    Raises:
        DataError: the folder, config, split or task cannot be used (one-line message).
    """
    import jinja2

    from videoespresso_hf.tasks import UnknownTaskError, canonical_task

    options = options or ViewerOptions()
    if options.config not in CONFIG_SPECS:
        raise DataError(f"unknown config {options.config!r}; choose one of {', '.join(CONFIG_SPECS)}")
    if options.boxes not in ("auto", *BOX_CONVENTIONS):
        raise DataError(f"unknown box convention {options.boxes!r}; choose auto or one of {', '.join(BOX_CONVENTIONS)}")
    if options.limit < 1 or options.page_size < 1:
        raise DataError("--limit and --page-size must be at least 1")
    try:
        only_task = canonical_task(options.task) if options.task else None
    except UnknownTaskError as error:
        raise DataError(str(error)) from None
    model_verdicts = _read_model_verdicts(options.predictions)  # before any work: a bad file is one line
    prepared, site = Path(prepared_dir), Path(out_dir)
    split = options.resolved_split()

    # One light pass over the task column for the counts; one pass that stops at the limit for the items.
    counts: Counter[str] = Counter()
    rows = 0
    for row in _read_split(prepared, options.config, split, ["task"]):
        rows += 1
        counts[_names(row["task"], LEADERBOARD_TASKS) or "(unknown task)"] += 1
    site.mkdir(parents=True, exist_ok=True)
    store = _FrameStore(site, prepared_media_roots(prepared, options.config))
    items = []
    selected = counts.get(only_task, 0) if only_task else rows
    for row in _read_split(prepared, options.config, split):
        if only_task and _names(row.get("task"), LEADERBOARD_TASKS) != only_task:
            continue
        items.append(_item(row, store))
        if len(items) >= options.limit:
            break
    store.flush()

    if options.boxes != "auto":
        convention = BoxConvention(options.boxes, "set with --boxes")
    elif options.config == "generated":
        convention = BoxConvention("pixels", "known: the construction pipeline writes GroundingDINO boxes in pixels")
    else:
        convention = decide_box_convention(_box_samples(items))
    for item in items:
        _place_boxes(item, convention.name)
    models = _attach_model_verdicts(items, model_verdicts)

    assets = site / "assets"
    assets.mkdir(exist_ok=True)
    templates = resources.files("videoespresso_hf.data") / "templates" / "viewer"
    for name in _ASSETS:
        (assets / name).write_text((templates / name).read_text(encoding="utf-8"), encoding="utf-8")
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    template = environment.from_string((templates / "page.html.jinja").read_text(encoding="utf-8"))
    page_count = max(1, -(-len(items) // options.page_size))
    page_names = ["index.html", *(f"page-{n}.html" for n in range(2, page_count + 1))]
    for stale in site.glob("page-*.html"):
        if stale.name not in page_names:
            stale.unlink()
    task_rows = [
        {"name": name, "group": task_group(name) if name in LEADERBOARD_TASKS else "", "rows": counts.get(name, 0),
         "shown": sum(item["task"] == name for item in items)}
        for name in [*LEADERBOARD_TASKS, *sorted(set(counts) - set(LEADERBOARD_TASKS))]
    ]  # fmt: skip
    pages = []
    for number, name in enumerate(page_names, start=1):
        start = (number - 1) * options.page_size
        page_items = items[start : start + options.page_size]
        text = template.render(
            config=options.config, split=split, rows=rows, selected=selected, shown=len(items), only_task=only_task,
            limit=options.limit, items=page_items, first=start + 1, page=number, page_names=page_names,
            task_rows=task_rows, groups=TASK_GROUPS, convention=convention,
            tasks_on_page=sorted({item["task"] for item in page_items}), models=models,
        )  # fmt: skip
        pages.append(write_text_atomic(site / name, text))
    return ViewerSite(
        index=site / "index.html", pages=pages, items=len(items), rows=rows, task_counts=dict(counts),
        box_convention=convention, frames_written=store.written, frames_reused=store.reused,
    )  # fmt: skip



# --- `data view --predictions`: each model's output, the letter read and the verdict beside each item ---------

@dataclass(frozen=True)
class _ModelVerdicts:
    """One predictions file scored with the robust protocol, keyed by item id (and by question text)."""

    name: str
    by_id: dict[str, dict[str, Any]]
    by_question: dict[str, dict[str, Any]]


def _model_names(paths: Sequence[str]) -> list[str]:
    stems = [Path(path).stem for path in paths]
    return [f"{Path(path).parent.name}/{Path(path).stem}" if stems.count(Path(path).stem) > 1 else Path(path).stem
            for path in paths]  # fmt: skip


def _read_model_verdicts(paths: Sequence[str]) -> list[_ModelVerdicts]:
    """Score each predictions file (robust protocol, the ``score`` default) and keep, per record, its output and
    verdict. Raises :class:`DataError` (one line) for a file that cannot be read or scored."""
    from videoespresso_hf.evaluation.predictions import PredictionsError, load_prediction_records
    from videoespresso_hf.evaluation.scorer import score_records

    out = []
    for path, name in zip(paths, _model_names(paths), strict=True):
        try:
            records = load_prediction_records(path)
            verdicts = score_records(records, "robust", bootstrap_resamples=1)["items"]
        except PredictionsError as error:
            raise DataError(f"--predictions {error}") from None
        by_id: dict[str, dict[str, Any]] = {}
        by_question: dict[str, dict[str, Any]] = {}
        for record, verdict in zip(records, verdicts, strict=True):
            entry = {**verdict, "output": record.get("model_output"), "error": record.get("error")}
            if record.get("id") is not None:
                by_id[str(record["id"])] = entry
            by_question.setdefault(str(record.get("question") or ""), entry)
        out.append(_ModelVerdicts(name, by_id, by_question))
    return out


def _status(verdict: Mapping[str, Any] | None) -> str:
    if verdict is None:
        return "missing"
    if verdict["correct"]:
        return "right"
    return "unanswered" if verdict["reason"] else "wrong"


def _attach_model_verdicts(items: list[dict[str, Any]], models: Sequence[_ModelVerdicts]) -> list[str]:
    """Give each item ``model_answers`` (one per model, ``missing`` when a file lacks it) and ``verdict_tokens``
    for the page's filter (``wrong`` when any model is not right, ``unanswered`` when any gave no letter).
    Returns the model names, in order."""
    for item in items:
        answers = []
        for model in models:
            verdict = model.by_id.get(str(item["id"])) or model.by_question.get(item["question"])
            answers.append({"model": model.name, "status": _status(verdict),
                            "extracted": verdict["extracted"] if verdict else None,
                            "reason": verdict["reason"] if verdict else None,
                            "output": (verdict["output"] if verdict else None) or "",
                            "error": verdict.get("error") if verdict else None})  # fmt: skip
        item["model_answers"] = answers
        statuses = {answer["status"] for answer in answers}
        tokens = {"wrong"} if statuses & {"wrong", "unanswered"} else set()
        tokens |= {"unanswered"} if "unanswered" in statuses else set()
        item["verdict_tokens"] = " ".join(sorted(tokens))
    return [model.name for model in models]

"""Temporal and spatial grounding of CoT evidence (paper §1.8).

* **Temporal:** the LLM's core captions are paraphrases, so each is embedded and matched to the group's
  original captions by cosine-similarity argmax (paper Eq. 3); the best match gives the frame index and
  timestamp. :func:`temporal_grounding` is pure given an ``embed_fn``.
* **Spatial:** :class:`SpatialGrounder` boxes each key object on its core frame with GroundingDINO
  (``transformers`` zero-shot object detection) and checks every candidate box with CLIP: the crop must
  match its label better than a background prompt and the other key objects of the same frame. A box that
  fails is *dropped and recorded* (:class:`BoxCheck` with ``kept=False`` and a reason), never kept silently.

Box convention (the ``generated`` config): pixel coordinates ``[x1, y1, x2, y2]`` (top-left inclusive,
bottom-right exclusive, floats rounded to 0.1 px) in the full-resolution decoded core frame the box was
detected on, i.e. the frame ``core_frames[i].frame_index`` of ``video``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from videoespresso_hf.data.evidence import render_evidence
from videoespresso_hf.defaults import CLIP_MODEL, DETECTOR_MODEL
from videoespresso_hf.files import atomic_path
from videoespresso_hf.pipeline.stages.base import (
    BuildConfigView,
    Stage,
    StageContext,
    StageError,
    load_embedder,
    load_model,
)
from videoespresso_hf.pipeline.stages.qa_items import (
    CoreFrame,
    GroundedObject,
    QAItem,
    QARecord,
    caption_id,
    group_by_id,
)
from videoespresso_hf.pipeline.video_record import CaptionGroup, VideoRecord

if TYPE_CHECKING:
    from PIL import Image

__all__ = [
    "DEFAULT_CLIP_MODEL",
    "DEFAULT_DETECTOR_MODEL",
    "BoxCheck",
    "GroundingSettings",
    "GroundingStage",
    "SpatialGrounder",
    "TemporalMatch",
    "detector_prompt",
    "temporal_grounding",
]

DEFAULT_DETECTOR_MODEL = DETECTOR_MODEL
DEFAULT_CLIP_MODEL = CLIP_MODEL

EmbedFn = Callable[[Sequence[str]], np.ndarray]


# ---------------------------------------------------------------- temporal grounding


@dataclass(frozen=True)
class TemporalMatch:
    """Where one chosen caption lands in its group.

    Attributes:
        position: index into the group's captions (hence frame_indices / timestamps).
        similarity: cosine similarity of the best match.
    """

    position: int
    similarity: float


def temporal_grounding(
    chosen_captions: Sequence[str], group_captions: Sequence[str], embed_fn: EmbedFn
) -> list[TemporalMatch]:
    """Map each chosen (possibly paraphrased) caption to the most similar caption of the group.

    Args:
        chosen_captions: the LLM's core captions, ``n`` strings.
        group_captions: the group's original captions, ``m >= 1`` strings.
        embed_fn: ``texts -> (len(texts), d)`` embeddings (normalised or not).

    Returns:
        ``n`` matches; ``t_j = argmax_k cos(embed(chosen_j), embed(group_k))`` (ties → the earlier frame).
    """
    if not group_captions:
        raise ValueError("temporal grounding needs at least one group caption")
    if not chosen_captions:
        return []
    vectors = np.asarray(embed_fn(list(chosen_captions) + list(group_captions)), dtype=np.float64)
    vectors = vectors / np.clip(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12, None)
    chosen, group = vectors[: len(chosen_captions)], vectors[len(chosen_captions) :]
    similarity = chosen @ group.T  # (n, m)
    best = similarity.argmax(axis=1)  # argmax returns the first maximum: ties go to the earlier frame
    return [TemporalMatch(int(k), float(similarity[j, k])) for j, k in enumerate(best)]


# ---------------------------------------------------------------- spatial grounding


@dataclass(frozen=True)
class BoxCheck:
    """One candidate box and the verdict of the checks.

    Attributes:
        label: the key object.
        box: pixel ``(x1, y1, x2, y2)`` on the frame, clipped to the image.
        detector_score: GroundingDINO confidence.
        clip_prob: CLIP probability of ``label`` among the label, the background prompts and the other
            labels of the frame (None when the box never reached CLIP).
        clip_top: the prompt CLIP preferred (None when not checked).
        kept: whether the box is kept.
        reason: why a box was dropped (``"degenerate_box"`` or ``"clip_mismatch: ..."``), else None.
    """

    label: str
    box: tuple[float, float, float, float]
    detector_score: float
    clip_prob: float | None
    clip_top: str | None
    kept: bool
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["box"] = list(self.box)
        return data


def detector_prompt(label: str) -> str:
    """GroundingDINO's text convention: lower case, ending with a period."""
    text = " ".join(label.lower().split()).rstrip(".")
    return f"{text}."


class SpatialGrounder:
    """GroundingDINO boxes for key objects, each verified with CLIP.

    Args:
        detector / detector_processor: a ``GroundingDinoForObjectDetection`` (or any zero-shot detector
            whose processor has ``post_process_grounded_object_detection``) and its processor.
        clip_model / clip_processor: a ``CLIPModel`` and a processor taking ``text=`` and ``images=``.
        box_threshold / text_threshold: GroundingDINO post-processing thresholds.
        max_boxes_per_object: keep at most this many candidates (highest detector score first) per object.
        min_box_side: boxes narrower or shorter than this many pixels are dropped as degenerate.
        clip_min_prob: a box is kept when its label is CLIP's top prompt *and* its probability is at least this.
        background_prompts: prompts that compete with the label in the CLIP check.
        clip_template: how a label becomes a CLIP prompt.
        labels_per_pass: labels (copies of the frame) per detector forward pass; bounds memory.
        model_ids: ids recorded in provenance.
    """

    def __init__(
        self,
        detector: Any,
        detector_processor: Any,
        clip_model: Any,
        clip_processor: Any,
        *,
        box_threshold: float = 0.35,
        text_threshold: float = 0.25,
        max_boxes_per_object: int = 3,
        min_box_side: float = 2.0,
        clip_min_prob: float = 0.0,
        background_prompts: Sequence[str] = ("background", "an empty scene"),
        clip_template: str = "a photo of {}",
        labels_per_pass: int = 8,
        model_ids: dict[str, str] | None = None,
    ) -> None:
        self.detector = detector.eval()
        self.detector_processor = detector_processor
        self.clip_model = clip_model.eval()
        self.clip_processor = clip_processor
        self.box_threshold = box_threshold
        self.text_threshold = text_threshold
        self.max_boxes_per_object = max_boxes_per_object
        self.min_box_side = min_box_side
        self.clip_min_prob = clip_min_prob
        self.background_prompts = tuple(background_prompts)
        self.clip_template = clip_template
        self.labels_per_pass = max(1, labels_per_pass)
        self.model_ids = dict(model_ids or {})

    @classmethod
    def from_pretrained(
        cls,
        detector_id: str = DEFAULT_DETECTOR_MODEL,
        clip_id: str = DEFAULT_CLIP_MODEL,
        *,
        device: str | None = None,
        **kwargs: Any,
    ) -> SpatialGrounder:
        """Load both models from the Hub or local folders (``device``: e.g. ``"cuda"``; default CPU)."""
        from transformers import AutoModelForZeroShotObjectDetection, AutoProcessor, CLIPModel, CLIPProcessor

        detector = AutoModelForZeroShotObjectDetection.from_pretrained(detector_id)
        clip_model = CLIPModel.from_pretrained(clip_id)
        if device:
            detector, clip_model = detector.to(device), clip_model.to(device)
        return cls(
            detector,
            AutoProcessor.from_pretrained(detector_id),
            clip_model,
            CLIPProcessor.from_pretrained(clip_id),
            model_ids={"detector": detector_id, "clip": clip_id},
            **kwargs,
        )

    # -------------------------------------------------------------- public API

    def ground(self, image: np.ndarray | Image.Image, labels: Sequence[str]) -> dict[str, list[BoxCheck]]:
        """Detect and verify boxes for every label on one frame.

        Args:
            image: the frame, ``(H, W, 3)`` uint8 RGB array or a PIL image.
            labels: key-object labels (duplicates are grounded once).

        Returns:
            ``{label: [BoxCheck, ...]}`` with every candidate, kept or dropped, highest detector score first.
        """
        from PIL import Image

        pil = image if isinstance(image, Image.Image) else Image.fromarray(np.asarray(image, dtype=np.uint8))
        pil = pil.convert("RGB")
        unique = list(dict.fromkeys(labels))
        if not unique:
            return {}
        candidates = self._detect(pil, unique)
        return self._verify(pil, unique, candidates)

    # -------------------------------------------------------------- internals

    def _device(self, model: Any) -> Any:
        return next(model.parameters()).device

    def _detect(self, image: Image.Image, labels: list[str]) -> dict[str, list[tuple[tuple, float]]]:
        """Batched forward passes, one (image, label) pair per label, so every box belongs to its label.

        One prompt per label (rather than "a. b. c." in one prompt) costs more compute but needs no
        phrase-to-label matching, which is ambiguous for overlapping labels ("car" / "red car").
        """
        import torch

        results = []
        for start in range(0, len(labels), self.labels_per_pass):
            chunk = labels[start : start + self.labels_per_pass]
            inputs = self.detector_processor(
                images=[image] * len(chunk),
                text=[detector_prompt(label) for label in chunk],
                return_tensors="pt",
                padding=True,
            )
            inputs = inputs.to(self._device(self.detector))
            with torch.no_grad():
                outputs = self.detector(**inputs)
            results += self.detector_processor.post_process_grounded_object_detection(
                outputs,
                inputs["input_ids"],
                threshold=self.box_threshold,
                text_threshold=self.text_threshold,
                target_sizes=[(image.height, image.width)] * len(chunk),
            )
        candidates: dict[str, list[tuple[tuple, float]]] = {}
        for label, result in zip(labels, results, strict=True):
            scores = result["scores"].detach().cpu().float().numpy()
            boxes = result["boxes"].detach().cpu().float().numpy().reshape(-1, 4)
            order = np.argsort(-scores, kind="stable")[: self.max_boxes_per_object]
            candidates[label] = [(self._clip_box(boxes[i], image), float(scores[i])) for i in order]
        return candidates

    @staticmethod
    def _clip_box(box: np.ndarray, image: Image.Image) -> tuple[float, float, float, float]:
        x1, y1, x2, y2 = (float(v) for v in box)
        x1, x2 = sorted((min(max(x1, 0.0), image.width), min(max(x2, 0.0), image.width)))
        y1, y2 = sorted((min(max(y1, 0.0), image.height), min(max(y2, 0.0), image.height)))
        return (round(x1, 1), round(y1, 1), round(x2, 1), round(y2, 1))

    def _verify(
        self, image: Image.Image, labels: list[str], candidates: dict[str, list[tuple[tuple, float]]]
    ) -> dict[str, list[BoxCheck]]:
        import torch

        checks: dict[str, list[BoxCheck]] = {label: [] for label in labels}
        crops, owners = [], []
        for label in labels:
            for box, score in candidates[label]:
                x1, y1, x2, y2 = box
                if x2 - x1 < self.min_box_side or y2 - y1 < self.min_box_side:
                    checks[label].append(BoxCheck(label, box, score, None, None, False, "degenerate_box"))
                else:
                    crops.append(
                        image.crop(
                            (int(x1), int(y1), max(int(x1) + 1, round(x2)), max(int(y1) + 1, round(y2)))
                        )
                    )
                    owners.append((label, box, score))
        if not crops:
            return checks
        # Prompts: every label of this frame + background; a crop must prefer its own label.
        prompts = [self.clip_template.format(label) for label in labels] + list(self.background_prompts)
        names = labels + list(self.background_prompts)
        inputs = self.clip_processor(text=prompts, images=crops, return_tensors="pt", padding=True)
        inputs = inputs.to(self._device(self.clip_model))
        with torch.no_grad():
            probs = (
                self.clip_model(**inputs).logits_per_image.softmax(dim=-1).cpu().float().numpy()
            )  # (crops, prompts)
        for row, (label, box, score) in zip(probs, owners, strict=True):
            own = float(row[labels.index(label)])
            top = names[int(row.argmax())]
            ok = top == label and own >= self.clip_min_prob
            reason = None if ok else f"clip_mismatch: top prompt {top!r}, p({label!r})={own:.2f}"
            checks[label].append(BoxCheck(label, box, score, round(own, 4), top, ok, reason))
        for label in labels:  # keep the detector's order (highest score first)
            checks[label].sort(key=lambda check: -check.detector_score)
        return checks


# ---------------------------------------------------------------- the stage


def _tag_evidence(evidence: str, objects: Sequence[GroundedObject]) -> str:
    """The evidence in the released inline-tag form: the first mention of each key object is tagged.

    Longer labels are placed first so that "red car" wins over "car"; mentions never overlap. A label the
    text does not mention (the answer model forbids it, but older cached answers may differ) stays untagged.
    """
    lowered = evidence.lower()
    taken: list[tuple[int, int, GroundedObject]] = []
    for obj in sorted(objects, key=lambda o: -len(o.label)):
        needle = obj.label.lower()
        start = lowered.find(needle)
        while start != -1 and any(s < start + len(needle) and start < e for s, e, _ in taken):
            start = lowered.find(needle, start + 1)
        if start != -1:
            taken.append((start, start + len(needle), obj))
    segments: list[Any] = []
    cursor = 0
    for start, end, obj in sorted(taken, key=lambda t: t[0]):
        segments.append(evidence[cursor:start])
        # Keep the text's own spelling of the label, so stripping the tags gives the evidence back exactly.
        segments.append({"label": evidence[start:end], "boxes": obj.boxes})
        cursor = end
    segments.append(evidence[cursor:])
    return render_evidence(segments)


# The flags and config keys that choose the grounding models (named when one cannot be loaded).
DETECTOR_MODEL_SETTING = "--detector-model or grounding.detector (--no-grounding skips it)"
CLIP_MODEL_SETTING = "--clip-model or grounding.clip (--no-grounding skips it)"
GROUNDING_EMBEDDER_SETTING = "grounding.embedder, or --embedding-model / dedup.embedder when unset"


class GroundingSettings(BaseModel):
    """``config.grounding``.

    Attributes:
        embedder: sentence-transformers model for temporal grounding (None: ``config.dedup.embedder``,
            BGE-M3 by default, as in the paper).
        spatial: False skips GroundingDINO/CLIP (every key object gets ``box_status="empty"``).
        detector / clip: model ids or local folders (GroundingDINO base, CLIP ViT-B/32 by default).
        box_threshold / text_threshold / max_boxes_per_object / min_box_side / clip_min_prob /
            background_prompts: detection and verification thresholds, see :class:`SpatialGrounder`.
        save_frames: write each core frame as ``OUT/generated/frames/<video_id>/<frame_index>.jpg``.
        device: torch device of the grounding models (not part of the fingerprint).
    """

    model_config = ConfigDict(extra="forbid")

    embedder: str | None = None
    spatial: bool = True
    detector: str = DEFAULT_DETECTOR_MODEL
    clip: str = DEFAULT_CLIP_MODEL
    box_threshold: float = Field(default=0.35, ge=0, le=1)
    text_threshold: float = Field(default=0.25, ge=0, le=1)
    max_boxes_per_object: int = Field(default=3, ge=1)
    min_box_side: float = Field(default=2.0, ge=0)
    clip_min_prob: float = Field(default=0.0, ge=0)
    background_prompts: list[str] = Field(default_factory=lambda: ["background", "an empty scene"])
    save_frames: bool = True
    device: str | None = None

    def resolved_embedder(self, config: Any) -> str:
        return self.embedder or config.dedup.embedder


class GroundingStage(Stage):
    """Stage ``grounding``: temporal (embedding argmax) and spatial (GroundingDINO + CLIP) grounding."""

    name = "grounding"
    version = "1"
    input_type = QARecord
    output_type = QARecord
    fan_out = False  # the detector and CLIP are loaded once, in the driver

    def settings(self, config: BuildConfigView) -> GroundingSettings:
        return config.grounding

    def config_slice(self, config: BuildConfigView) -> dict[str, Any]:
        settings = self.settings(config)
        data = settings.model_dump(exclude={"device"})
        data["embedder"] = settings.resolved_embedder(config)
        return data

    def _grounder(self, ctx: StageContext, settings: GroundingSettings) -> SpatialGrounder:
        def load() -> SpatialGrounder:
            # Load each model on its own first, so a failure names the one at fault and its setting.
            from transformers import AutoConfig

            load_model(
                "detector model", settings.detector, DETECTOR_MODEL_SETTING, lambda: AutoConfig.from_pretrained(settings.detector)
            )
            load_model("CLIP model", settings.clip, CLIP_MODEL_SETTING, lambda: AutoConfig.from_pretrained(settings.clip))
            return SpatialGrounder.from_pretrained(
                settings.detector,
                settings.clip,
                device=settings.device,
                box_threshold=settings.box_threshold,
                text_threshold=settings.text_threshold,
                max_boxes_per_object=settings.max_boxes_per_object,
                min_box_side=settings.min_box_side,
                clip_min_prob=settings.clip_min_prob,
                background_prompts=settings.background_prompts,
            )

        return ctx.resource("grounder::" + settings.model_dump_json(), load)

    def run(self, qa: QARecord, ctx: StageContext) -> QARecord:
        settings = self.settings(ctx.config)
        embedder_id = settings.resolved_embedder(ctx.config)
        embed = load_embedder(embedder_id, GROUNDING_EMBEDDER_SETTING)
        record = qa.video
        groups = group_by_id(record)
        placed = [self._place(item, groups[item.group_id], record, embed) for item in qa.items]

        frames = sorted(
            {obj.frame_index for item in placed for obj in item.key_objects}
            | {frame.frame_index for item in placed for frame in item.core_frames}
        )
        # Frames are only needed to be saved or boxed: with both off the video is not opened at all.
        needs_pixels = frames and (settings.save_frames or settings.spatial)
        images = self._decode(record, frames) if needs_pixels else {}
        if settings.save_frames:
            self._save_frames(ctx, record, images)
        grounder = self._grounder(ctx, settings) if settings.spatial and images else None
        done = [self._box(item, images, grounder, ctx) for item in placed]
        models = {"embedder": embedder_id}
        if grounder is not None:
            models.update(detector=settings.detector, clip=settings.clip)
        done = [
            item.model_copy(update={"provenance": {**item.provenance, self.name: models}}) for item in done
        ]
        ctx.usage.count("qa_grounded", len(done))
        return qa.advance(done, [])

    # ---------------------------------------------------------- steps

    @staticmethod
    def _place(item: QAItem, group: CaptionGroup, record: VideoRecord, embed: EmbedFn) -> QAItem:
        """Temporal grounding: core captions → group positions → frames; key objects → their frame."""
        if item.cot is None:
            raise StageError(f"{item.qa_id}: no CoT evidence to ground (the cot_evidence stage runs first)")
        cot = item.cot
        matches = temporal_grounding(cot.core_captions, group.captions, embed)
        core: dict[int, CoreFrame] = {}
        for chosen, match in zip(cot.core_captions, matches, strict=True):
            position = match.position
            frame_index = group.frame_indices[position]
            core.setdefault(
                frame_index,
                CoreFrame(
                    position=position,
                    frame_index=frame_index,
                    timestamp=group.timestamps[position],
                    caption=group.captions[position],
                    caption_id=caption_id(record.video_id, frame_index),
                    chosen_caption=chosen,
                    similarity=round(match.similarity, 4),
                    path=_frame_relpath(record.video_id, frame_index),
                ),
            )
        objects = [
            GroundedObject(label=obj.label, frame_index=group.frame_indices[matches[obj.core_caption - 1].position])
            for obj in cot.key_objects
        ]
        return item.model_copy(
            update={"core_frames": [core[k] for k in sorted(core)], "key_objects": objects}
        )

    @staticmethod
    def _decode(record: VideoRecord, frames: list[int]) -> dict[int, np.ndarray]:
        from videoespresso_hf.video import VideoReader

        images: dict[int, np.ndarray] = {}
        with VideoReader(record.path) as reader:
            for start in range(0, len(frames), 32):  # bounded memory on long videos
                chunk = frames[start : start + 32]
                images.update(zip(chunk, reader.get_frames(chunk), strict=True))
        return images

    @staticmethod
    def _save_frames(ctx: StageContext, record: VideoRecord, images: dict[int, np.ndarray]) -> None:
        from PIL import Image

        for frame_index, image in images.items():
            path = Path(ctx.out_dir) / "generated" / _frame_relpath(record.video_id, frame_index)
            if path.exists():
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(path) as partial:  # a kill never leaves a truncated JPEG behind
                Image.fromarray(image).save(partial, format="JPEG", quality=90)

    @staticmethod
    def _box(
        item: QAItem, images: dict[int, np.ndarray], grounder: SpatialGrounder | None, ctx: StageContext
    ) -> QAItem:
        objects = list(item.key_objects)
        if grounder is not None:
            by_frame: dict[int, list[str]] = {}
            for obj in objects:
                by_frame.setdefault(obj.frame_index, []).append(obj.label)
            checks = {frame: grounder.ground(images[frame], labels) for frame, labels in by_frame.items()}
            boxed = []
            for obj in objects:
                found = checks[obj.frame_index].get(obj.label, [])
                boxes = [list(check.box) for check in found if check.kept]
                boxed.append(
                    obj.model_copy(
                        update={
                            "checks": [check.to_dict() for check in found],
                            "boxes": boxes,
                            "box_status": "ok" if boxes else "empty",
                        }
                    )
                )
                ctx.usage.count("boxes_kept", len(boxes))
                for check in found:
                    if not check.kept:
                        ctx.usage.count("boxes_dropped")
                        ctx.usage.count("boxes_dropped:" + (check.reason or "").split(":")[0])
                if not boxes:
                    ctx.usage.count("key_objects_without_box")
            objects = boxed
        evidence = item.cot.evidence if item.cot is not None else ""
        return item.model_copy(
            update={
                "key_objects": objects,
                "evidence": evidence,
                "evidence_raw": _tag_evidence(evidence, objects),
            }
        )


def _frame_relpath(video_id: str, frame_index: int) -> str:
    """Where a core frame JPEG lives, relative to ``OUT/generated``."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", video_id)
    return f"frames/{safe}/{frame_index}.jpg"

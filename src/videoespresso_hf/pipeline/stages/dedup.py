"""Stage ``dedup``: semantic-aware redundancy removal over caption embeddings (paper §1.4).

Embeds every caption with the configured sentence-transformers model and applies the LIFO rule of
:func:`videoespresso_hf.pipeline.redundancy.redundancy_trace`; frames are marked ``kept`` (not deleted),
with the similarity that decided, so the decision can be audited and re-thresholded.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from videoespresso_hf.embeddings import DEFAULT_EMBEDDING_MODEL
from videoespresso_hf.pipeline.redundancy import redundancy_trace
from videoespresso_hf.pipeline.stages.base import Stage, StageContext, StageError, load_embedder
from videoespresso_hf.pipeline.video_record import VideoRecord

# Chosen by measurement with benchmarks/redundancy_removal_savings.py: the threshold on the cosine similarity
# between a caption and the last kept caption at or above which the later frame is dropped. On 1,328 synthetic
# captions with known redundancy (paraphrases and repeats within a scene, scene pairs sharing a setting) and the
# offline all-MiniLM-L6-v2 embedder, drop precision is 1.0 from 0.60 up and F1 plateaus at 0.99-1.00 on
# 0.55-0.70; 0.70 is the largest (most conservative) threshold on the plateau. Held out: precision 1.000,
# recall 0.985, 70.4% of captions dropped (oracle 71.5%). BGE-M3 (the production embedder) scores paraphrases
# and unrelated sentences higher than MiniLM: re-run the benchmark with --embedder BAAI/bge-m3 to re-tune.
DEFAULT_TAU = 0.70


class DedupConfig(BaseModel):
    """Semantic-aware redundancy removal (paper §1.4).

    Attributes:
        embedder: sentence-transformers model id or path (paper: BGE-M3).
        tau: cosine-similarity threshold; a caption at least this similar to the last *kept* caption is
            dropped (the later frame goes: the paper's LIFO rule). Thresholds are model-specific: the default
            was measured with the offline MiniLM embedder (see ``benchmarks/redundancy_removal_savings.py``);
            BGE-M3 similarities sit higher on the scale, re-measure before relying on it.
        compare_to: ``"last_kept"`` (default; a slow drift still keeps a frame once it has drifted far enough)
            or ``"previous"`` (literal adjacent-frame similarity, as the paper words it).
        batch_size: captions per embedding batch.
        device: embedder device (None: sentence-transformers picks).
    """

    model_config = ConfigDict(extra="forbid")

    embedder: str = DEFAULT_EMBEDDING_MODEL
    tau: float = Field(default=DEFAULT_TAU, ge=-1.0, le=1.0)
    compare_to: Literal["last_kept", "previous"] = "last_kept"
    batch_size: int = Field(default=32, ge=1)
    device: str | None = None


def build_embedder(ctx: StageContext):
    from videoespresso_hf.embeddings import TextEmbedder

    dedup = ctx.config.dedup

    def factory():
        shared = load_embedder(dedup.embedder, device=dedup.device)
        # The model is the process's one copy (grounding and distractors embed with it too); only the
        # batch size is this stage's, so it goes on a wrapper of its own, not on the shared embedder.
        return TextEmbedder(shared.model, shared.model_id, batch_size=dedup.batch_size)

    return ctx.resource(f"embedder::{dedup.embedder}::{dedup.device}", factory)


class DedupStage(Stage):
    name = "dedup"
    version = "1"
    fan_out = False  # one embedding model in the driver; embedding captions is fast next to captioning
    output_file = "frames.jsonl"  # the captioned frames again, now with the keep decision

    def summary_counts(self, record: VideoRecord) -> dict[str, int]:
        return {"frames_kept": sum(1 for frame in record.frames if frame.kept)}

    def output_rows(self, record: VideoRecord) -> Iterable[dict[str, Any]]:
        return record.frame_rows()

    def config_slice(self, config) -> dict[str, Any]:
        return config.dedup.model_dump(include={"embedder", "tau", "compare_to"})

    def run(self, record: VideoRecord, ctx: StageContext) -> VideoRecord:
        captions = [frame.caption for frame in record.frames]
        if not captions:
            raise StageError(f"{record.path}: no captions to deduplicate")
        if any(caption is None for caption in captions):
            raise StageError(f"{record.path}: some frames have no caption")
        embeddings = build_embedder(ctx)(captions)
        kept, similarity = redundancy_trace(
            embeddings, ctx.config.dedup.tau, compare_to=ctx.config.dedup.compare_to
        )
        frames = [
            frame.model_copy(
                update={
                    "kept": bool(keep),
                    "similarity": None if sim != sim else round(float(sim), 6),  # NaN for the first frame
                }
            )
            for frame, keep, sim in zip(record.frames, kept, similarity, strict=True)
        ]
        ctx.usage.count("frames_kept", int(kept.sum()))
        ctx.usage.count("frames_dropped", int((~kept).sum()))
        return record.model_copy(update={"frames": frames})

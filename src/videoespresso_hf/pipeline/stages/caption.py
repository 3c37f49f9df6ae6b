"""Stage ``captions``: one caption per sampled frame (paper §1.3), through the configured captioner.

Frames are decoded in chunks (never the whole video at once) and downscaled before captioning. With the
endpoint backend every answer is cached in ``OUT/llm_cache.sqlite`` as soon as it arrives, so a run killed
in the middle of a video re-pays nothing when resumed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from videoespresso_hf.pipeline.captioning import (
    Captioner,
    OpenAICaptioner,
    TransformersCaptioner,
    resize_frames,
)
from videoespresso_hf.pipeline.stages.base import Stage, StageContext, StageError, StageUsage, load_model
from videoespresso_hf.pipeline.video_record import VideoRecord

# Frames decoded per chunk: bounds memory on long videos while keeping the LLM client's pool busy.
DECODE_CHUNK = 128


def build_captioner(ctx: StageContext) -> Captioner:
    """The process's captioner for ``ctx.config.captions`` (loaded once per process)."""
    config = ctx.config.captions
    if config.backend == "openai":
        client = ctx.llm_client(model=config.resolved_model)
        return ctx.resource(
            "captioner::openai::" + config.model_dump_json() + str(id(client)),
            lambda: OpenAICaptioner(client, config),
        )
    return ctx.resource(
        "captioner::transformers::" + config.model_dump_json(),
        lambda: load_model(
            "captioning model",
            config.resolved_model,
            "--model or captions.model",
            lambda: TransformersCaptioner(config.resolved_model, config),
        ),
    )


class CaptionStage(Stage):
    name = "captions"
    version = "1"
    fan_out = False  # one client (one budget, one thread pool) or one loaded model serves every video
    progress_unit = "frame"
    output_file = "frames.jsonl"  # one row per sampled frame with its caption

    def endpoint_models(self, config) -> list[str]:
        return [config.captions.resolved_model] if config.captions.backend == "openai" else []

    def output_rows(self, record: VideoRecord) -> Iterable[dict[str, Any]]:
        return record.frame_rows()

    def config_slice(self, config) -> dict[str, Any]:
        captions = config.captions
        return {
            "backend": captions.backend,
            "model": captions.resolved_model,
            "prompt_version": captions.prompt_version,
            "image_max_side": captions.image_max_side,
            "detail": captions.detail,
            "max_new_tokens": captions.max_new_tokens,
            # Sampling parameters change the captions the endpoint returns.
            "temperature": config.llm.temperature if captions.backend == "openai" else None,
        }

    def _chunks(self, record: VideoRecord, ctx: StageContext):
        from videoespresso_hf.video import read_frames

        if not record.frames:
            raise StageError(f"{record.path}: no sampled frames to caption")
        max_side = ctx.config.captions.image_max_side
        for start in range(0, len(record.frames), DECODE_CHUNK):
            chunk = record.frames[start : start + DECODE_CHUNK]
            frames = read_frames(record.path, [frame.index for frame in chunk])
            yield chunk, resize_frames(frames, max_side)

    def run(self, record: VideoRecord, ctx: StageContext) -> VideoRecord:
        captioner = build_captioner(ctx)
        captioned = []
        for chunk, frames in self._chunks(record, ctx):
            captions = captioner.caption(frames, ctx.usage, ctx.progress)
            captioned.extend(
                frame.model_copy(update={"caption": caption})
                for frame, caption in zip(chunk, captions, strict=True)
            )
        ctx.usage.count("frames_captioned", len(captioned))
        return record.model_copy(
            update={"frames": captioned, "sampling": {**record.sampling, "caption_model": captioner.model_id}}
        )

    def estimate(self, record: VideoRecord, ctx: StageContext) -> StageUsage | None:
        if ctx.config.captions.backend != "openai":
            return StageUsage(counters={"frames_to_caption": len(record.frames)})
        captioner = build_captioner(ctx)
        total = StageUsage()
        for _, frames in self._chunks(record, ctx):
            total.merge(captioner.estimate(frames, estimated=ctx.estimated_keys))
        return total

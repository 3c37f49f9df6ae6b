"""Stage ``cot_evidence``: core captions, key objects and the evidence chain per kept pair (§1.8, Fig. 9).

One request per QA item (prompt ``cot_evidence.v1``, answer :class:`CoTEvidence`): the LLM copies the
captions most relevant to the question (they define the core frames; grounding maps them back to frames),
names the key objects and on which core caption each one is visible, and writes an evidence text that
mentions every key object verbatim (validated, so it can be tagged inline). Items whose answer stays
malformed after every retry are recorded as failures.
"""

from __future__ import annotations

from videoespresso_hf.llm import LLMRequest, user_message
from videoespresso_hf.pipeline.prompts import render_prompt
from videoespresso_hf.pipeline.records import CaptionGroup, VideoRecord
from videoespresso_hf.pipeline.stages.answer_models import CoTEvidence
from videoespresso_hf.pipeline.stages.base import StageContext, StageUsage, register_stage
from videoespresso_hf.pipeline.stages.llm_calls import (
    LLMStage,
    LLMStepSettings,
    answer_all,
    estimate_all,
)
from videoespresso_hf.pipeline.stages.qa_items import Dropped, QAItem, group_by_id, items_of, with_items

__all__ = ["CoTEvidenceSettings", "CoTEvidenceStage", "cot_evidence_request"]

NAME = "cot_evidence"
PREVIOUS = "qa_filter"


class CoTEvidenceSettings(LLMStepSettings):
    """``config.stages["cot_evidence"]`` (model default: ``config.llm.model``, GPT-4o as in the paper)."""

    prompt_version: str = "cot_evidence.v1"


def cot_evidence_request(group: CaptionGroup, item: QAItem, settings: CoTEvidenceSettings) -> LLMRequest:
    prompt = render_prompt(
        settings.prompt_version, captions=group.captions, question=item.question, answer=item.answer
    )
    return LLMRequest(
        [user_message(prompt)], prompt_version=settings.prompt_version, stage=NAME, response_model=CoTEvidence
    )


@register_stage
class CoTEvidenceStage(LLMStage):
    name = NAME
    version = "1"
    after = PREVIOUS

    settings_class = CoTEvidenceSettings

    def _requests(
        self, record: VideoRecord, settings: CoTEvidenceSettings
    ) -> tuple[list[QAItem], list[LLMRequest]]:
        groups = group_by_id(record)
        items = items_of(record, PREVIOUS)
        return items, [cot_evidence_request(groups[item.group_id], item, settings) for item in items]

    def run(self, record: VideoRecord, ctx: StageContext) -> VideoRecord:
        settings = self.settings(ctx.config)
        model = settings.resolved_model(ctx)
        items, requests = self._requests(record, settings)
        results = answer_all(ctx, model, requests)
        provenance = {"model": model, "prompt_version": settings.prompt_version}
        done: list[QAItem] = []
        dropped: list[Dropped] = []
        for item, result in zip(items, results, strict=True):
            if result.error is not None:
                dropped.append(
                    Dropped(
                        stage=NAME,
                        kind="failed",
                        qa_id=item.qa_id,
                        group_id=item.group_id,
                        criterion="llm_error",
                        reason=result.error,
                    )
                )
                continue
            done.append(
                item.model_copy(
                    update={
                        "cot": result.parsed.model_dump(mode="json"),
                        "provenance": {**item.provenance, NAME: provenance},
                    }
                )
            )
        ctx.usage.count("cot_written", len(done))
        for row in dropped:
            ctx.usage.count(f"cot_{row.kind}:{row.criterion}")
        return with_items(record, NAME, done, dropped)

    def estimate(self, record: VideoRecord, ctx: StageContext) -> StageUsage | None:
        settings = self.settings(ctx.config)
        return estimate_all(ctx, settings.resolved_model(ctx), self._requests(record, settings)[1])

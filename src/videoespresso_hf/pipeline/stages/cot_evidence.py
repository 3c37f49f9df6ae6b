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
from videoespresso_hf.pipeline.stages.answer_models import CoTEvidence
from videoespresso_hf.pipeline.stages.base import BuildConfigView, StageContext, StageUsage
from videoespresso_hf.pipeline.stages.llm_calls import (
    LLMStage,
    LLMStepSettings,
    answer_all,
    estimate_all,
)
from videoespresso_hf.pipeline.stages.qa_items import Dropped, QAItem, QARecord, group_by_id
from videoespresso_hf.pipeline.video_record import CaptionGroup

__all__ = ["CoTEvidenceSettings", "CoTEvidenceStage", "cot_evidence_request"]

NAME = "cot_evidence"


class CoTEvidenceSettings(LLMStepSettings):
    """``config.cot_evidence`` (model default: ``config.llm.model``, GPT-4o as in the paper)."""

    prompt_version: str = "cot_evidence.v1"


def cot_evidence_request(group: CaptionGroup, item: QAItem, settings: CoTEvidenceSettings) -> LLMRequest:
    prompt = render_prompt(
        settings.prompt_version, captions=group.captions, question=item.question, answer=item.answer
    )
    return LLMRequest(
        [user_message(prompt)], prompt_version=settings.prompt_version, stage=NAME, response_model=CoTEvidence
    )


class CoTEvidenceStage(LLMStage):
    name = NAME
    version = "1"

    def settings(self, config: BuildConfigView) -> CoTEvidenceSettings:
        return config.cot_evidence

    def _requests(
        self, record: QARecord, settings: CoTEvidenceSettings
    ) -> tuple[list[QAItem], list[LLMRequest]]:
        groups = group_by_id(record.video)
        items = record.items
        return items, [cot_evidence_request(groups[item.group_id], item, settings) for item in items]

    def run(self, record: QARecord, ctx: StageContext) -> QARecord:
        settings = self.settings(ctx.config)
        model = settings.resolved_model(ctx.config)
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
                        "cot": result.parsed,
                        "provenance": {**item.provenance, NAME: provenance},
                    }
                )
            )
        ctx.usage.count("cot_written", len(done))
        for row in dropped:
            ctx.usage.count(f"cot_{row.kind}:{row.criterion}")
        return record.advance(done, dropped)

    def projected_requests(
        self, group: CaptionGroup, items: list[QAItem], config: BuildConfigView
    ) -> list[LLMRequest]:
        settings = self.settings(config)
        return [cot_evidence_request(group, item, settings) for item in items]

    def estimate(self, record: QARecord, ctx: StageContext) -> StageUsage | None:
        settings = self.settings(ctx.config)
        return estimate_all(ctx, settings.resolved_model(ctx.config), self._requests(record, settings)[1])

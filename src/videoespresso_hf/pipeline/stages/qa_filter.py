"""Stage ``qa_filter``: a second LLM rejects hallucinated, subjective or narrative-inconsistent pairs (§1.7).

One request per caption group, holding the group's captions and all of its pairs (prompt ``qa_filter.v1``,
answer :class:`QAFilterVerdicts`). The model is configurable independently of QA generation (the paper's
filter model is unknown; any OpenAI-compatible model id works). Every rejected pair is recorded with the
criterion it broke and the filter's one-line reason; a pair the filter gave no verdict for, or a group
whose answer stayed malformed, is recorded as a failure. Nothing is dropped silently.
"""

from __future__ import annotations

from collections import defaultdict

from videoespresso_hf.llm import LLMRequest, user_message
from videoespresso_hf.pipeline.prompts import render_prompt
from videoespresso_hf.pipeline.stages.answer_models import QAFilterVerdicts
from videoespresso_hf.pipeline.stages.base import BuildConfigView, StageContext, StageUsage
from videoespresso_hf.pipeline.stages.llm_calls import (
    LLMStage,
    LLMStepSettings,
    answer_all,
    estimate_all,
)
from videoespresso_hf.pipeline.stages.qa_items import Dropped, QAItem, QARecord, group_by_id
from videoespresso_hf.pipeline.video_record import CaptionGroup

__all__ = ["QAFilterSettings", "QAFilterStage", "qa_filter_request"]

NAME = "qa_filter"


class QAFilterSettings(LLMStepSettings):
    """``config.qa_filter``.

    Attributes:
        enabled: False passes every pair through unchecked (recorded as ``verdict: None``).
    """

    prompt_version: str = "qa_filter.v1"
    enabled: bool = True


def qa_filter_request(group: CaptionGroup, items: list[QAItem], settings: QAFilterSettings) -> LLMRequest:
    pairs = [{"question": item.question, "answer": item.answer, "task": item.task} for item in items]
    prompt = render_prompt(settings.prompt_version, captions=group.captions, pairs=pairs)
    return LLMRequest(
        [user_message(prompt)],
        prompt_version=settings.prompt_version,
        stage=NAME,
        response_model=QAFilterVerdicts,
    )


def _by_group(record: QARecord) -> list[tuple[CaptionGroup, list[QAItem]]]:
    groups = group_by_id(record.video)
    grouped: dict[str, list[QAItem]] = defaultdict(list)
    for item in record.items:
        grouped[item.group_id].append(item)
    return [(groups[group_id], members) for group_id, members in grouped.items()]


class QAFilterStage(LLMStage):
    name = NAME
    version = "1"
    tally_as = "kept_by_filter"

    def settings(self, config: BuildConfigView) -> QAFilterSettings:
        return config.qa_filter

    def endpoint_models(self, config: BuildConfigView) -> list[str]:
        return super().endpoint_models(config) if self.settings(config).enabled else []

    def run(self, record: QARecord, ctx: StageContext) -> QARecord:
        settings = self.settings(ctx.config)
        if not settings.enabled:
            ctx.usage.count("qa_kept", len(record.items))
            return record.advance(record.items, [], tally_as=self.tally_as)
        model = settings.resolved_model(ctx.config)
        batches = _by_group(record)
        results = answer_all(
            ctx, model, [qa_filter_request(group, members, settings) for group, members in batches]
        )
        kept: list[QAItem] = []
        dropped: list[Dropped] = []
        provenance = {"model": model, "prompt_version": settings.prompt_version}
        for (group, members), result in zip(batches, results, strict=True):
            if result.error is not None:
                dropped += [
                    Dropped(
                        stage=NAME,
                        kind="failed",
                        qa_id=item.qa_id,
                        group_id=group.group_id,
                        criterion="llm_error",
                        reason=result.error,
                    )
                    for item in members
                ]
                continue
            verdicts = {}
            for verdict in result.parsed.verdicts:
                verdicts.setdefault(verdict.pair_number, verdict)  # the first verdict for a pair wins
            for number, item in enumerate(members, start=1):
                verdict = verdicts.get(number)
                if verdict is None:
                    dropped.append(
                        Dropped(
                            stage=NAME,
                            kind="failed",
                            qa_id=item.qa_id,
                            group_id=group.group_id,
                            criterion="missing_verdict",
                            reason=f"no verdict for pair {number}",
                        )
                    )
                elif not verdict.keep:
                    dropped.append(
                        Dropped(
                            stage=NAME,
                            kind="rejected",
                            qa_id=item.qa_id,
                            group_id=group.group_id,
                            criterion=verdict.criterion,
                            reason=verdict.reason.strip(),
                        )
                    )
                else:
                    kept.append(
                        item.model_copy(
                            update={
                                "verdict": {
                                    "keep": True,
                                    "criterion": "none",
                                    "reason": verdict.reason.strip(),
                                },
                                "provenance": {**item.provenance, NAME: provenance},
                            }
                        )
                    )
        ctx.usage.count("qa_kept", len(kept))
        for row in dropped:
            ctx.usage.count(f"qa_{row.kind}:{row.criterion}")
        return record.advance(kept, dropped, tally_as=self.tally_as)

    def projected_requests(
        self, group: CaptionGroup, items: list[QAItem], config: BuildConfigView
    ) -> list[LLMRequest]:
        settings = self.settings(config)
        return [qa_filter_request(group, items, settings)] if settings.enabled and items else []

    def estimate(self, record: QARecord, ctx: StageContext) -> StageUsage | None:
        settings = self.settings(ctx.config)
        if not settings.enabled:
            return None
        batches = _by_group(record)
        requests = [qa_filter_request(group, members, settings) for group, members in batches]
        return estimate_all(ctx, settings.resolved_model(ctx.config), requests)

"""Stage ``qa_generation``: several multi-frame QA pairs per caption group (paper §1.6, Fig. 7).

One structured-output request per group (prompt ``qa_generation.v1``, answer model :class:`QAPairs`);
every pair carries one of the 14 task types and the caption numbers it relies on. A group whose answer
stays malformed after every retry is recorded as dropped (``failed``), and so is a pair that refers to a
caption the group does not have; a pair relying on a single caption is rejected (``single_frame``).
"""

from __future__ import annotations

from pydantic import Field

from videoespresso_hf.llm import LLMRequest, user_message
from videoespresso_hf.pipeline.prompts import render_prompt
from videoespresso_hf.pipeline.stages.answer_models import QAPairs
from videoespresso_hf.pipeline.stages.base import BuildConfigView, StageContext, StageUsage
from videoespresso_hf.pipeline.stages.llm_calls import (
    LLMStage,
    LLMStepSettings,
    answer_all,
    estimate_all,
)
from videoespresso_hf.pipeline.stages.qa_items import Dropped, QAItem, QARecord
from videoespresso_hf.pipeline.video_record import CaptionGroup, VideoRecord
from videoespresso_hf.tasks import LEADERBOARD_TASKS

__all__ = ["QAGenerationSettings", "QAGenerationStage", "qa_generation_request"]

NAME = "qa_generation"


class QAGenerationSettings(LLMStepSettings):
    """``config.qa_generation``.

    Attributes:
        pairs_per_group: QA pairs asked per group (the paper does not say how many; 3 is our default).
        min_group_size: groups with fewer captions are skipped (a multi-frame question needs two frames).
    """

    prompt_version: str = "qa_generation.v1"
    pairs_per_group: int = Field(default=3, ge=1)
    min_group_size: int = Field(default=2, ge=2)


def qa_generation_request(group: CaptionGroup, settings: QAGenerationSettings) -> LLMRequest:
    """The structured-output request for one caption group."""
    prompt = render_prompt(
        settings.prompt_version,
        captions=group.captions,
        num_pairs=settings.pairs_per_group,
        tasks=list(LEADERBOARD_TASKS),
    )
    return LLMRequest(
        [user_message(prompt)], prompt_version=settings.prompt_version, stage=NAME, response_model=QAPairs
    )


def _reference_problem(numbers: list[int], group_size: int) -> tuple[str, str] | None:
    """Why a pair's caption references are unusable (criterion, reason), or None when they are fine."""
    invalid = [n for n in numbers if not 1 <= n <= group_size]
    if invalid:
        return "invalid_caption_reference", f"caption numbers {invalid} outside 1..{group_size}"
    if len(set(numbers)) < 2:
        return "single_frame", f"relies on caption(s) {sorted(set(numbers))} only: no multi-frame reasoning"
    return None


class QAGenerationStage(LLMStage):
    """The first QA stage: caption groups in (a video record), QA items out."""

    name = NAME
    version = "1"
    input_type = VideoRecord
    tally_as = "generated"

    def settings(self, config: BuildConfigView) -> QAGenerationSettings:
        return config.qa_generation

    def _asked(self, group: CaptionGroup, settings: QAGenerationSettings) -> bool:
        return len(group.captions) >= settings.min_group_size

    def _groups(self, record: VideoRecord, settings: QAGenerationSettings) -> list[CaptionGroup]:
        return [group for group in record.groups if self._asked(group, settings)]

    def projected_requests(
        self, group: CaptionGroup, items: list[QAItem], config: BuildConfigView
    ) -> list[LLMRequest]:
        settings = self.settings(config)
        return [qa_generation_request(group, settings)] if self._asked(group, settings) else []

    def run(self, record: VideoRecord, ctx: StageContext) -> QARecord:
        settings = self.settings(ctx.config)
        model = settings.resolved_model(ctx.config)
        groups = self._groups(record, settings)
        dropped = [
            Dropped(
                stage=NAME,
                kind="rejected",
                group_id=group.group_id,
                criterion="group_too_small",
                reason=f"{len(group.captions)} caption(s) < min_group_size {settings.min_group_size}",
            )
            for group in record.groups
            if not self._asked(group, settings)
        ]
        results = answer_all(ctx, model, [qa_generation_request(group, settings) for group in groups])
        items: list[QAItem] = []
        provenance = {NAME: {"model": model, "prompt_version": settings.prompt_version}}
        for group, result in zip(groups, results, strict=True):
            if result.error is not None:
                dropped.append(
                    Dropped(
                        stage=NAME,
                        kind="failed",
                        group_id=group.group_id,
                        criterion="llm_error",
                        reason=result.error,
                    )
                )
                continue
            for k, pair in enumerate(result.parsed.pairs):
                qa_id = f"{group.group_id}-q{k:02d}"
                problem = _reference_problem(pair.caption_numbers, len(group.captions))
                if problem is not None:
                    criterion, reason = problem
                    dropped.append(
                        Dropped(
                            stage=NAME,
                            kind="rejected" if criterion == "single_frame" else "failed",
                            qa_id=qa_id,
                            group_id=group.group_id,
                            criterion=criterion,
                            reason=reason,
                        )
                    )
                    continue
                items.append(
                    QAItem(
                        qa_id=qa_id,
                        group_id=group.group_id,
                        question=pair.question,
                        answer=pair.answer,
                        task=pair.task,
                        caption_numbers=sorted(set(pair.caption_numbers)),
                        provenance=provenance,
                    )
                )
        ctx.usage.count("qa_generated", len(items))
        for row in dropped:
            ctx.usage.count(f"qa_generation_{row.kind}:{row.criterion}")
        return QARecord(video=record).advance(items, dropped, tally_as=self.tally_as)

    def estimate(self, record: VideoRecord, ctx: StageContext) -> StageUsage | None:
        settings = self.settings(ctx.config)
        requests = [qa_generation_request(group, settings) for group in self._groups(record, settings)]
        return estimate_all(ctx, settings.resolved_model(ctx.config), requests)

"""Dry run: what the LLM stages after the first paid one would cost, before their inputs exist.

A dry run stops at the first paid stage (usually captioning): the caption groups and QA items the later
stages work on come from answers it did not buy. So each later stage is estimated on groups and items of
an assumed size, through the stage's own request builder (:meth:`LLMStage.projected_requests`), with the
ledger's token rules (:mod:`videoespresso_hf.llm.ledger`). The assumptions are upper bounds, since a budget
needs them:

* groups: a video's existing groups, else its sampled frames cut into ``groups.size`` (redundancy removal
  drops none);
* captions: ``captions.max_new_tokens`` tokens each (the captioner's cap);
* QA items: ``qa_generation.pairs_per_group`` per group (the filter rejects none), question and answer
  sharing the ``llm.estimated_output_tokens`` a QA generation answer is assumed to take;
* answers: ``llm.estimated_output_tokens`` each (no QA stage caps its output);
* distractors: every round asked, for the test-split videos only.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from videoespresso_hf.llm.ledger import CHARS_PER_TOKEN, estimate_cost
from videoespresso_hf.llm.request import request_body
from videoespresso_hf.pipeline.stages.base import StageUsage
from videoespresso_hf.pipeline.stages.llm_calls import LLMStage
from videoespresso_hf.pipeline.stages.qa_items import QAItem, QARecord
from videoespresso_hf.pipeline.video_record import CaptionGroup, VideoRecord
from videoespresso_hf.tasks import LEADERBOARD_TASKS

if TYPE_CHECKING:
    from videoespresso_hf.pipeline.config import BuildConfig

__all__ = ["Projection", "project_stages"]


@dataclass(frozen=True)
class Projection:
    """The projected usage of each later LLM stage (upper bounds) and the assumption behind it, in words."""

    usage: dict[str, StageUsage]
    assumption: str


def _text(tokens: int) -> str:
    """Filler text that the ledger's rule counts as about ``tokens`` tokens."""
    word = "word "
    return (word * max(1, tokens * CHARS_PER_TOKEN // len(word))).strip()


def _group(video_id: str, size: int, caption: str) -> CaptionGroup:
    return CaptionGroup(
        group_id=f"{video_id}-projected",
        video_id=video_id,
        video_path="",
        position=0,
        frame_indices=list(range(size)),
        timestamps=[float(i) for i in range(size)],
        captions=[caption] * size,
    )


def _assumed_items(group: CaptionGroup, pairs: int, question: str, answer: str) -> list[QAItem]:
    return [
        QAItem(
            qa_id=f"{group.group_id}-q{k:02d}",
            group_id=group.group_id,
            question=question,
            answer=answer,
            task=LEADERBOARD_TASKS[0],
            caption_numbers=[1, len(group.captions)],
        )
        for k in range(pairs)
    ]


def _groups_and_items(record: Any, config: BuildConfig) -> list[tuple[CaptionGroup, list[QAItem]]]:
    """A video's caption groups and the QA items each yields: the real ones where they exist, else assumed."""
    video: VideoRecord = record.video if isinstance(record, QARecord) else record
    if isinstance(record, QARecord):
        by_group: dict[str, list[QAItem]] = defaultdict(list)
        for item in record.items:
            by_group[item.group_id].append(item)
        return [(group, by_group[group.group_id]) for group in video.groups if by_group[group.group_id]]
    size, pairs = config.groups.size, config.qa_generation.pairs_per_group
    per_pair = max(1, config.llm.estimated_output_tokens // pairs // 2)
    question, answer = _text(per_pair), _text(per_pair)
    groups = video.groups or [_group(video.video_id, size, _text(config.captions.max_new_tokens))] * -(
        -len(video.frames) // size
    )
    return [(group, _assumed_items(group, pairs, question, answer)) for group in groups]


def project_stages(stages: Sequence[LLMStage], records: dict[str, Any], config: BuildConfig) -> Projection:
    """The usage each of ``stages`` would have on ``records`` (video id -> the dry-run stage's input).

    Groups of the same shape are estimated once and counted as often as they occur, so projecting a large
    build renders a handful of prompts, not one per group.
    """
    shapes: dict[str, Counter[tuple[Any, ...]]] = {stage.name: Counter() for stage in stages}
    examples: dict[tuple[Any, ...], tuple[CaptionGroup, list[QAItem]]] = {}
    groups = frames = 0
    for video_id, record in records.items():
        video = record.video if isinstance(record, QARecord) else record
        frames += len(video.frames)
        for group, items in _groups_and_items(record, config):
            groups += 1
            shape = (tuple(group.captions), tuple((item.question, item.answer) for item in items))
            examples.setdefault(shape, (group, items))
            for stage in stages:
                if stage.asks_for(video_id, config):
                    shapes[stage.name][shape] += 1
    usage = {}
    for stage in stages:
        llm_config = config.llm.model_copy(update={"model": stage.settings(config).resolved_model(config)})
        total = StageUsage()
        for shape, count in shapes[stage.name].items():
            group, items = examples[shape]
            bodies = [request_body(request, llm_config) for request in stage.projected_requests(group, items, config)]
            one = StageUsage.from_estimate(estimate_cost(bodies, llm_config), batch=config.llm_batch.enabled)
            for _ in range(count):
                total.merge(one)
        usage[stage.name] = total
    asking = {stage.name: sum(shapes[stage.name].values()) for stage in stages}
    assumption = (
        f"assuming at most {groups} groups for {len(records)} videos (their {frames} sampled frames in groups of "
        f"{config.groups.size}, none dropped as redundant; config groups.size), captions of "
        f"{config.captions.max_new_tokens} tokens (config captions.max_new_tokens), "
        f"{config.qa_generation.pairs_per_group} QA items per group (config qa_generation.pairs_per_group), none "
        f"filtered out, and {config.llm.estimated_output_tokens}-token answers (config llm.estimated_output_tokens)"
    )
    if "distractors" in asking:
        assumption += (
            f"; distractors: {asking['distractors']} groups of test-split videos, "
            f"{config.distractors.max_rounds} rounds per item (config distractors)"
        )
    return Projection(usage=usage, assumption=assumption)

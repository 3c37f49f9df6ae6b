"""Multiple-choice items for the test split: three length-matched distractors and a seeded option order.

The paper shows that its distractors are length-balanced (Fig. 12: token-length gap between the reference
answer and the longest distractor) but not how they were made (§3.2). Our method:

1. The LLM writes ``num_candidates`` (default 6) wrong answers of about the reference's length
   (``distractors.v1.jinja``).
2. Candidates are cleaned: empty ones, copies of the reference and near-duplicates of each other are
   removed; with an embedder, paraphrases of the reference (cosine similarity ≥ ``max_similarity``) too.
3. :func:`choose_distractors` keeps the three whose length is closest to the reference's. Length is the
   number of whitespace-separated words (a tokenizer-free stand-in for the paper's token length).
4. If the longest relative gap ``max_i |len(d_i) − len(ref)| / len(ref)`` exceeds ``tolerance``
   (default 0.2), a second request (``round=2`` in the prompt, hence a new cache key) adds candidates and
   step 3 runs on the pool. Nothing is truncated: a cut-off option would give itself away. An item that is
   still unbalanced keeps its best three and is flagged ``length_balanced: false`` in its metadata (and
   counted in the run summary), never silently passed off as balanced.
5. :func:`assemble_options` shuffles the four options with a per-item seeded RNG (``sha256(seed:item_id)``),
   so the correct letter is uniform over A–D across items and the same on every re-run.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import Field

from videoespresso_hf.llm import LLMRequest, user_message
from videoespresso_hf.pipeline.prompts import render_prompt
from videoespresso_hf.pipeline.stages.answer_models import DistractorCandidates
from videoespresso_hf.pipeline.stages.base import BuildConfigView, StageContext, load_embedder
from videoespresso_hf.pipeline.stages.llm_calls import LLMStage, LLMStepSettings, answer_all
from videoespresso_hf.pipeline.stages.qa_items import Dropped, QAItem, QARecord
from videoespresso_hf.pipeline.video_record import CaptionGroup

__all__ = [
    "LETTERS",
    "DistractorChoice",
    "DistractorSettings",
    "DistractorsStage",
    "assemble_options",
    "choose_distractors",
    "clean_candidates",
    "distractor_request",
    "length_gap",
    "split_for",
    "word_length",
]

LETTERS = ("A", "B", "C", "D")

EmbedFn = Callable[[Sequence[str]], np.ndarray]


def word_length(text: str) -> int:
    """Length in whitespace-separated words."""
    return len(text.split())


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def length_gap(reference: str, option: str) -> float:
    """Relative length gap ``|len(option) − len(reference)| / len(reference)`` in words."""
    ref = max(1, word_length(reference))
    return abs(word_length(option) - ref) / ref


@dataclass(frozen=True)
class DistractorChoice:
    """The chosen distractors and their length balance.

    Attributes:
        distractors: the chosen wrong answers (``k`` of them when ``ok``).
        gaps: relative length gap of each chosen distractor (see :func:`length_gap`).
        balanced: every gap is within the tolerance.
        rejected: candidates removed while cleaning, with the reason (for provenance).
    """

    distractors: tuple[str, ...]
    gaps: tuple[float, ...]
    balanced: bool
    rejected: tuple[tuple[str, str], ...] = ()

    @property
    def max_gap(self) -> float:
        return max(self.gaps, default=0.0)


def clean_candidates(
    reference: str,
    candidates: Sequence[str],
    *,
    embed_fn: EmbedFn | None = None,
    max_similarity: float = 0.9,
) -> tuple[list[str], list[tuple[str, str]]]:
    """Drop empty candidates, copies of the reference, duplicates and (with ``embed_fn``) paraphrases.

    Returns:
        ``(kept, rejected)`` with ``rejected`` as ``(candidate, reason)`` pairs; order is preserved.
    """
    kept, rejected, seen = [], [], {_norm(reference)}
    for candidate in candidates:
        text = " ".join(candidate.split())
        if not text:
            rejected.append((candidate, "empty"))
        elif _norm(text) in seen:
            rejected.append(
                (text, "duplicate of the reference" if _norm(text) == _norm(reference) else "duplicate")
            )
        else:
            seen.add(_norm(text))
            kept.append(text)
    if embed_fn is not None and kept:
        vectors = np.asarray(embed_fn([reference, *kept]), dtype=np.float64)
        vectors /= np.clip(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12, None)
        similarity = vectors[1:] @ vectors[0]
        paraphrases = {i for i, s in enumerate(similarity) if s >= max_similarity}
        rejected += [
            (kept[i], f"paraphrase of the reference (cos={similarity[i]:.2f})") for i in sorted(paraphrases)
        ]
        kept = [text for i, text in enumerate(kept) if i not in paraphrases]
    return kept, rejected


def choose_distractors(
    reference: str,
    candidates: Sequence[str],
    *,
    k: int = 3,
    tolerance: float = 0.2,
    embed_fn: EmbedFn | None = None,
    max_similarity: float = 0.9,
) -> DistractorChoice:
    """Pick the ``k`` cleaned candidates closest in word length to ``reference`` (ties: earlier candidate).

    Returns fewer than ``k`` distractors (``balanced=False``) only when fewer valid candidates exist.
    """
    kept, rejected = clean_candidates(reference, candidates, embed_fn=embed_fn, max_similarity=max_similarity)
    ranked = sorted(range(len(kept)), key=lambda i: (length_gap(reference, kept[i]), i))[:k]
    chosen = tuple(kept[i] for i in sorted(ranked))  # keep the LLM's order among the chosen
    gaps = tuple(round(length_gap(reference, text), 4) for text in chosen)
    balanced = len(chosen) == k and all(gap <= tolerance + 1e-9 for gap in gaps)
    return DistractorChoice(chosen, gaps, balanced, tuple(rejected))


def _item_rng(seed: int | str, item_id: str) -> random.Random:
    digest = hashlib.sha256(f"{seed}:{item_id}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def assemble_options(
    reference: str, distractors: Sequence[str], *, seed: int | str, item_id: str
) -> tuple[list[str], str]:
    """Shuffle the reference among the distractors, deterministically per ``(seed, item_id)``.

    Returns:
        ``(options, letter)``: option texts without the ``"(A): "`` prefix, and the correct letter.
    """
    options = [reference, *distractors]
    if len(options) > len(LETTERS):
        raise ValueError(f"at most {len(LETTERS) - 1} distractors, got {len(distractors)}")
    order = list(range(len(options)))
    _item_rng(seed, item_id).shuffle(order)
    shuffled = [options[i] for i in order]
    return shuffled, LETTERS[order.index(0)]


def split_for(video_id: str, test_fraction: float, seed: int | str = 0) -> str:
    """``"test"`` or ``"train"`` for every QA item of a video: a seeded hash of the video id.

    Splitting by video (not by item) keeps the test videos unseen in training; the hash makes the split
    independent of run order and stable across re-runs and machines.
    """
    digest = hashlib.sha256(f"{seed}:{video_id}".encode()).digest()
    return "test" if int.from_bytes(digest[:8], "big") / 2**64 < test_fraction else "train"


class DistractorSettings(LLMStepSettings):
    """``config.distractors``.

    Attributes:
        test_fraction: share of *videos* whose items form the multiple-choice test split.
        split_seed: seed of the split hash and of the option shuffle.
        num_candidates: wrong answers asked per request.
        tolerance: maximum relative word-length gap of a distractor (see the module docstring).
        max_rounds: requests per item at most (a later round asks again when the first is unbalanced).
        paraphrase_check: drop candidates too similar to the reference (embedder: ``config.dedup.embedder``).
        max_similarity: cosine similarity at or above which a candidate counts as a paraphrase.
    """

    prompt_version: str = "distractors.v1"
    test_fraction: float = Field(default=0.01, ge=0, le=1)
    split_seed: int = 0
    num_candidates: int = Field(default=6, ge=3)
    tolerance: float = Field(default=0.2, ge=0)
    max_rounds: int = Field(default=2, ge=1)
    paraphrase_check: bool = True
    max_similarity: float = Field(default=0.9, ge=-1, le=1)


def distractor_request(item: QAItem, settings: DistractorSettings, round: int = 1) -> LLMRequest:
    words = max(1, word_length(item.answer))
    prompt = render_prompt(
        settings.prompt_version,
        question=item.question,
        answer=item.answer,
        num_candidates=settings.num_candidates,
        answer_words=words,
        round=round,
        min_words=max(1, math.ceil(words * (1 - settings.tolerance))),
        max_words=math.floor(words * (1 + settings.tolerance)),
    )
    return LLMRequest(
        [user_message(prompt)],
        prompt_version=settings.prompt_version,
        stage="distractors",
        response_model=DistractorCandidates,
    )


class DistractorsStage(LLMStage):
    """Stage ``distractors``: assigns the split; test items become 4-way multiple choice."""

    name = "distractors"
    version = "1"

    def settings(self, config: BuildConfigView) -> DistractorSettings:
        return config.distractors

    def config_slice(self, config: BuildConfigView) -> dict[str, Any]:
        settings = self.settings(config)
        return {
            **super().config_slice(config),
            "embedder": config.dedup.embedder if settings.paraphrase_check else None,
        }

    def asks_for(self, video_id: str, config: BuildConfigView) -> bool:
        settings = self.settings(config)
        return split_for(video_id, settings.test_fraction, settings.split_seed) == "test"

    def projected_requests(
        self, group: CaptionGroup, items: list[QAItem], config: BuildConfigView
    ) -> list[LLMRequest]:
        settings = self.settings(config)  # every round asked: the most a balanced item can take
        return [
            distractor_request(item, settings, round) for round in range(1, settings.max_rounds + 1) for item in items
        ]

    def run(self, record: QARecord, ctx: StageContext) -> QARecord:
        settings = self.settings(ctx.config)
        split = "test" if self.asks_for(record.video.video_id, ctx.config) else "train"
        items = [item.model_copy(update={"split": split}) for item in record.items]
        if split == "train" or not items:
            ctx.usage.count(f"{split}_items", len(items))
            return record.advance(items, [], split=split)
        model = settings.resolved_model(ctx.config)
        embed = None
        if settings.paraphrase_check:
            embed = load_embedder(ctx.config.dedup.embedder)
        pools: dict[str, list[str]] = {item.qa_id: [] for item in items}
        nothing = choose_distractors("", [])
        choices: dict[str, DistractorChoice] = {item.qa_id: nothing for item in items}
        errors: dict[str, str] = {}
        rounds: dict[str, int] = {item.qa_id: 0 for item in items}
        pending = list(items)
        for round in range(1, settings.max_rounds + 1):
            if not pending:
                break
            results = answer_all(ctx, model, [distractor_request(item, settings, round) for item in pending])
            still = []
            for item, result in zip(pending, results, strict=True):
                rounds[item.qa_id] = round
                if result.error is not None:
                    errors[item.qa_id] = result.error
                    continue
                errors.pop(item.qa_id, None)
                pools[item.qa_id] += result.parsed.distractors
                choice = choices[item.qa_id] = choose_distractors(
                    item.answer,
                    pools[item.qa_id],
                    tolerance=settings.tolerance,
                    embed_fn=embed,
                    max_similarity=settings.max_similarity,
                )
                if not choice.balanced:
                    still.append(item)
            pending = still
        done: list[QAItem] = []
        dropped: list[Dropped] = []
        provenance = {"model": model, "prompt_version": settings.prompt_version}
        for item in items:
            choice = choices[item.qa_id]  # of the item's whole pool: a failed later round added nothing
            if len(choice.distractors) < 3:
                error = errors.get(item.qa_id)
                dropped.append(
                    Dropped(
                        stage=self.name,
                        kind="failed",
                        qa_id=item.qa_id,
                        group_id=item.group_id,
                        criterion="llm_error" if error else "too_few_distractors",
                        reason=error
                        or f"{len(choice.distractors)} usable distractor(s) after {rounds[item.qa_id]} round(s)",
                    )
                )
                continue
            options, letter = assemble_options(
                item.answer, choice.distractors, seed=settings.split_seed, item_id=item.qa_id
            )
            if not choice.balanced:
                ctx.usage.count("mc_length_unbalanced")
            done.append(
                item.model_copy(
                    update={
                        "options": options,
                        "correct_answer": letter,
                        "distractors": {
                            "texts": list(choice.distractors),
                            "gaps": list(choice.gaps),
                            "max_gap": choice.max_gap,
                            "length_balanced": choice.balanced,
                            "tolerance": settings.tolerance,
                            "rounds": rounds[item.qa_id],
                            "rejected": [list(row) for row in choice.rejected],
                        },
                        "provenance": {**item.provenance, self.name: provenance},
                    }
                )
            )
        ctx.usage.count("test_items", len(done))
        for row in dropped:
            ctx.usage.count(f"distractors_{row.kind}:{row.criterion}")
        return record.advance(done, dropped, split=split)

"""The scorer's public entry points: records (or a file) in, the result dictionary out."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from videoespresso_hf.embeddings import DEFAULT_EMBEDDING_MODEL, Embedder, load_text_embedder
from videoespresso_hf.evaluation.aggregation import ItemVerdict, aggregate
from videoespresso_hf.evaluation.predictions import PredictionItem, load_prediction_records, validate_records
from videoespresso_hf.evaluation.protocols import (
    PROTOCOLS,
    SIMILARITY_THRESHOLD,
    judge_official,
    judge_robust,
    judge_similarity,
)

__all__ = ["judge_items", "score_file", "score_records"]


def judge_items(
    items: list[PredictionItem],
    protocol: str = "robust",
    *,
    embedder: Embedder | None = None,
    embedding_model: str = DEFAULT_EMBEDDING_MODEL,
    similarity_threshold: float = SIMILARITY_THRESHOLD,
) -> list[ItemVerdict]:
    """Per-item verdicts under ``protocol`` (``official`` | ``robust`` | ``similarity``)."""
    if protocol == "official":
        return judge_official(items)
    if protocol == "robust":
        return judge_robust(items)
    if protocol == "similarity":
        embedder = embedder or load_text_embedder(embedding_model)
        return judge_similarity(items, embedder, threshold=similarity_threshold)
    raise ValueError(f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}")


def score_records(
    records: Iterable[Any],
    protocol: str = "robust",
    *,
    embedder: Embedder | None = None,
    embedding_model: str = DEFAULT_EMBEDDING_MODEL,
    similarity_threshold: float = SIMILARITY_THRESHOLD,
    bootstrap_resamples: int = 1000,
    seed: int = 0,
    benchmark_items: int | None = None,
) -> dict[str, Any]:
    """Score prediction records (dicts in the released format plus ``model_output``).

    Returns the result dictionary described in :func:`videoespresso_hf.evaluation.aggregation.aggregate`:
    metrics, their ``coverage`` (items scored out of ``benchmark_items``, default the published 1,382, and
    tasks out of 14) and one verdict per record in ``items``.

    Raises:
        PredictionsError: on the first invalid record (one line naming the record and field).
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}")
    items = validate_records(records)
    verdicts = judge_items(
        items,
        protocol,
        embedder=embedder,
        embedding_model=embedding_model,
        similarity_threshold=similarity_threshold,
    )
    result = aggregate(
        verdicts, protocol=protocol, bootstrap_resamples=bootstrap_resamples, seed=seed, benchmark_items=benchmark_items
    )
    if protocol == "similarity":
        result["embedding_model"] = getattr(embedder, "model_id", embedding_model)
        result["similarity_threshold"] = similarity_threshold
    return result


def score_file(path: str | Path, protocol: str = "robust", **kwargs: Any) -> dict[str, Any]:
    """Score a predictions file (JSON list or JSON Lines); see :func:`score_records`."""
    return score_records(load_prediction_records(path), protocol, **kwargs)

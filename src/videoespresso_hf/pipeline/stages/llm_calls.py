"""How the QA stages call the LLM: settings per stage, synchronous or Batch API, failure classification.

Every request goes through :class:`videoespresso_hf.llm.LLMClient` (``ctx.llm_client``), so answers are
cached in ``OUT/llm_cache.sqlite`` the moment they arrive, retried on 429/5xx/timeouts, validated against
the pydantic answer model and asked again when malformed, and billed in the ledger.

Failures are told apart by the :class:`~videoespresso_hf.llm.ErrorKind` the client gives each result:

* ``PERMANENT`` (the answer stayed malformed or schema-violating after every parse attempt, or the endpoint
  refused the request with a 4xx): the stage records the item/group as ``dropped`` (``kind="failed"``) with
  the error and goes on; the run summary counts it.
* ``TRANSIENT`` (retries on 429/5xx/timeouts ran out, a batch line errored or expired, a batch is still
  running): the stage raises :class:`LLMUnavailableError`; the orchestrator marks the video ``error`` and
  retries it on the next run, where every answer already received is served from the cache for free.
* ``FATAL`` errors are raised by the client and stop the whole run (:data:`videoespresso_hf.llm.FATAL_ERRORS`).

Batch mode: ``config.llm_batch = {"enabled": true, "max_wait_s": ..., "poll_interval_s": ...}``
sends each stage's requests through :class:`videoespresso_hf.llm.BatchRunner` (OpenAI Batch API, half
price, resumable: a killed run re-attaches to its submitted batches). With a small ``max_wait_s`` the run
submits one batch per (video, stage), moves on, and collects them on the next run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from videoespresso_hf.llm import ErrorKind, LLMRequest, LLMResult
from videoespresso_hf.pipeline.stages.base import BuildConfigView, Stage, StageContext, StageUsage
from videoespresso_hf.pipeline.stages.qa_items import QAItem, QARecord
from videoespresso_hf.pipeline.video_record import CaptionGroup

__all__ = [
    "BatchSettings",
    "LLMStage",
    "LLMStepSettings",
    "LLMUnavailableError",
    "answer_all",
    "estimate_all",
]


class LLMUnavailableError(RuntimeError):
    """Some requests of a stage failed for transient reasons; the video is retried on the next run."""


class LLMStepSettings(BaseModel):
    """Settings shared by the LLM stages (each has its own section of the build config).

    Attributes:
        model: model id; None uses ``config.llm.model`` (default GPT-4o).
        prompt_version: the template ``pipeline/prompts/<prompt_version>.jinja``.
    """

    model_config = ConfigDict(extra="forbid")

    model: str | None = None
    prompt_version: str

    def resolved_model(self, config: BuildConfigView) -> str:
        return self.model or config.llm.model


class BatchSettings(BaseModel):
    """``config.llm_batch``: route the QA stages' LLM requests through the OpenAI Batch API.

    Not part of any stage fingerprint: batch and synchronous answers are interchangeable (same cache keys).

    Attributes:
        enabled: use the Batch API.
        max_wait_s: stop waiting for a batch after this long (the video is retried on the next run, which
            re-attaches to the batch); None waits up to the 24 h completion window.
        poll_interval_s: seconds between polls (None: ``config.llm.batch_poll_interval_s``).
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    max_wait_s: float | None = Field(default=None, ge=0)
    poll_interval_s: float | None = Field(default=None, ge=0)


def answer_all(ctx: StageContext, model: str, requests: Sequence[LLMRequest]) -> list[LLMResult]:
    """Answer ``requests`` with ``model`` (synchronously or via batches); usage goes into ``ctx.usage``.

    Returns one result per request, in order; permanent failures are results with ``error`` set.

    Raises:
        LLMUnavailableError: if any request failed transiently (after the usage has been recorded).
    """
    if not requests:
        return []
    client = ctx.llm_client(model=model)
    batch = ctx.config.llm_batch
    if batch.enabled:
        from videoespresso_hf.llm import BatchRunner

        runner = BatchRunner(client, poll_interval_s=batch.poll_interval_s, max_wait_s=batch.max_wait_s)
        ctx.progress.plan(len(requests))
        try:
            results = runner.run(list(requests))
        except TimeoutError as exc:
            raise LLMUnavailableError(f"{exc}") from exc
        ctx.progress.advance(len(requests))
    else:
        results = ctx.progress.map(client, list(requests))
    ctx.usage.add_llm_results(results)
    transient = [result for result in results if result.error_kind is ErrorKind.TRANSIENT]
    if transient:
        raise LLMUnavailableError(
            f"{len(transient)} of {len(results)} LLM requests failed transiently (first: {transient[0].error}); "
            "run again to retry (answers already received are cached)"
        )
    return results


def estimate_all(ctx: StageContext, model: str, requests: Sequence[LLMRequest]) -> StageUsage:
    """Dry run: the usage ``requests`` would have (cached answers and repeats of earlier requests are free)."""
    estimate = ctx.llm_client(model=model).estimate(list(requests), estimated=ctx.estimated_keys)
    return StageUsage.from_estimate(estimate, batch=ctx.config.llm_batch.enabled)


class LLMStage(Stage):
    """A per-video QA stage whose work is LLM calls, configured by its own section of the build config.

    Its fingerprint covers the stage settings, the resolved model and the temperature, so changing any of
    them re-asks (through the cache: identical requests still cost nothing).
    """

    input_type = QARecord
    output_type = QARecord
    fan_out = False  # one LLM client (thread pool, budget, ledger) for the whole run
    progress_unit = "request"
    # The name under which the number of items this stage passes on is reported in the dataset manifest's
    # ``qa`` section (e.g. ``"kept_by_filter"``); None reports nothing.
    tally_as: ClassVar[str | None] = None

    def settings(self, config: BuildConfigView) -> LLMStepSettings:  # pragma: no cover - abstract
        """This stage's section of ``config``."""
        raise NotImplementedError

    def endpoint_models(self, config: BuildConfigView) -> list[str]:
        return [self.settings(config).resolved_model(config)]

    def asks_for(self, video_id: str, config: BuildConfigView) -> bool:
        """Whether this stage sends requests for ``video_id``'s items at all (e.g. only test-split videos)."""
        return True

    def projected_requests(
        self, group: CaptionGroup, items: list[QAItem], config: BuildConfigView
    ) -> list[LLMRequest]:  # pragma: no cover - abstract
        """Dry run: the requests this stage sends for one caption group that yields ``items``.

        A dry run stops at the first paid stage, before the groups and items later stages work on exist;
        it estimates those stages from the requests this returns for a group and items of the assumed size
        (see :mod:`videoespresso_hf.pipeline.projection`). Mirror what :meth:`run` sends, at most.
        """
        raise NotImplementedError

    def config_slice(self, config: BuildConfigView) -> dict[str, Any]:
        settings = self.settings(config)
        return {
            **settings.model_dump(),
            "model": settings.resolved_model(config),
            "temperature": config.llm.temperature,
        }

"""The VideoEspresso construction pipeline: videos in, QA with CoT evidence (the ``generated`` dataset) out.

The stages form one ordered chain, written once in :mod:`videoespresso_hf.pipeline.chain`::

    frames (adaptive sampling) -> captions (VLM) -> dedup (semantic redundancy removal) -> groups (15 captions)
        -> QA generation -> QA filter -> CoT evidence -> grounding -> distractors -> export

Each per-video stage is a pure-ish function ``run(record, ctx) -> record`` from its upstream stage's output
to its own (a :class:`~videoespresso_hf.pipeline.video_record.VideoRecord` for the frame stages, a
:class:`~videoespresso_hf.pipeline.stages.qa_items.QARecord` for the QA stages); no stage names another.
The driver (:func:`~videoespresso_hf.pipeline.orchestrator.run_build`) keeps per-video, per-stage state in
``OUT/state.sqlite`` (:mod:`~videoespresso_hf.pipeline.state`), so a killed run resumes without redoing or
re-paying finished work; runners (:mod:`~videoespresso_hf.pipeline.runners`) execute a stage over many videos
locally (a process pool) or on a Ray cluster (Ray Data) with the same stage code.

How to add a stage
------------------
1. **One stage file**, ``pipeline/stages/<name>.py``: a settings model (pydantic, ``extra="forbid"``) and a
   class deriving from :class:`~videoespresso_hf.pipeline.stages.base.Stage` (per video) or
   :class:`~videoespresso_hf.pipeline.stages.base.DatasetStage` (once over all videos, e.g. the export).
   Set ``name``, ``version`` (bump it when the output changes), ``input_type`` / ``output_type`` (the record
   it takes from the stage before it and returns), and ``fan_out = False`` if it holds the LLM client or a
   big model (it then runs in the driver process, parallel inside). Return the settings your output
   depends on from ``config_slice(config)``: they go into the stage fingerprint, so changing them
   recomputes your stage and everything after it, nothing before it. In ``run``, return a new record
   (``record.model_copy(update=...)``, or :meth:`QARecord.advance` for a QA stage); never mutate the input.
   Optional: ``endpoint_models(config)`` (the models it asks the LLM endpoint for: the build job then
   checks the endpoint and their prices first), ``summary_counts(record)`` (run
   summary totals), ``output_file`` + ``output_rows(record)`` (a JSONL file the driver writes),
   ``estimate`` (the dry run), ``progress_unit`` (what you report to ``ctx.progress`` inside a video). LLM
   calls go through ``ctx.llm_client(model=...)`` (cached in ``OUT/llm_cache.sqlite``, budgeted, retried);
   a QA stage derives from :class:`~videoespresso_hf.pipeline.stages.llm_calls.LLMStage`, calls
   :func:`~videoespresso_hf.pipeline.stages.llm_calls.answer_all` (which counts requests in the progress
   bar) and returns from ``projected_requests`` what it would send for one group, so a dry run that stops
   before your stage can still price it (:mod:`~videoespresso_hf.pipeline.projection`); add counts with ``ctx.usage.count``;
   load heavy objects once with ``ctx.resource(key, factory)``. Raise
   :class:`~videoespresso_hf.pipeline.stages.base.StageError` when the input is unusable (that video fails
   with your message; the run goes on); other exceptions are retried on the next run.
2. **One line in the chain**: an instance of your stage at its place in
   :data:`~videoespresso_hf.pipeline.chain.CONSTRUCTION_CHAIN` (the driver checks that its ``input_type`` is
   the ``output_type`` of the stage before it). ``videoespresso build --until <name>`` then stops after it.
3. **One settings field**: ``<name>: YourSettings = Field(default_factory=YourSettings)`` in
   :class:`~videoespresso_hf.pipeline.config.BuildConfig` (or a subclass of it, for a chain of your own
   passed as ``run_build(..., stages=...)``), under the stage's own name; read it in the stage as
   ``ctx.config.<name>``. The settings class lives in the stage file: the config imports the stages, and a
   stage sees the config only through :class:`~videoespresso_hf.pipeline.stages.base.BuildConfigView`.

From Python, :func:`videoespresso_hf.build` (:mod:`videoespresso_hf.pipeline.job`) is the call the CLI makes:
it resolves and checks the settings (config trust, budget, endpoint, runner), then runs
:func:`~videoespresso_hf.pipeline.orchestrator.run_build`; :mod:`~videoespresso_hf.pipeline.report` formats
what a run did.
"""

from videoespresso_hf.pipeline.config import BuildConfig
from videoespresso_hf.pipeline.orchestrator import BuildSummary, run_build
from videoespresso_hf.pipeline.redundancy import select_non_redundant
from videoespresso_hf.pipeline.video_record import CaptionGroup, FrameRecord, VideoRecord

__all__ = [
    "BuildConfig",
    "BuildSummary",
    "CaptionGroup",
    "FrameRecord",
    "VideoRecord",
    "run_build",
    "select_non_redundant",
]

"""The VideoEspresso construction pipeline: videos in, QA with CoT evidence (the ``generated`` dataset) out.

Per-video stages run in a chain, each a pure-ish function ``run(record, ctx) -> record`` over a
:class:`~videoespresso_hf.pipeline.records.VideoRecord`::

    frames (adaptive sampling) -> captions (VLM) -> dedup (semantic redundancy removal) -> groups (15 captions)
        -> QA generation -> QA filter -> CoT evidence -> grounding -> distractors -> export

The orchestrator (:func:`~videoespresso_hf.pipeline.orchestrator.run_build`) keeps per-video, per-stage state
in ``OUT/state.sqlite`` (:mod:`~videoespresso_hf.pipeline.state`), so a killed run resumes without redoing or
re-paying finished work; runners (:mod:`~videoespresso_hf.pipeline.runners`) execute a stage over many videos
locally (a process pool) or on a Ray cluster (Ray Data) with the same stage code.

How to add a stage
------------------
1. Create ``pipeline/stages/<name>.py`` with a class deriving from
   :class:`~videoespresso_hf.pipeline.stages.base.Stage` (per video) or
   :class:`~videoespresso_hf.pipeline.stages.base.DatasetStage` (once over all videos, e.g. export), decorated
   with :func:`~videoespresso_hf.pipeline.stages.base.register_stage`. Set ``name``, ``version`` (bump it
   when the output changes), ``after`` (the stage whose record you consume; e.g. ``"groups"``), and
   ``fan_out = False`` if the stage calls the LLM client or a big model (it then runs in the driver process
   and gets its parallelism from the LLM client's thread pool / batching).
2. Return the settings your output depends on from ``config_slice(config)``; read them from
   ``config.stages[<name>]`` (free-form dict, validate it with your own pydantic model) or from
   ``config.llm``. They go into the stage fingerprint: changing them recomputes your stage and everything
   after it, nothing before it.
3. In ``run``, read what earlier stages produced (``record.groups``, ``record.artifacts[...]``) and return
   ``record.model_copy(update=...)`` with your output under ``record.artifacts[<name>]`` (JSON-serialisable,
   e.g. a list of ``model_dump()``s). Never mutate the input record.
4. Use ``ctx.llm_client(model=...)`` for LLM calls (pass ``stage=<name>`` on each request) (cached in ``OUT/llm_cache.sqlite``, budgeted, retried);
   add paid/cached calls, tokens and cost with ``ctx.usage.add_llm_results(results)`` and any counts you want
   in the summary with ``ctx.usage.count("qa_items", n)``. Heavy objects: ``ctx.resource(key, factory)``.
5. Raise :class:`~videoespresso_hf.pipeline.stages.base.StageError` when the input is unusable (recorded as a
   failure of that video with your message; the run goes on). Other exceptions are retried on the next run.
6. Add the module name to ``STAGE_MODULES`` in ``pipeline/stages/__init__.py``. ``videoespresso build
   --until <name>`` then stops after it.
"""

from videoespresso_hf.pipeline.config import BuildConfig
from videoespresso_hf.pipeline.orchestrator import BuildSummary, run_build
from videoespresso_hf.pipeline.records import CaptionGroup, FrameRecord, VideoRecord
from videoespresso_hf.pipeline.redundancy import select_non_redundant

__all__ = [
    "BuildConfig",
    "BuildSummary",
    "CaptionGroup",
    "FrameRecord",
    "VideoRecord",
    "run_build",
    "select_non_redundant",
]

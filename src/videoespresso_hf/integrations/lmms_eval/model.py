"""``videoespresso_hybrid``: the paper's hybrid (frame selector + two-stage reasoner) as an lmms-eval model.

Registered through the ``lmms_eval.models`` entry-point group (``pyproject.toml``), so an environment that has
this package and lmms-eval runs it on any lmms-eval video task with no plugin variable::

    python -m lmms_eval --model videoespresso_hybrid \\
        --model_args reasoner=Qwen/Qwen2.5-VL-7B-Instruct,selector=PATH,max_core_frames=3 \\
        --tasks videomme --batch_size 1

Each request's video goes to :class:`~videoespresso_hf.models.hybrid.HybridVideoQA` with the task's prompt as the
question (the prompt already lists the options). The response is ``<think>EVIDENCE</think>ANSWER``: lmms-eval
strips ``<think>`` blocks before scoring (its default ``--reasoning_tags``), so every task scores the stage-2
answer, while the logged sample (``--log_samples``, field ``resps``) keeps the stage-1 evidence beside it.

Model arguments (``--model_args`` ``key=value`` pairs):
    reasoner: a VideoEspresso reasoner, a stock checkpoint of a supported family, or a training adapter (required).
    selector: a saved Frame Selector (needed by ``strategy=model`` and ``embedding``).
    strategy: frame selection (default ``model`` with a selector, else ``uniform``).
    max_core_frames / candidate_fps / max_candidates: as :class:`HybridVideoQA` takes them.
    device_map, dtype, attn_implementation, min_pixels, max_pixels: model loading (lmms-eval's ``--device`` is
        the device map when ``device_map`` is not given; its ``max_batch_size`` is ignored).
    max_new_tokens: the answer budget when the task's ``generation_kwargs`` name none (default 32).
    evidence_max_new_tokens: the stage-1 evidence budget (default: the reasoner config's).
"""

from __future__ import annotations

from typing import Any

from videoespresso_hf.dtypes import torch_dtype

try:
    from lmms_eval.api.instance import Instance
    from lmms_eval.api.model import lmms
except ModuleNotFoundError as error:  # imported only by lmms-eval itself, through the entry point
    raise ModuleNotFoundError(
        "videoespresso_hf.integrations.lmms_eval.model needs lmms-eval (scripts/setup_lmms_eval.sh)", name=error.name
    ) from error

MODEL_ID = "videoespresso_hybrid"
DEFAULT_MAX_NEW_TOKENS = 32
_INT_ARGS = ("max_core_frames", "max_candidates", "min_pixels", "max_pixels", "max_new_tokens",
             "evidence_max_new_tokens", "batch_size")
_FLOAT_ARGS = ("candidate_fps",)


def _typed(name: str, value: Any) -> Any:
    """lmms-eval passes ``--model_args`` values as strings (or as ints/floats it guessed): make them ours."""
    if value is None or value == "":
        return None
    if name in _INT_ARGS:
        return int(value)
    if name in _FLOAT_ARGS:
        return float(value)
    return value


def response_text(evidence: str, answer: str) -> str:
    """The response lmms-eval logs and scores: the evidence in a ``<think>`` block (stripped before scoring)."""
    return f"<think>{evidence.strip()}</think>{answer.strip()}"


class VideoEspressoHybrid(lmms):
    """Selector + two-stage reasoner on a few core frames, answering lmms-eval ``generate_until`` requests."""

    is_simple = True

    def __init__(
        self,
        reasoner: str,
        selector: str | None = None,
        strategy: str | None = None,
        max_core_frames: int | str | None = None,
        candidate_fps: float | str | None = None,
        max_candidates: int | str | None = None,
        device_map: str | None = None,
        dtype: str = "auto",
        attn_implementation: str | None = None,
        min_pixels: int | str | None = None,
        max_pixels: int | str | None = None,
        max_new_tokens: int | str | None = None,
        evidence_max_new_tokens: int | str | None = None,
        batch_size: int | str = 1,
        device: str | None = None,
        max_batch_size: int | str | None = None,
        **unused: Any,
    ) -> None:
        super().__init__()
        from videoespresso_hf.models.hybrid import HybridVideoQA

        if unused:
            raise ValueError(f"{MODEL_ID}: unknown model argument(s) {', '.join(sorted(unused))}")
        if int(batch_size) != 1:
            raise ValueError(f"{MODEL_ID}: batch_size must be 1 (each request selects its own frames)")
        if device_map is None and device:  # lmms-eval's --device ("cpu", "cuda:0"), unless device_map was named
            device_map = device
        hybrid_kwargs = {
            name: _typed(name, value)
            for name, value in (
                ("max_core_frames", max_core_frames),
                ("candidate_fps", candidate_fps),
                ("max_candidates", max_candidates),
            )
            if _typed(name, value) is not None
        }
        self.hybrid = HybridVideoQA.from_pretrained(
            reasoner,
            selector,
            strategy=strategy or ("model" if selector else "uniform"),
            dtype=torch_dtype(dtype),
            device_map=device_map,
            attn_implementation=attn_implementation,
            min_pixels=_typed("min_pixels", min_pixels),
            max_pixels=_typed("max_pixels", max_pixels),
            **hybrid_kwargs,
        )
        self.max_new_tokens = _typed("max_new_tokens", max_new_tokens) or DEFAULT_MAX_NEW_TOKENS
        self.evidence_max_new_tokens = _typed("evidence_max_new_tokens", evidence_max_new_tokens)

    def _video_of(self, request: Instance) -> str:
        _context, _gen_kwargs, doc_to_visual, doc_id, task, split = request.args
        visuals = doc_to_visual(self.task_dict[task][split][doc_id])
        videos = [visual for visual in visuals or [] if isinstance(visual, str)]
        if not videos:
            raise ValueError(f"{MODEL_ID}: task {task!r} gave no video file for document {doc_id}")
        return videos[0]

    def generate_until(self, requests: list[Instance]) -> list[str]:
        responses = []
        for request in requests:
            context, gen_kwargs = request.args[0], dict(request.args[1] or {})
            budget = int(gen_kwargs.get("max_new_tokens") or self.max_new_tokens)
            result = self.hybrid.answer(
                self._video_of(request),
                context,
                answer_max_new_tokens=budget,
                evidence_max_new_tokens=self.evidence_max_new_tokens,
            )
            text = response_text(result.evidence, result.answer)
            self.cache_hook.add_partial("generate_until", (context, gen_kwargs), text)
            responses.append(text)
        return responses

    def loglikelihood(self, requests: list[Instance]) -> list[tuple[float, bool]]:
        raise NotImplementedError(f"{MODEL_ID} generates answers; loglikelihood tasks are not supported")

    def generate_until_multi_round(self, requests: list[Instance]) -> list[str]:
        raise NotImplementedError(f"{MODEL_ID} answers single-round tasks")


def manifest():
    """The ``lmms_eval.models`` entry point: lmms-eval's registry imports the class only when it is asked for."""
    from lmms_eval.models.registry_v2 import ModelManifest

    return ModelManifest(model_id=MODEL_ID, simple_class_path=f"{__name__}.VideoEspressoHybrid")

"""videoespresso_hf: VideoEspresso (CVPR 2025) on the Hugging Face stack.

Every job is a Python call with one config, the same call the ``videoespresso`` CLI makes:

>>> import videoespresso_hf as ve
>>> ve.score(predictions="preds.jsonl")                                         # doctest: +SKIP
>>> ve.predict(data="data/videoespresso", model="Qwen/Qwen2.5-VL-7B-Instruct",
...            frames="uniform:16", output="preds.jsonl")                       # doctest: +SKIP

Each entry point takes keyword arguments or its config dataclass and returns a result object.

Parts (one sub-package each): ``evaluation`` (the 14-task benchmark scorer), ``data`` (the
``datasets`` builder and Hub export), ``video`` (decoding, sampling, shot detection), ``llm``
(the one OpenAI-compatible client), ``pipeline`` (the construction pipeline), ``models`` (Frame
Selector and Reasoner as ``PreTrainedModel``s), ``training`` and ``benchmarking`` (running a model
over the benchmark).

This import is cheap (no torch): the entry points and configs below are imported on first use, so that
``videoespresso score`` starts fast. ``import videoespresso_hf.models`` registers the models with the
transformers Auto classes.
"""

from videoespresso_hf._lazy import lazy_exports

__version__ = "0.1.0"

# The jobs as calls: name -> module that defines it. No subpackage is named like a root function, so
# importing ``videoespresso_hf.<subpackage>.x`` can never rebind one of these names.
_EXPORTS = {
    "predict": ".benchmarking.job",
    "PredictConfig": ".benchmarking.job",
    "PredictResult": ".benchmarking.job",
    "build": ".pipeline.job",
    "BuildArguments": ".pipeline.job",
    "BuildConfig": ".pipeline.config",
    "BuildResult": ".pipeline.job",
    "score": ".evaluation.job",
    "ScoreConfig": ".evaluation.job",
    "ScoreResult": ".evaluation.job",
    "train_reasoner": ".training.reasoner",
    "ReasonerTrainingArguments": ".training.arguments",
    "train_selector": ".training.selector",
    "SelectorTrainingArguments": ".training.arguments",
}

__all__ = ["__version__", *sorted(_EXPORTS)]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

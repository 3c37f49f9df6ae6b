"""VideoEspresso benchmark metric for 🤗 evaluate.

Load it offline from its folder (``videoespresso_hf.evaluation.metric_path()`` returns it)::

    import evaluate
    from videoespresso_hf.evaluation import metric_path

    metric = evaluate.load(metric_path())
    metric.compute(predictions=["Answer: B"], references=["(B)"], tasks=["Causal Inference"])

The numbers are those of :func:`videoespresso_hf.evaluation.score_records`: this module is a thin
wrapper (``evaluate`` is in maintenance mode, so the logic lives in the package).
"""

import datasets
import evaluate

from videoespresso_hf.evaluation.scorer import score_records

_CITATION = """\
@inproceedings{han2025videoespresso,
  title     = {VideoEspresso: A Large-Scale Chain-of-Thought Dataset for Fine-Grained Video Reasoning via Core Frame Selection},
  author    = {Han, Songhao and Huang, Wei and Shi, Hairong and Zhuo, Le and Su, Xiu and Zhang, Shifeng and Zhou, Xu and Qi, Xiaojuan and Liao, Yue and Liu, Si},
  booktitle = {Proceedings of the IEEE/CVF Conference on Computer Vision and Pattern Recognition (CVPR)},
  pages     = {26181--26191},
  year      = {2025}
}
"""

_DESCRIPTION = """\
Accuracy on the 14-task VideoEspresso multiple-choice benchmark: per task, micro (leaderboard
Overall), macro (paper Avg.), unanswered count and a bootstrap 95% interval, under the `official`
(reproduces eval/score.py), `robust` (default) or `similarity` (paper Algorithm 1) protocol.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (list of str): model outputs.
    references (list of str): correct answers, e.g. "(B)".
    tasks (list of str): task of each item (paper or leaderboard name, any case).
    options (list of list of str, optional): the four "(A): text" options of each item; needed by the
        `similarity` protocol and lets `robust` match an output that repeats an option's text.
    protocol (str): "robust" (default), "official" or "similarity".
    embedding_model (str, optional): sentence-transformers model for `similarity`.
Returns:
    dict: {"protocol", "overall": {"micro", "macro", "n", "correct", "unanswered", "micro_ci95"}, "tasks": {...},
        "coverage": {"items", "benchmark_items", "tasks", "benchmark_tasks", "covered_tasks", "partial"},
        "items": [{"id", "task", "extracted", "correct", "reason", "rule"}, ...]}: the numbers, what they cover
        (items scored out of the benchmark's 1,382, tasks out of 14; a partial run is not comparable with the
        published rows) and one verdict per item.
"""

_PLACEHOLDER_OPTIONS = ["(A): ", "(B): ", "(C): ", "(D): "]


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class VideoEspresso(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "predictions": datasets.Value("string"),
                    "references": datasets.Value("string"),
                    "tasks": datasets.Value("string"),
                }
            ),
            reference_urls=["https://arxiv.org/abs/2411.14794", "https://github.com/hshjerry/VideoEspresso"],
        )

    def _compute(self, predictions, references, tasks, options=None, protocol="robust", embedding_model=None, seed=0):
        if options is None:
            if protocol == "similarity":
                raise ValueError("the similarity protocol needs `options` (the four '(A): text' options of each item)")
            options = [_PLACEHOLDER_OPTIONS] * len(predictions)
        records = [
            {"question": "", "options": list(item_options), "correct_answer": reference, "task": task, "model_output": output}
            for output, reference, task, item_options in zip(predictions, references, tasks, options, strict=True)
        ]
        kwargs = {"embedding_model": embedding_model} if embedding_model else {}
        return score_records(records, protocol, seed=seed, **kwargs)

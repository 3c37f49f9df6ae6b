"""Model cards for VideoEspresso checkpoints, rendered from ``model_cards/*.md`` with huggingface_hub.

``create_model_card(model_or_config, repo_id=...)`` returns a ``huggingface_hub.ModelCard`` (YAML metadata
with ``base_model``, ``datasets``, ``pipeline_tag`` and, when results are given, ``model-index``);
``push_with_card`` is what the models' ``push_to_hub`` runs: save model (+ processor) and the card into one
folder and upload it in one commit.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import EvalResult, HfApi, ModelCard, ModelCardData

__all__ = ["TEMPLATES_DIR", "CardEvalResult", "create_model_card", "push_with_card"]

# The templates live at the repository root (model_cards/); `card_templates` is a link to that folder inside the
# package, so wheels ship them too. VIDEOESPRESSO_MODEL_CARDS overrides.
TEMPLATES_DIR = Path(os.environ.get("VIDEOESPRESSO_MODEL_CARDS", Path(__file__).resolve().parent / "card_templates"))
DATASETS = ("hshjerry0315/VideoEspresso_train_video", "hshjerry0315/VideoEspresso-Test")
PAPER = "arxiv:2411.14794"


@dataclass
class CardEvalResult:
    """One evaluation number for the card (and the ``model-index`` metadata).

    Attributes:
        metric: e.g. ``"accuracy"``; value: the number; dataset: Hub id of the benchmark;
        name: a display name (default: the metric); split: the split evaluated.
    """

    metric: str
    value: float
    dataset: str = "hshjerry0315/VideoEspresso-Test"
    name: str | None = None
    split: str = "test"


def _kind(config) -> str:
    return "frame_selector" if config.model_type == "vex_frame_selector" else "reasoner"


def create_model_card(
    model_or_config,
    repo_id: str = "<user>/<model>",
    *,
    eval_results: Sequence[CardEvalResult] = (),
    datasets: Sequence[str] = DATASETS,
    license: str = "apache-2.0",
    random_weights: bool = False,
    fine_tuned: bool = False,
    tags: Sequence[str] = (),
) -> ModelCard:
    """Render the card of a VideoEspresso selector or reasoner.

    Args:
        model_or_config: the model or its config (the kind is read from ``model_type``).
        repo_id: the Hub repository the card is for (used in the usage snippets and as model name).
        eval_results: numbers to report (table + ``model-index``).
        random_weights: add a warning that the weights are random (tiny test checkpoints).
        fine_tuned: the checkpoint was trained on VideoEspresso (``videoespresso train``); otherwise the card
            says its components are used as released.
    """
    config = getattr(model_or_config, "config", model_or_config)
    kind = _kind(config)
    if kind == "frame_selector":
        base_models = [name for name in (config.captioner_id, config.chooser_id) if name]
        fields = {
            "captioner_id": config.captioner_id or "a captioner VLM",
            "chooser_id": config.chooser_id or "a chooser LM",
            "max_core_frames": config.max_core_frames,
            "score_threshold": config.score_threshold,
        }
    else:
        from videoespresso_hf.models.reasoner.backbones import backbone_for

        backbone = backbone_for(config.model_type)
        base_models = [config.base_model_id] if config.base_model_id else []
        fields = {
            # a local folder or a config-built model has no Hub id: name the family instead
            "base_model": f"`{config.base_model_id}`" if config.base_model_id else f"a {backbone.display_name} model",
            # the paper's own base (§4.2): its tables compare directly
            "paper_backbone": config.base_model_id == backbone_for("llava").default_base_id,
            "architecture": type(config).__name__.replace("Config", ""),
            "evidence_prompt": config.evidence_prompt.replace("\n", "\\n"),
            "answer_prompt": config.answer_prompt.replace("\n", "\\n"),
            "multiple_choice_suffix": config.multiple_choice_suffix.replace("\n", "\\n"),
        }
    eval_rows = [
        {"dataset": result.dataset, "metric": result.name or result.metric, "value": result.value}
        for result in eval_results
    ]
    card_data = ModelCardData(
        license=license,
        library_name="transformers",
        pipeline_tag="video-text-to-text",
        base_model=base_models or None,
        datasets=list(datasets),
        tags=["videoespresso", "video-question-answering", "chain-of-thought", kind.replace("_", "-"), *tags]
        + (["random-weights"] if random_weights else []),
        model_name=repo_id.split("/")[-1],
        eval_results=[
            EvalResult(
                task_type="video-text-to-text",
                dataset_type=result.dataset,
                dataset_name=result.dataset.split("/")[-1],
                dataset_split=result.split,
                metric_type=result.metric,
                metric_value=result.value,
                metric_name=result.name,
            )
            for result in eval_results
        ]
        or None,
    )
    template = TEMPLATES_DIR / f"{kind}.md"
    if not template.is_file():
        raise FileNotFoundError(f"model card template {template} not found (set VIDEOESPRESSO_MODEL_CARDS)")
    return ModelCard.from_template(
        card_data,
        template_path=str(template),
        model_name=repo_id.split("/")[-1],
        repo_id=repo_id,
        datasets=list(datasets),
        random_weights=random_weights,
        fine_tuned=fine_tuned,
        eval_rows=eval_rows,
        paper=PAPER,
        **fields,
    )


def push_with_card(
    model,
    repo_id: str,
    *,
    processor=None,
    eval_results: Sequence[CardEvalResult] = (),
    random_weights: bool = False,
    fine_tuned: bool = False,
    commit_message: str | None = None,
    private: bool | None = None,
    token: str | None = None,
    revision: str | None = None,
    create_pr: bool = False,
    max_shard_size: str | int = "5GB",
    tags: Sequence[str] = (),
    commit_description: str | None = None,
    safe_serialization: bool = True,
    use_temp_dir: bool | None = None,
    api: HfApi | None = None,
):
    """Upload model (safetensors), processor and the rendered card as one commit; returns the commit info.

    ``processor`` is required: the card's usage snippet loads it with ``AutoProcessor``, so a repository
    without it could not be used as its own card says. ``safe_serialization`` and ``use_temp_dir`` are
    accepted for callers of the transformers 4.x signature: weights are always safetensors
    (``safe_serialization=False`` is refused) and always staged in a temporary folder.
    """
    if processor is None:
        raise ValueError(
            "push_to_hub needs processor=...: the model card's snippet loads it with AutoProcessor.from_pretrained"
        )
    if not safe_serialization:
        raise ValueError("VideoEspresso checkpoints are uploaded as safetensors only (safe_serialization=True)")
    del use_temp_dir  # always a temporary folder
    api = api or HfApi(token=token)
    repo_id = api.create_repo(repo_id, private=private, exist_ok=True).repo_id
    with tempfile.TemporaryDirectory() as folder:
        model.save_pretrained(folder, max_shard_size=max_shard_size)
        processor.save_pretrained(folder)
        create_model_card(
            model,
            repo_id,
            eval_results=eval_results,
            random_weights=random_weights,
            fine_tuned=fine_tuned,
            tags=tags,
        ).save(Path(folder) / "README.md")
        return api.upload_folder(
            repo_id=repo_id,
            folder_path=folder,
            commit_message=commit_message or f"Upload {type(model).__name__}",
            commit_description=commit_description,
            revision=revision,
            create_pr=create_pr,
        )

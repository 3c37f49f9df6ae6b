"""Model cards of trained adapters, merged reasoners and selectors: what was trained on what, how.

The card lists the base model, the data config and its row counts (trained / skipped by reason),
every hyper-parameter, a loss-curve summary and the library versions, so a checkpoint on the Hub
says how to reproduce it. Both recipes record a finished run here (:func:`write_training_record`) and
upload it from here (:func:`push_folder`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from huggingface_hub import ModelCard, ModelCardData

from videoespresso_hf.files import write_text_atomic
from videoespresso_hf.training.results import NOT_SCORED, last_scored, scored
from videoespresso_hf.versions import package_versions

__all__ = [
    "SUMMARY_FILE",
    "library_versions",
    "logged_losses",
    "loss_summary",
    "push_folder",
    "rl_card_facts",
    "write_training_card",
    "write_training_record",
]

SUMMARY_FILE = "training_summary.json"

TEMPLATE = Path(__file__).resolve().parent / "templates" / "training_card.md.jinja"


def library_versions() -> dict[str, str]:
    """The card's "Library versions" list: the package's one version table (``videoespresso_hf.versions``)."""
    return {name: version or "not installed" for name, version in package_versions().items()}


def loss_summary(losses: list[float]) -> dict[str, Any]:
    """First / last / min logged loss and the mean of each tenth of the run (a text "curve")."""
    if not losses:
        return {"logged_points": 0}
    tenth = max(1, len(losses) // 10)
    curve = [round(sum(losses[i : i + tenth]) / len(losses[i : i + tenth]), 4) for i in range(0, len(losses), tenth)]
    return {
        "logged_points": len(losses),
        "first": round(losses[0], 4),
        "last": round(losses[-1], 4),
        "min": round(min(losses), 4),
        "curve": curve,
    }


# How the card words what RL continued, by ``summary["sft_parent_kind"]`` (see grpo._sft_parent).
_PARENT_WORDING = {
    "adapter": "`{parent}` (its LoRA adapter continued as the RL adapter)",
    "merged": "`{parent}` (a merged SFT reasoner; {trained})",
}
# How the rollouts were generated, by ``summary["rollouts"]`` (from the GRPOConfig the run used).
_ROLLOUT_WORDING = {
    "generate": "`model.generate` (trl's default; its vLLM path has open multi-image bugs)",
    "vllm": "vLLM (trl's `use_vllm`)",
    "continuous_batching": "transformers continuous batching (trl's `use_transformers_continuous_batching`)",
}
# How the frames reached the model, by ``summary["frame_presentation"]``.
_FRAME_WORDING = {
    "images": "`images`: each core frame a separate image, its time written before it",
    "video": "`video`: the core frames as one native video clip, their times in its metadata",
}


def rl_card_facts(summary: dict[str, Any]) -> dict[str, str] | None:
    """The "Reinforcement learning" list of an RL run's card (``None`` for SFT): what it started from (base model,
    SFT parent and what was trained on it), the rewards with their weights, G, beta, learning rate, how the frames
    were shown, the reasoning mode the checkpoint answers in, how rollouts were generated, and each reward's first
    and last scored mean. Read from the run's ``training_summary.json`` fields."""
    if summary.get("stage") != "rl":
        return None
    weights = summary.get("reward_weights") or {}
    means = {name: scored(values) for name, values in (summary.get("rewards") or {}).items()}
    parent, kind = summary.get("sft_parent"), summary.get("sft_parent_kind")
    full = bool(summary.get("full_finetune"))
    trained = "every weight fine-tuned" if full else "a new LoRA adapter trained on it"
    if parent:
        origin = _PARENT_WORDING.get(kind, "`{parent}`").format(parent=parent, trained=trained)
    else:
        origin = f"none (RL from the base model: {'every weight fine-tuned' if full else 'a new LoRA adapter'})"
    rollouts = summary.get("rollouts") or "generate"
    presentation = summary.get("frame_presentation")
    return {
        "Base VLM (under the SFT parent, if any)": f"`{summary.get('base_model')}`",
        "SFT parent": origin,
        "Rewards (weight)": ", ".join(f"{name} {weight:g}" for name, weight in weights.items()),
        "Completions per prompt (G, num_generations)": str(summary.get("num_generations")),
        "KL coefficient (beta)": f"{summary.get('beta'):g}",
        "Learning rate": f"{summary.get('learning_rate'):g}",
        "Max completion tokens / temperature": f"{summary.get('max_completion_length')} / {summary.get('temperature')}",
        "Weights trained": "every weight (full fine-tuning)" if full else "LoRA on the language model",
        "Frames": _FRAME_WORDING.get(presentation, f"`{presentation}`"),
        "Reasoning mode": f"`{summary.get('reasoning_mode')}`: one pass, grounded evidence in `<think>` (objects, boxes, "
                          "`<t>` times) then `<answer>`; `answer` / `predict` run it that way",
        "Rollouts": _ROLLOUT_WORDING.get(rollouts, f"`{rollouts}`"),
        "Reward means, first → last scored step": "; ".join(
            f"{name} {values[0]:.3f} → {last_scored(values):.3f}" if values else f"{name} {NOT_SCORED} on any step"
            for name, values in means.items()
        ) or "none logged",
    }  # fmt: skip


def write_training_card(
    folder: Path, *, kind: str, base_model: str, summary: dict[str, Any], merged: bool = False
) -> Path:
    """Render ``folder/README.md`` for a trained ``kind`` (``"reasoner"`` or ``"selector"``); an RL run's card adds
    :func:`rl_card_facts` (a full fine-tune is a whole checkpoint, as a merged one)."""
    arguments = summary["arguments"]
    merged = merged or bool(summary.get("full_finetune"))
    card_data = ModelCardData(
        license="apache-2.0",
        library_name="transformers" if merged or kind == "selector" else "peft",
        base_model=base_model if "/" in base_model and not Path(base_model).exists() else None,
        pipeline_tag="video-text-to-text",
        tags=["videoespresso", "video-question-answering", kind, *([] if merged or kind == "selector" else ["lora"])],
    )
    card = ModelCard.from_template(
        card_data,
        template_path=str(TEMPLATE),
        kind=kind,
        merged=merged,
        base_model=base_model,
        data=arguments["data"],
        data_config=arguments["config"],
        split=arguments["split"],
        summary=summary,
        hyperparameters={k: v for k, v in sorted(arguments.items()) if k not in ("data", "output_dir")},
        loss=loss_summary(summary.get("losses") or []),
        versions=library_versions(),
        rl=rl_card_facts(summary),
    )
    path = Path(folder) / "README.md"
    write_text_atomic(path, str(card))
    return path


def logged_losses(log_history: list[dict[str, Any]]) -> list[float]:
    """The training losses of a trainer's ``state.log_history``, in logging order."""
    return [entry["loss"] for entry in log_history if "loss" in entry]


def write_training_record(folder: Path, *, kind: str, base_model: str, summary: dict[str, Any]) -> None:
    """The card and ``training_summary.json`` of a finished run in ``folder``.

    The summary is written last and atomically: its presence is what marks a reasoner stage finished (a
    resumed run skips it), so a killed run never leaves one that is half written.
    """
    write_training_card(folder, kind=kind, base_model=base_model, summary=summary)
    write_text_atomic(Path(folder) / SUMMARY_FILE, json.dumps(summary, indent=2, default=str))


def push_folder(folder: Path, repo_id: str, commit_message: str) -> str:
    """Create (if needed) and upload ``folder`` — adapter, merged model or selector with its card — to ``repo_id``."""
    from huggingface_hub import HfApi

    api = HfApi()
    api.create_repo(repo_id, exist_ok=True)
    info = api.upload_folder(
        repo_id=repo_id, folder_path=str(folder), ignore_patterns=["checkpoint-*", "checkpoint-*/**"],
        commit_message=commit_message,
    )  # fmt: skip
    return str(getattr(info, "commit_url", info))

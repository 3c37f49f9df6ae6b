"""Model cards from model_cards/ templates, and what push_to_hub uploads (the Hub API is recorded, not reached)."""

from __future__ import annotations

from pathlib import Path

import pytest
from doubles.tiny_models import build_tiny_reasoner, build_tiny_selector
from huggingface_hub import HfApi, ModelCard
from huggingface_hub.errors import OfflineModeIsEnabled

from videoespresso_hf.models.cards import CardEvalResult, create_model_card


class RecordingApi(HfApi):
    """Stands in for the Hub (unreachable here): records the repo and the files of the one upload."""

    def __init__(self):
        super().__init__(token="hf_test")
        self.uploads: list[tuple[str, dict[str, bytes], str]] = []

    def create_repo(self, repo_id, **kwargs):
        self.created = (repo_id, kwargs)
        return type("RepoUrl", (), {"repo_id": repo_id})()

    def upload_folder(self, *, repo_id, folder_path, commit_message=None, **kwargs):
        files = {
            str(p.relative_to(folder_path)): p.read_bytes()
            for p in Path(folder_path).rglob("*")
            if p.is_file()
        }
        self.uploads.append((repo_id, files, commit_message))
        return "commit"


def test_reasoner_card_metadata_and_results(tmp_path):
    model, _ = build_tiny_reasoner("qwen2_5_vl")
    model.config.base_model_id = "Qwen/Qwen2.5-VL-7B-Instruct"
    card = create_model_card(
        model, "me/vex-reasoner", eval_results=[CardEvalResult("accuracy", 34.1, name="Objective accuracy")]
    )
    card.save(tmp_path / "README.md")
    loaded = ModelCard.load(tmp_path / "README.md")
    assert loaded.data.base_model == ["Qwen/Qwen2.5-VL-7B-Instruct"]
    assert "hshjerry0315/VideoEspresso-Test" in loaded.data.datasets
    assert loaded.data.library_name == "transformers" and loaded.data.pipeline_tag == "video-text-to-text"
    assert loaded.data.eval_results[0].metric_value == 34.1
    assert "| hshjerry0315/VideoEspresso-Test | Objective accuracy | 34.1 |" in loaded.text
    assert "## Intended use" in loaded.text and "## Limitations" in loaded.text
    assert "Please provide evidence to help answer the question." in loaded.text
    assert "Random weights" not in loaded.text


def test_selector_card_names_both_components():
    model, _ = build_tiny_selector()
    model.config.captioner_id, model.config.chooser_id = (
        "OpenGVLab/InternVL3-1B-hf",
        "Qwen/Qwen2.5-0.5B-Instruct",
    )
    card = create_model_card(model, "me/vex-selector", random_weights=True)
    assert card.data.base_model == ["OpenGVLab/InternVL3-1B-hf", "Qwen/Qwen2.5-0.5B-Instruct"]
    assert "random-weights" in card.data.tags and "Random weights" in card.text
    assert "Evaluation results" not in card.text
    assert 'AutoModel.from_pretrained("me/vex-selector")' in card.text


@pytest.mark.parametrize("kind", ["reasoner", "selector"])
def test_push_to_hub_uploads_weights_code_processor_and_card(kind):
    model, processor = build_tiny_reasoner("qwen3_vl") if kind == "reasoner" else build_tiny_selector()
    api = RecordingApi()
    model.push_to_hub(
        "me/tiny",
        processor=processor,
        eval_results=[CardEvalResult("accuracy", 0.5)],
        random_weights=True,
        api=api,
    )
    ((repo_id, files, message),) = api.uploads
    assert repo_id == "me/tiny" and message.startswith("Upload ")
    names = set(files)
    assert {"README.md", "config.json", "model.safetensors"} <= names
    assert not any(name.endswith((".bin", ".pt", ".pth")) for name in names)
    if kind == "reasoner":
        assert {"configuration_reasoner.py", "modeling_reasoner.py", "processing_reasoner.py"} <= names
        assert {"processor_config.json", "tokenizer.json", "chat_template.jinja"} <= names
    else:
        assert {
            "configuration_frame_selector.py",
            "modeling_frame_selector.py",
            "processing_frame_selector.py",
        } <= names
        assert {"processor_config.json", "captioner/processor_config.json", "chooser/tokenizer.json"} <= names
    readme = files["README.md"].decode()
    assert "model-index" in readme and "random-weights" in readme and "# tiny" in readme


def test_push_to_hub_offline_fails_fast_with_the_real_client():
    model, _ = build_tiny_reasoner("qwen2_5_vl")
    with pytest.raises(OfflineModeIsEnabled):
        model.push_to_hub("me/tiny")  # HF_HUB_OFFLINE=1 in the test session


def test_tiny_checkpoints_are_labelled_random(reasoner_path, selector_path):
    for path in (reasoner_path, selector_path):
        card = ModelCard.load(path / "README.md")
        assert "random-weights" in card.data.tags and "Random weights" in card.text

"""Model cards from model_cards/ templates, and what push_to_hub uploads (the Hub API is recorded, not reached)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from doubles.recording_hub import RecordingApi
from doubles.tiny_models import build_tiny_reasoner, build_tiny_selector
from huggingface_hub import ModelCard
from huggingface_hub.errors import OfflineModeIsEnabled

from videoespresso_hf.models.cards import CardEvalResult, create_model_card


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
    model, processor = build_tiny_reasoner("qwen2_5_vl")
    with pytest.raises(OfflineModeIsEnabled):
        model.push_to_hub("me/tiny", processor=processor)  # HF_HUB_OFFLINE=1 in the test session


def test_push_to_hub_takes_the_4x_arguments_and_uploads_a_repo_its_card_can_load(tmp_path):
    model, processor = build_tiny_selector(seed=5)
    api = RecordingApi()
    model.push_to_hub("me/tiny-selector", processor=processor, safe_serialization=True, use_temp_dir=True, api=api)
    ((_, files, _),) = api.uploads
    for name, content in files.items():  # the uploaded repository, as a folder
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(content)
    from transformers import AutoModel, AutoProcessor

    assert 'AutoProcessor.from_pretrained("me/tiny-selector")' in files["README.md"].decode()
    assert type(AutoModel.from_pretrained(tmp_path)) is type(model)
    assert type(AutoProcessor.from_pretrained(tmp_path)) is type(processor)


def test_push_to_hub_refuses_what_it_cannot_upload_faithfully():
    model, _ = build_tiny_reasoner("qwen2_5_vl")
    api = RecordingApi()
    with pytest.raises(ValueError, match="needs processor="):
        model.push_to_hub("me/tiny", api=api)  # the card's snippet loads a processor
    with pytest.raises(ValueError, match="safetensors only"):
        model.push_to_hub("me/tiny", processor=object(), safe_serialization=False, api=api)
    assert api.uploads == []


def _python_block(text: str, heading: str) -> str:
    section = text.split(heading, 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_selector_card_training_snippet_runs_and_says_what_the_data_has():
    model, processor = build_tiny_selector(seed=6)  # set_answer_tokens never called
    card = create_model_card(model, "me/vex-selector")
    # The snippet continues the card's usage example: what that example leaves behind is given here.
    candidates = np.array([0, 8])
    namespace = {
        "selector": model,
        "processor": processor,
        "candidates": candidates,
        "frames": np.random.default_rng(0).integers(0, 255, (2, 48, 64, 3), dtype=np.uint8),
        "timestamps": [0.0, 1.0],
        "selection": SimpleNamespace(indices=[8]),
    }
    exec(_python_block(card.text, "## Training"), namespace)
    assert namespace["core_frame_labels"] == [0.0, 1.0] and len(namespace["captions"]) == 2
    assert namespace["loss"].ndim == 0 and namespace["loss"].item() > 0
    assert "3–4 key-frame captions per question" in card.text and "per-frame captions" not in card.text
    assert "not fine-tuned for frame selection" in card.text and "its own training" not in card.text
    trained = create_model_card(model, "me/vex-selector", fine_tuned=True)
    assert "fine-tuned on VideoEspresso" in trained.text and "not fine-tuned" not in trained.text


def test_tiny_checkpoints_are_labelled_random(reasoner_path, selector_path):
    for path in (reasoner_path, selector_path):
        card = ModelCard.load(path / "README.md")
        assert "random-weights" in card.data.tags and "Random weights" in card.text


@pytest.mark.parametrize(
    ("family", "named"), [("qwen2_5_vl", "a Qwen2.5-VL model"), ("llava", "a LLaVA-NeXT-Interleave model")]
)
def test_reasoner_card_without_a_hub_base_names_its_family(family, named):
    model, _ = build_tiny_reasoner(family)  # base_model_id None: built from a config, as from a local folder
    text = create_model_card(model, "me/vex-reasoner").text
    assert f"built on\n{named} (" in text and "Qwen VLM" not in text
    assert f"this checkpoint uses {named}, so numbers are not" in text


def test_reasoner_card_on_the_papers_base_omits_the_comparability_caveat():
    model, _ = build_tiny_reasoner("llava")
    model.config.base_model_id = "llava-hf/llava-interleave-qwen-7b-hf"
    text = create_model_card(model, "me/vex-reasoner").text
    assert "built on\n`llava-hf/llava-interleave-qwen-7b-hf` (VexLlavaReasoner)" in text
    assert "not\n  directly comparable" not in text and "## Limitations" in text

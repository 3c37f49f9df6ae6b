"""Loading checkpoints: dtype, generation settings, base_model ids, refused families, Hub arguments (issue #10)."""

from __future__ import annotations

import shutil

import pytest
import torch
from doubles.tiny_models import build_tiny_captioner, build_tiny_selector, tiny_chooser
from huggingface_hub import ModelCard
from transformers import AutoModel, Qwen2VLConfig

from videoespresso_hf.models.cards import create_model_card
from videoespresso_hf.models.frame_selector.modeling_frame_selector import VexFrameSelectorModel
from videoespresso_hf.models.hybrid import HybridVideoQA
from videoespresso_hf.models.reasoner.backbones import BACKBONES, backbone_for
from videoespresso_hf.models.reasoner.modeling_reasoner import VexQwen2_5_VLReasonerForConditionalGeneration


@pytest.fixture(scope="module")
def components(tmp_path_factory):
    """A tiny captioner and chooser saved as their own checkpoints, with non-default generation settings."""
    root = tmp_path_factory.mktemp("components")
    captioner, captioner_processor = build_tiny_captioner("qwen2_5_vl", seed=8)
    captioner.generation_config.repetition_penalty = 1.3
    captioner.generation_config.eos_token_id = [captioner.config.text_config.eos_token_id, 3]
    captioner.save_pretrained(root / "captioner")
    captioner_processor.save_pretrained(root / "captioner")
    chooser, tokenizer = tiny_chooser(seed=9)
    chooser.generation_config.eos_token_id = [tokenizer.eos_token_id, 4]
    chooser.save_pretrained(root / "chooser")
    tokenizer.save_pretrained(root / "chooser")
    return root


def test_from_components_loads_in_the_requested_dtype(components):
    selector = VexFrameSelectorModel.from_components(
        str(components / "captioner"), str(components / "chooser"), dtype=torch.bfloat16, max_core_frames=2
    )
    assert {p.dtype for p in selector.captioner.parameters()} == {torch.bfloat16}
    assert {p.dtype for p in selector.chooser.parameters()} == {torch.bfloat16}
    assert selector.config.max_core_frames == 2


def test_generation_settings_of_the_components_survive_save_and_reload(components, tmp_path):
    selector = VexFrameSelectorModel.from_components(str(components / "captioner"), str(components / "chooser"))
    assert selector.captioner.generation_config.repetition_penalty == 1.3
    selector.chooser.generation_config.repetition_penalty = 1.1  # changed after assembly: saved too
    selector.save_pretrained(tmp_path)
    reloaded = AutoModel.from_pretrained(tmp_path)
    assert reloaded.captioner.generation_config.repetition_penalty == 1.3
    assert list(reloaded.captioner.generation_config.eos_token_id)[-1] == 3
    assert list(reloaded.chooser.generation_config.eos_token_id)[-1] == 4
    assert reloaded.chooser.generation_config.repetition_penalty == 1.1


def test_tiny_selector_without_settings_keeps_the_defaults(tmp_path):
    selector, _ = build_tiny_selector(seed=1)
    selector.save_pretrained(tmp_path)
    reloaded = AutoModel.from_pretrained(tmp_path)
    assert reloaded.captioner.generation_config.to_diff_dict() == selector.captioner.generation_config.to_diff_dict()


@pytest.fixture(scope="module")
def base_checkpoint(tmp_path_factory):
    """A stock Qwen2.5-VL checkpoint laid out as the Hub cache stores Qwen/Qwen2.5-VL-3B-Instruct."""
    root = tmp_path_factory.mktemp("hub")
    snapshot = root / "models--Qwen--Qwen2.5-VL-3B-Instruct" / "snapshots" / "0123abcd"
    base, processor = build_tiny_captioner("qwen2_5_vl", seed=3)
    base.save_pretrained(snapshot)
    processor.save_pretrained(snapshot)
    return snapshot


def test_base_model_id_is_the_loaded_base_not_the_default_or_a_path(base_checkpoint, tmp_path):
    reasoner = VexQwen2_5_VLReasonerForConditionalGeneration.from_pretrained(base_checkpoint)
    assert reasoner.config.model_type == "vex_reasoner_qwen2_5_vl"
    assert reasoner.config.base_model_id == "Qwen/Qwen2.5-VL-3B-Instruct"  # not the 7B class default

    plain = tmp_path / "my-base"
    shutil.copytree(base_checkpoint, plain)
    from_folder = HybridVideoQA.from_pretrained(plain, strategy="uniform").reasoner
    assert from_folder.config.base_model_id is None
    create_model_card(from_folder, "me/model").save(tmp_path / "README.md")
    card = ModelCard.load(tmp_path / "README.md")
    assert card.data.base_model is None and str(plain) not in card.content

    from_folder.save_pretrained(tmp_path / "vex")  # a saved reasoner keeps its recorded base
    reloaded = VexQwen2_5_VLReasonerForConditionalGeneration.from_pretrained(tmp_path / "vex")
    assert reloaded.config.base_model_id is None


def test_unsupported_family_is_refused_from_its_config(tmp_path):
    Qwen2VLConfig().save_pretrained(tmp_path)  # config.json only: refusing must not need the weights
    with pytest.raises(ValueError, match=r"'qwen2_vl' model.*supported families: Qwen2\.5-VL \(qwen2_5_vl\)"):
        HybridVideoQA.from_pretrained(tmp_path, strategy="uniform")


def test_hub_arguments_reach_every_load(tmp_path, reasoner_path, selector_path, video):
    """revision/cache_dir/token/local_files_only go to both models and both processors (a Hub cache layout)."""
    cache = tmp_path / "cache"
    for repo, source in (("local--reasoner", reasoner_path), ("local--selector", selector_path)):
        shutil.copytree(source, cache / f"models--{repo}" / "snapshots" / "feed")
        (cache / f"models--{repo}" / "refs").mkdir()
        (cache / f"models--{repo}" / "refs" / "v1").write_text("feed")  # only revision v1 exists
    # What an online download records about files the selector repository does not have: its captioner/ and
    # chooser/ folders hold a processor and a tokenizer, no model config.
    for folder in ("captioner", "chooser"):
        no_exist = cache / "models--local--selector" / ".no_exist" / "feed" / folder
        no_exist.mkdir(parents=True)
        (no_exist / "config.json").touch()
    qa = HybridVideoQA.from_pretrained(
        "local/reasoner", "local/selector", revision="v1", cache_dir=cache, token=False, local_files_only=True
    )
    assert qa.selector_processor.chooser_tokenizer is not None and qa.reasoner_processor.tokenizer is not None
    assert 1 <= len(qa.select(video[0], "Why?").indices) <= 2
    with pytest.raises(OSError):  # without the revision, main is looked for, and it is not in the cache
        HybridVideoQA.from_pretrained("local/reasoner", cache_dir=cache, local_files_only=True, strategy="uniform")


def test_one_backbone_table():
    from videoespresso_hf.cli.answer import DEFAULT_REASONER

    assert BACKBONES[0].default_base_id == DEFAULT_REASONER
    for row in BACKBONES:
        config_class, model_class, processor_class = row.classes()
        assert processor_class.__name__ == row.processor_class
        assert config_class.model_type == row.model_type and model_class.config_class is config_class
        assert config_class().base_model_id == row.default_base_id
        assert backbone_for(row.family) is backbone_for(row.model_type) is row
    from doubles.tiny_models import TINY_REASONER_PARTS

    assert set(TINY_REASONER_PARTS) == {row.family for row in BACKBONES}

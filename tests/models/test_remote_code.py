"""Checkpoints load with trust_remote_code=True in a process that never imports videoespresso_hf."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
from transformers import AutoModel, AutoModelForImageTextToText, AutoProcessor

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np, torch
    torch.set_num_threads(1)
    from transformers import AutoConfig, AutoModel, AutoModelForImageTextToText, AutoProcessor

    reasoners, selector = sys.argv[1].split(","), sys.argv[2]
    result = {}
    try:
        AutoConfig.from_pretrained(reasoners[0])
        result["refused"] = False
    except Exception as error:
        result["refused"] = "trust_remote_code" in str(error)
    clips = [np.load(sys.argv[3])]
    for path in reasoners:
        model = AutoModelForImageTextToText.from_pretrained(path, trust_remote_code=True)
        processor = AutoProcessor.from_pretrained(path, trust_remote_code=True)
        output = model.answer(processor, clips[0], "What happens?", ["run", "walk"])
        result[path] = [type(model).__module__, type(processor).__module__, output.evidence, output.answer]
    model = AutoModel.from_pretrained(selector, trust_remote_code=True)
    processor = AutoProcessor.from_pretrained(selector, trust_remote_code=True)
    selection = model.select(processor, clips[0], "What happens?")
    result[selector] = [type(model).__module__, type(processor).__module__, selection.indices, selection.candidate_scores]
    result["imported"] = sorted(name for name in sys.modules if name.startswith("videoespresso_hf"))
    print("RESULT" + json.dumps(result))
    """
)


def test_remote_code_route_without_the_package(tmp_path, reasoner_path, reasoner3_path, selector_path):
    frames = np.random.default_rng(7).integers(0, 256, (4, 64, 64, 3), dtype=np.uint8)
    np.save(tmp_path / "frames.npy", frames)
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env.update(HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1", HF_MODULES_CACHE=str(tmp_path / "modules"))
    reasoners = [str(reasoner_path), str(reasoner3_path)]
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT, ",".join(reasoners), str(selector_path), str(tmp_path / "frames.npy")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    result = json.loads(completed.stdout.split("RESULT", 1)[1])
    assert result["imported"] == []
    assert result["refused"] is True  # without trust_remote_code the unknown model type is refused

    for path in reasoners:
        module, processor_module, evidence, answer = result[path]
        assert module.startswith("transformers_modules.") and processor_module.startswith(
            "transformers_modules."
        )
        model = AutoModelForImageTextToText.from_pretrained(path)
        expected = model.answer(AutoProcessor.from_pretrained(path), frames, "What happens?", ["run", "walk"])
        assert [evidence, answer] == [expected.evidence, expected.answer]

    module, processor_module, indices, scores = result[str(selector_path)]
    assert module.startswith("transformers_modules.") and processor_module.startswith("transformers_modules.")
    selector = AutoModel.from_pretrained(selector_path)
    expected = selector.select(AutoProcessor.from_pretrained(selector_path), frames, "What happens?")
    assert indices == expected.indices
    assert np.allclose(scores, expected.candidate_scores, atol=1e-6)


def test_import_registers_lazily_without_torch(tmp_path, reasoner_path):
    code = textwrap.dedent(
        f"""
        import sys
        import videoespresso_hf
        assert "torch" not in sys.modules, "import videoespresso_hf must not import torch"
        from transformers import AutoConfig, AutoModelForImageTextToText
        config = AutoConfig.from_pretrained({str(reasoner_path)!r})
        model = AutoModelForImageTextToText.from_pretrained({str(reasoner_path)!r})
        print(type(config).__module__, type(model).__name__)
        """
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert completed.stdout.split() == [
        "videoespresso_hf.models.reasoner.configuration_reasoner",
        "VexQwen2_5_VLReasonerForConditionalGeneration",
    ]


def test_registration_survives_a_model_class_imported_before_the_auto_classes(tmp_path, selector_path):
    """Importing a model class first makes transformers import its Auto modules mid-way through modeling_utils."""
    code = textwrap.dedent(
        f"""
        import videoespresso_hf
        from videoespresso_hf.models.reasoner.modeling_reasoner import TwoStageReasoningMixin
        from transformers import AutoModel, AutoProcessor
        config = AutoModel.from_pretrained({str(selector_path)!r}).config
        print(type(AutoModel.from_config(config)).__name__, type(AutoProcessor.from_pretrained({str(selector_path)!r})).__name__)
        """
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "could not hook" not in completed.stderr
    assert completed.stdout.split() == ["VexFrameSelectorModel", "VexFrameSelectorProcessor"]

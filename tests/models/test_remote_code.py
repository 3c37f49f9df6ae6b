"""Checkpoints load with trust_remote_code=True in a process that never imports videoespresso_hf."""

from __future__ import annotations

import inspect
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
        base = AutoModel.from_pretrained(path, trust_remote_code=True)  # auto_map lists AutoModel too
        result[path] = [type(model).__module__, type(processor).__module__, output.evidence, output.answer, type(base).__name__ == type(model).__name__]
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
        module, processor_module, evidence, answer, automodel_loads = result[path]
        assert automodel_loads
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


def test_which_import_registers(tmp_path, reasoner_path, selector_path):
    """`import videoespresso_hf` stays torch-free; importing the models package (any submodule) registers."""
    code = textwrap.dedent(
        f"""
        import sys
        import videoespresso_hf
        assert "torch" not in sys.modules, "import videoespresso_hf must not import torch"
        from transformers import AutoConfig, AutoModel, AutoModelForImageTextToText
        try:
            AutoConfig.from_pretrained({str(reasoner_path)!r})
            print("@ resolved-before")
        except Exception as error:  # the model type is unknown; the message asks for trust_remote_code
            print("@ unknown-before" if "trust_remote_code" in str(error) else f"@ {{error!r}}")
        from videoespresso_hf.models.reasoner.modeling_reasoner import TwoStageReasoningMixin  # a submodule first
        config = AutoConfig.from_pretrained({str(reasoner_path)!r})
        model = AutoModelForImageTextToText.from_pretrained({str(reasoner_path)!r})
        print("@", type(config).__module__, type(model).__name__, type(AutoModel.from_pretrained({str(selector_path)!r})).__name__)
        # documented register calls only: transformers' own entry points and import machinery are untouched
        print("@", AutoConfig.from_pretrained.__func__.__module__, any("videoespresso" in type(f).__module__ for f in sys.meta_path))
        """
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    # transformers' trust_remote_code prompt may precede a marker on its line
    lines = [line.split("@ ", 1)[1] for line in completed.stdout.splitlines() if "@ " in line]
    assert " ".join(lines).split() == [
        "unknown-before",
        "videoespresso_hf.models.reasoner.configuration_reasoner",
        "VexQwen2_5_VLReasonerForConditionalGeneration",
        "VexFrameSelectorModel",
        "transformers.models.auto.configuration_auto",
        "False",
    ]


def test_remote_code_copies_stay_identical():
    """Each modeling file ships alone next to its weights, so push_to_hub is written in both: keep them one."""
    from videoespresso_hf.models.frame_selector.modeling_frame_selector import VexFrameSelectorModel
    from videoespresso_hf.models.reasoner.modeling_reasoner import TwoStageReasoningMixin

    assert inspect.getsource(VexFrameSelectorModel.push_to_hub) == inspect.getsource(TwoStageReasoningMixin.push_to_hub)


def test_the_remote_code_configs_repeat_the_default_model_ids_exactly():
    """The configuration files ship alone as remote code and so cannot import videoespresso_hf.defaults: their copies
    of the default ids must stay equal to the one table."""
    from videoespresso_hf import defaults
    from videoespresso_hf.models.frame_selector import configuration_frame_selector as selector
    from videoespresso_hf.models.reasoner import configuration_reasoner as reasoner

    assert reasoner.DEFAULT_QWEN2_5_VL_REASONER == defaults.REASONER_MODEL
    assert reasoner.DEFAULT_QWEN3_VL_REASONER == defaults.QWEN3_VL_REASONER
    assert reasoner.DEFAULT_LLAVA_REASONER == defaults.LLAVA_REASONER
    assert (selector.DEFAULT_CAPTIONER, selector.DEFAULT_CHOOSER) == (defaults.SELECTOR_CAPTIONER, defaults.SELECTOR_CHOOSER)

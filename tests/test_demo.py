"""The main job: `videoespresso demo` runs every job offline without a failed step."""

import re
import subprocess
import sys

from videoespresso_hf.demo.tiny_checkpoints import RANDOM_WEIGHTS_NOTICE, save_tiny_qwen2_5_vl


def test_demo_runs_end_to_end(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "videoespresso_hf", "demo", "--out", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    summary = completed.stdout.split("Summary", 1)[1]
    assert "failed" not in summary
    for step in ("score", "data", "see", "video", "compute", "select", "answer", "predict", "train", "rl"):
        assert f"ok      {step}" in summary, summary
    # The "see" step prints the static pages to open, and they are there.
    assert (tmp_path / "demo" / "site" / "index.html").is_file() and (tmp_path / "demo" / "report.html").is_file()
    assert (tmp_path / "demo" / "site" / "index.html").as_uri() in completed.stdout
    # Only the build needs what the demo cannot have (an LLM endpoint), and its summary line is whole:
    # no command cut in the middle (balanced backticks, a full sentence).
    needs = [line for line in summary.splitlines() if line.strip().startswith("needs")]
    assert [line.split()[1] for line in needs] == ["build"], summary
    assert all(line.count("`") % 2 == 0 and line.rstrip().endswith(".)") for line in needs), needs
    assert "OPENAI_API_KEY" in completed.stdout
    assert "Overall" in completed.stdout and "Situation Analysis" in completed.stdout


def test_demo_runs_every_job_on_tiny_random_models_and_says_so(tmp_path):
    """select, answer, predict -> score and a 2-step train -> answer, each labelled as random weights."""
    import json

    out = tmp_path / "demo"
    completed = subprocess.run(
        [sys.executable, "-m", "videoespresso_hf", "demo", "--out", str(out), "--only", "answer", "predict", "train", "rl"],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    from videoespresso_hf.cli.demo_steps import STEPS

    text = completed.stdout
    titles = {name: title for name, title, _ in STEPS}
    for step in ("answer", "predict", "train", "rl"):
        section = text.split(f"] {titles[step]}\n", 1)[1].split("\n" + "=" * 100, 1)[0]
        assert "RANDOM WEIGHTS" in section, f"step {step} does not say its model has random weights"
    # answer: the two stages ran and printed what they wrote.
    assert re.search(r"^evidence: ", text, re.M) and re.search(r"^letter: ", text, re.M)
    # predict -> score: every synthetic bench item has a model output, and the score table covers them.
    records = [json.loads(line) for line in (out / "preds.jsonl").read_text().splitlines()]
    assert len(records) == 3 and all(r["model_output"] in {"A", "B", "C", "D"} for r in records), records
    assert "$ videoespresso score" in text and "n=3" in text
    # train: two optimizer steps per stage, an adapter per stage, then answered with the stage-2 adapter.
    for stage in ("stage1", "stage2"):
        assert (out / "runs" / "reasoner" / stage / "adapter_config.json").is_file()
    assert re.search(r"\$ videoespresso answer .*--reasoner \S*runs/reasoner/stage2", text)
    # rl: one GRPO step from the stage-2 adapter, each reward in the table, then answered with the RL adapter.
    assert (out / "runs" / "reasoner-rl" / "rl" / "adapter_config.json").is_file()
    assert re.search(r"\$ videoespresso train reasoner --stage rl .*--init-adapter \S*runs/reasoner/stage2", text)
    for name in ("answer", "format", "temporal", "spatial"):
        assert re.search(rf"^reward {name} \(last scored step mean\) +(\d|not scored)", text, re.M), name
    assert re.search(r"\$ videoespresso answer .*--reasoner \S*runs/reasoner-rl/rl", text)
    assert text.count("\nletter: ") == 3


def test_tiny_model_is_a_stock_checkpoint_that_writes_only_its_alphabet(tmp_path):
    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor

    path = save_tiny_qwen2_5_vl(tmp_path / "vlm", alphabet="ABCD")
    assert RANDOM_WEIGHTS_NOTICE in (path / "README.md").read_text()
    model = AutoModelForImageTextToText.from_pretrained(path)
    processor = AutoProcessor.from_pretrained(path)
    assert type(model).__name__ == "Qwen2_5_VLForConditionalGeneration"
    inputs = processor.apply_chat_template(
        [{"role": "user", "content": [{"type": "text", "text": "Which option?"}]}],
        add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt",
    )  # fmt: skip
    with torch.no_grad():
        generated = model.generate(**inputs, max_new_tokens=8, do_sample=False)
    text = processor.batch_decode(generated[:, inputs["input_ids"].shape[1] :], skip_special_tokens=True)[0]
    assert text and set(text) <= set("ABCD"), text


def test_unknown_demo_step_is_a_one_line_error(capsys):
    from videoespresso_hf.cli.main import main

    assert main(["demo", "--only", "video", "nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert "unknown step(s) nope" in err and "compute" in err and len(err.splitlines()) == 1

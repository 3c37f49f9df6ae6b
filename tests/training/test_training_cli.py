"""`videoespresso train` as parse → call → print: flags generated from the settings dataclasses (the one defaults
table), trainer-config fields as flags, range checks before any model loads, and readable run output."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import videoespresso_hf
from videoespresso_hf import defaults
from videoespresso_hf.cli._config_args import parse_with_args_file
from videoespresso_hf.cli.main import build_parser, main
from videoespresso_hf.training import ReasonerTrainingArguments, SelectorTrainingArguments
from videoespresso_hf.training.results import metrics_table, skipped_rows_line
from videoespresso_hf.training.rows import SkipLog, load_rows

SRC = Path(videoespresso_hf.__file__).parent


def _exit_code(argv: list[str]) -> int:
    """``main``'s status, or argparse's when it exits while parsing."""
    try:
        return main(argv)
    except SystemExit as exit_:
        return exit_.code


def _help(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--help"])
    assert exit_info.value.code == 0
    return " ".join(capsys.readouterr().out.split())  # help wraps lines: compare words


def test_help_shows_the_defaults_of_the_one_defaults_table(capsys):
    reasoner = _help(capsys, "train", "reasoner")
    assert f"(default: {defaults.REASONER_MODEL})" in reasoner
    assert "(default: 2e-05)" in reasoner and "(default: 1e-05)" in reasoner and "(default: 6144)" in reasoner
    assert "--lr-stage1" in reasoner and "--optim" in reasoner  # the old spelling, and a trl SFTConfig field
    selector = _help(capsys, "train", "selector")
    assert f"(default: {defaults.SELECTOR_CAPTIONER})" in selector and f"(default: {defaults.SELECTOR_CHOOSER})" in selector
    assert "max_length" not in selector  # TrainingArguments has no SFT fields
    assert f"({defaults.REASONER_MODEL})" in _help(capsys, "answer")


def test_the_stage1_learning_rate_literal_lives_in_one_source_file():
    literal = re.compile(r"(?<![\w.])2e-0?5(?![\w])")
    files = sorted(str(path.relative_to(SRC)) for path in SRC.rglob("*.py") if literal.search(path.read_text(encoding="utf-8")))
    assert files == ["training/arguments.py"]


def test_root_entry_points_take_keywords_or_the_dataclass():
    from videoespresso_hf.training.reasoner import train_reasoner
    from videoespresso_hf.training.selector import train_selector

    assert videoespresso_hf.train_reasoner is train_reasoner and videoespresso_hf.train_selector is train_selector
    assert "keyword arguments" in train_reasoner.__doc__ and "keyword arguments" in train_selector.__doc__
    with pytest.raises(TypeError, match="not both"):
        train_reasoner(ReasonerTrainingArguments(), max_steps=2)
    with pytest.raises(TypeError, match="expected a SelectorTrainingArguments"):
        train_selector(ReasonerTrainingArguments())
    with pytest.raises(ValueError, match=r"max_steps must be at least 1, or -1"):
        train_reasoner(max_steps=0)  # refused before anything starts


def _parse(*argv: str):
    from videoespresso_hf.cli import train

    args = parse_with_args_file(build_parser(), list(argv))
    config_class = ReasonerTrainingArguments if args.train_command == "reasoner" else SelectorTrainingArguments
    return train._arguments(args, config_class, train.TRAINER_CONFIGS[args.train_command]()[0])


def test_old_flag_spellings_field_names_and_trainer_fields_make_one_config(prepared_data, tmp_path):
    arguments = _parse("train", "reasoner", "--data", str(prepared_data), "--output", str(tmp_path / "o"),
                       "--lr-stage1", "3e-4", "--epochs", "2", "--workers", "0", "--bf16", "false", "--stage", "1",
                       "--optim", "adamw_torch", "--max-grad-norm", "0.5", "--activation_checkpointing", "false",
                       "--set", "adam_beta1=0.8", "--set", "optim=sgd")  # fmt: skip
    assert (arguments.learning_rate_stage1, arguments.num_train_epochs, arguments.dataloader_num_workers) == (3e-4, 2.0, 0)
    assert arguments.bf16 is False and arguments.output_dir == str(tmp_path / "o") and arguments.stage == "1"
    # typed trainer settings; a flag wins over the deprecated --set
    assert arguments.trainer_overrides == {"adam_beta1": 0.8, "optim": "adamw_torch", "max_grad_norm": 0.5,
                                           "activation_checkpointing": False}  # fmt: skip
    selector = _parse("train", "selector", "--data", str(prepared_data), "--output", str(tmp_path / "s"),
                      "--lr", "0.003", "--captioner", "a/b", "--no-balance-labels", "--bf16", "auto")  # fmt: skip
    assert (selector.learning_rate, selector.captioner_id, selector.balance_labels, selector.bf16) == (0.003, "a/b", False, None)
    assert selector.trainer_overrides == {}


def test_args_file_sets_a_nested_commands_fields_and_flags_win(prepared_data, tmp_path):
    settings = tmp_path / "run.yaml"
    settings.write_text("lora_r: 8\nmax_steps: 3\nstage: '2'\n")
    arguments = _parse("train", "reasoner", "--data", str(prepared_data), "--output", str(tmp_path / "o"),
                       "--args-file", str(settings), "--max-steps", "5")  # fmt: skip
    assert (arguments.lora_r, arguments.max_steps, arguments.stage) == (8, 5, "2")


def test_the_reasoners_learning_rate_is_per_stage_not_a_trainer_flag(prepared_data, tmp_path, capsys):
    argv = ["train", "reasoner", "--data", str(prepared_data), "--output", str(tmp_path / "o"), "--learning_rate", "1"]
    assert _exit_code(argv) == 2
    assert "unrecognized arguments: --learning_rate 1" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("command", "flag", "value", "message"),
    [
        ("reasoner", "--max-steps", "0", "max_steps must be at least 1, or -1"),
        ("reasoner", "--max-steps", "-5", "max_steps must be at least 1, or -1"),
        ("reasoner", "--epochs", "0", "num_train_epochs must be above 0"),
        ("reasoner", "--effective-batch-size", "0", "effective_batch_size must be at least 1"),
        ("reasoner", "--per-device-batch-size", "0", "per_device_batch_size must be at least 1"),
        ("reasoner", "--save-steps", "0", "save_steps must be at least 1"),
        ("reasoner", "--logging-steps", "-1", "logging_steps must be at least 1"),
        ("reasoner", "--workers", "-1", "dataloader_num_workers must be 0 or more"),
        ("reasoner", "--max-rows", "0", "max_rows must be at least 1"),
        ("reasoner", "--save-total-limit", "0", "save_total_limit must be at least 1"),
        ("reasoner", "--warmup-ratio", "1.5", "warmup_ratio must be in [0, 1)"),
        ("reasoner", "--weight-decay", "-0.1", "weight_decay must be 0 or more"),
        ("reasoner", "--seed", "-1", "seed must be 0 or more"),
        ("reasoner", "--lr-stage1", "0", "learning_rate_stage1 must be above 0"),
        ("reasoner", "--lr-stage2", "-1e-5", "learning_rate_stage2 must be above 0"),
        ("reasoner", "--lora-r", "0", "lora_r must be at least 1"),
        ("reasoner", "--lora-alpha", "0", "lora_alpha must be at least 1"),
        ("reasoner", "--lora-dropout", "1", "lora_dropout must be in [0, 1)"),
        ("reasoner", "--frame-size", "0", "frame_size must be at least 28"),
        ("reasoner", "--max-length", "0", "max_length must be at least 1"),
        ("selector", "--lr", "0", "learning_rate must be above 0"),
        ("selector", "--candidate-fps", "0", "candidate_fps must be above 0"),
        ("selector", "--candidate-fps", "-1", "candidate_fps must be above 0"),
        ("selector", "--max-candidates", "0", "max_candidates must be at least 1"),
        ("selector", "--caption-batch-size", "0", "caption_batch_size must be at least 1"),
        ("selector", "--max-steps", "0", "max_steps must be at least 1, or -1"),
    ],
)
def test_numbers_out_of_range_are_one_line_errors_before_anything_starts(prepared_data, tmp_path, capsys, command, flag, value, message):
    out = tmp_path / "o"
    assert main(["train", command, "--data", str(prepared_data), "--output", str(out), f"{flag}={value}"]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err
    assert not out.exists()


def test_argparse_errors_are_one_line(tmp_path, capsys):
    assert _exit_code(["train", "reasoner", "--data", str(tmp_path), "--output", str(tmp_path / "o"), "--max-steps", "two"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "argument --max_steps/--max-steps: invalid int value: 'two'" in err
    assert err.rstrip().endswith("(see `videoespresso train reasoner --help`)")
    assert _exit_code(["train", "reasoner", "--output", "o"]) == 2
    assert "the following arguments are required: --data" in capsys.readouterr().err


def test_a_config_without_a_train_split_says_which_configs_have_one(tmp_path, capsys):
    from videoespresso_hf.demo.releases import write_bench_release

    release = write_bench_release(tmp_path / "bench_release")
    prepared = tmp_path / "prepared"
    assert main(["data", "prepare", "--quiet", "--config", "bench", "--data-dir", str(release), "--out", str(prepared)]) == 0
    with pytest.raises(ValueError) as error:
        load_rows(prepared, "bench")
    assert str(error.value) == (f"{prepared}: config 'bench' has no split 'train' (it has: test); configs with a "
                                "'train' split: train_video, train_multi_image, generated")  # fmt: skip
    capsys.readouterr()
    # the CLI: one line, before any model is looked for
    assert main(["train", "reasoner", "--data", str(prepared), "--config", "bench", "--output", str(tmp_path / "o"),
                 "--model", str(tmp_path / "no-such-model-needed")]) == 2  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no-such-model-needed: no such file or folder" in err[0]
    # from Python, with the default model: refused before the run starts (no settings printed, no output folder)
    with pytest.raises(ValueError, match=r"config 'bench' has no split 'train' \(it has: test\); configs with a 'train'"):
        videoespresso_hf.train_reasoner(data=str(prepared), config="bench", output_dir=str(tmp_path / "o"))
    assert capsys.readouterr().out == "" and not (tmp_path / "o").exists()


def test_skipped_rows_are_named_only_when_written(tmp_path):
    log = SkipLog(tmp_path / "skipped_rows.jsonl")
    assert skipped_rows_line(0, log.path) == "no row skipped" and not log.path.exists()
    log.add("row-1", "unreadable video", "1")
    line = skipped_rows_line(2, log.path, {"unreadable video": 1, "empty evidence_raw": 1})
    assert line == f"2 rows skipped (empty evidence_raw 1, unreadable video 1), listed in {log.path}"
    assert "{" not in line


def test_metrics_are_a_table():
    table = metrics_table({"stage1": {"train_rows": 4, "global_step": 2, "train_loss": 5.61234},
                           "stage2": {"train_rows": 4, "global_step": 2, "learning_rate": 1e-5}})  # fmt: skip
    lines = table.splitlines()
    assert lines[0].split() == ["metric", "stage1", "stage2"]
    assert lines[1].split() == ["rows", "trained", "on", "4", "4"]
    assert "5.6123" in table and "1e-05" in table and "'" not in table and "{" not in table
    assert len({len(line) for line in lines}) <= 2  # aligned columns (the last may end earlier where it is "-")


def test_local_model_paths_are_recorded_absolute(tmp_path, monkeypatch):
    (tmp_path / "ckpt" / "vlm").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    relative = ReasonerTrainingArguments(model="ckpt/vlm", data=".", init_adapter="./ckpt/vlm")
    absolute = ReasonerTrainingArguments(model=str(tmp_path / "ckpt" / "vlm"), data=str(tmp_path), init_adapter=str(tmp_path / "ckpt/vlm"))
    assert relative == absolute and relative.model == str((tmp_path / "ckpt" / "vlm").resolve())
    assert ReasonerTrainingArguments().model == defaults.REASONER_MODEL  # a Hub id stays as it is


def test_the_rl_stage_takes_its_own_fields_and_grpo_config_fields_as_flags(prepared_data, tmp_path):
    """How the RL stage plugs in: ReasonerRLArguments' fields (--num-generations, --lr-rl) are recipe flags, and trl's
    GRPOConfig beside SFTConfig makes its other fields trainer flags (--epsilon)."""
    from videoespresso_hf.cli import train
    from videoespresso_hf.training.arguments import ReasonerRLArguments

    args = parse_with_args_file(build_parser(), [
        "train", "reasoner", "--stage", "rl", "--data", str(prepared_data), "--output", str(tmp_path / "o"),
        "--num-generations", "2", "--lr-rl", "3e-6", "--epsilon", "0.28", "--optim", "sgd"])  # fmt: skip
    arguments = train._arguments(args, ReasonerRLArguments, train.TRAINER_CONFIGS["reasoner"]()[1])
    assert (arguments.stage, arguments.num_generations, arguments.learning_rate_rl) == ("rl", 2, 3e-6)
    assert arguments.trainer_overrides == {"epsilon": 0.28, "optim": "sgd"}


def test_trainer_logs_print_as_table_rows_not_dicts(capsys):
    from transformers import TrainerControl, TrainerState

    from videoespresso_hf.training.startup import _table_logger_class

    table = _table_logger_class()()
    state = TrainerState()
    for step, loss in ((1, 5.61234), (2, 5.1)):
        state.global_step = step
        table.on_log(None, state, TrainerControl(), logs={"loss": loss, "grad_norm": 0.8, "learning_rate": 2e-05, "epoch": 0.5})
    table.on_log(None, state, TrainerControl(), logs={"train_runtime": 27.2, "train_loss": 5.3, "total_flos": 1.0})
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["step", "loss", "grad_norm", "learning_rate", "epoch"]
    assert lines[1].split() == ["1", "5.612", "0.8", "2e-05", "0.5"] and lines[2].split()[:2] == ["2", "5.1"]
    assert len(lines[0]) == len(lines[1]) == len(lines[2])  # aligned
    assert lines[3].split() == ["train_runtime", "27.2"] and lines[4].split() == ["train_loss", "5.3"]
    assert not any("{" in line or "'" in line or "total_flos" in line for line in lines)


def test_the_trainer_config_a_recipe_builds_warns_about_no_deprecated_name(tmp_path):
    import warnings

    from transformers import TrainingArguments
    from trl import SFTConfig

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sft = SFTConfig(**ReasonerTrainingArguments().trainer_settings(tmp_path, 2e-5, 1))
        plain = TrainingArguments(**SelectorTrainingArguments().trainer_settings(tmp_path, 1e-5, 1))
        old_name = SFTConfig(**ReasonerTrainingArguments(trainer_overrides={"gradient_checkpointing": False}).trainer_settings(tmp_path, 2e-5, 1))
    assert [str(w.message) for w in caught if "checkpointing" in str(w.message)] == []
    assert sft.activation_checkpointing is True and plain.activation_checkpointing is False
    assert old_name.activation_checkpointing is False  # the old name still reaches the run

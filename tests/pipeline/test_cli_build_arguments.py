"""``videoespresso build``'s flags are generated from ``BuildArguments`` (one declaration): the help quotes the
defaults of ``defaults.py`` and ``BuildConfig``, and every flag of the hand-written CLI it replaced still parses
to the same ``build()`` call."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import videoespresso_hf as ve
from videoespresso_hf import defaults
from videoespresso_hf.cli._config_args import config_from_args, parse_with_args_file
from videoespresso_hf.cli.main import build_parser
from videoespresso_hf.pipeline.config import BuildConfig
from videoespresso_hf.pipeline.job import BuildArguments, BuildSettingsError

# The keyword arguments the hand-written `videoespresso build v.mp4 --out o` passed to build() (argv aside).
OLD_DEFAULT_CALL = {
    "videos": ["v.mp4"], "out": "o", "config_file": None, "until": None, "runner": "local", "ray_address": None,
    "workers": None, "retry_failed": False, "dry_run": False, "print_config": False, "progress": True,
    "captioner": None, "model": None, "llm_model": None, "base_url": None, "api_key_env": None, "concurrency": None,
    "max_cost": None, "sampling": None, "max_frames": None, "embedder": None, "tau": None, "group_size": None,
    "detector_model": None, "clip_model": None, "grounding": None, "price_per_1m_input": None,
    "price_per_1m_output": None, "batch": False, "batch_wait": None,
}  # fmt: skip

# Every flag of the hand-written CLI (and its alias), with what it changed in that call.
OLD_FLAGS = [
    (["--until", "groups"], {"until": "groups"}),
    (["--runner", "ray"], {"runner": "ray"}),
    (["--ray-address", "auto"], {"ray_address": "auto"}),
    (["--workers", "3"], {"workers": 3}),
    (["--config", "c.json"], {"config_file": "c.json"}),
    (["--captioner", "transformers"], {"captioner": "transformers"}),
    (["--model", "m"], {"model": "m"}),
    (["--llm-model", "l"], {"llm_model": "l"}),
    (["--base-url", "http://h:1/v1"], {"base_url": "http://h:1/v1"}),
    (["--api-key-env", "MY_KEY"], {"api_key_env": "MY_KEY"}),
    (["--concurrency", "4"], {"concurrency": 4}),
    (["--sampling", "uniform"], {"sampling": "uniform"}),
    (["--max-frames", "9"], {"max_frames": 9}),
    (["--embedding-model", "e"], {"embedder": "e"}),
    (["--embedder", "e"], {"embedder": "e"}),
    (["--detector-model", "d"], {"detector_model": "d"}),
    (["--clip-model", "c"], {"clip_model": "c"}),
    (["--no-grounding"], {"grounding": False}),
    (["--tau", "0.8"], {"tau": 0.8}),
    (["--group-size", "5"], {"group_size": 5}),
    (["--max-cost", "1.5"], {"max_cost": 1.5}),
    (["--price-per-1m-input", "2"], {"price_per_1m_input": 2.0}),
    (["--price-per-1m-output", "8"], {"price_per_1m_output": 8.0}),
    (["--batch"], {"batch": True}),
    (["--batch-wait", "0"], {"batch_wait": 0.0}),
    (["--dry-run"], {"dry_run": True}),
    (["--print-config"], {"print_config": True}),
    (["--retry-failed"], {"retry_failed": True}),
    (["--no-progress"], {"progress": False}),
]


def _parse(*argv: str) -> BuildArguments:
    return config_from_args(parse_with_args_file(build_parser(), ["build", *argv]), BuildArguments)


def test_no_flag_makes_the_old_default_call():
    assert dataclasses.asdict(_parse("v.mp4", "--out", "o")) == OLD_DEFAULT_CALL


@pytest.mark.parametrize(("flag", "change"), OLD_FLAGS, ids=[flag[0] for flag, _ in OLD_FLAGS])
def test_every_old_flag_parses_to_the_same_build_call(flag, change):
    assert dataclasses.asdict(_parse("v.mp4", "--out", "o", *flag)) == OLD_DEFAULT_CALL | change


def test_a_switch_does_not_swallow_the_videos_after_it():
    # HfArgumentParser's `--dry-run [BOOL]` would read "v.mp4" as its value; a build's switches take none.
    assert _parse("--dry-run", "v.mp4", "w.mp4", "--out", "o").videos == ["v.mp4", "w.mp4"]
    assert _parse("--no-grounding", "v.mp4", "--out", "o").grounding is False
    assert _parse("--grounding", "v.mp4", "--out", "o").grounding is True


def test_an_args_file_sets_the_build_settings_and_flags_win(tmp_path):
    settings = tmp_path / "build.yaml"
    settings.write_text("tau: 0.8\nuntil: frames\n", encoding="utf-8")
    parsed = _parse("v.mp4", "--out", "o", "--args-file", str(settings), "--until", "groups")
    assert (parsed.tau, parsed.until) == (0.8, "groups")


def test_the_help_quotes_the_defaults_of_the_one_table(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["build", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for model in (defaults.EMBEDDING_MODEL, defaults.DETECTOR_MODEL, defaults.CLIP_MODEL, defaults.CONSTRUCTION_LLM):
        assert f"(default: {model}" in text
    assert f"(cosine similarity; default: {BuildConfig().dedup.tau})" in text
    assert "(default: None)" not in text.split("--tau", 1)[1].split("--group", 1)[0]  # a stated default only


def test_the_command_module_names_no_model_id():
    source = (Path(ve.__file__).parent / "cli" / "build.py").read_text(encoding="utf-8")
    assert [model for model in defaults.DEFAULT_MODELS.values() if model in source] == []


def test_build_takes_the_arguments_or_their_fields_alike(tmp_path):
    arguments = BuildArguments(videos=["v.mp4"], out=str(tmp_path), print_config=True, tau=0.8, group_size=4)
    given = ve.build(arguments)
    assert given.summary == ve.build(videos=["v.mp4"], out=tmp_path, print_config=True, tau=0.8, group_size=4).summary
    assert (given.config.dedup.tau, given.config.groups.size) == (0.8, 4)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: ve.build(BuildArguments(videos=["v.mp4"], out="o"), tau=0.8), "not both"),
        (lambda: ve.build(videos=["v.mp4"], out="o", tua=0.8), "unknown setting(s) tua"),
        (lambda: ve.build(videos=["v.mp4"]), "needs out="),
    ],
)
def test_a_wrong_call_is_one_clear_line(call, message):
    with pytest.raises(BuildSettingsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()


def test_every_build_argument_is_either_a_job_setting_or_a_stage_setting():
    """A new BuildArguments field must be read somewhere: a job field of build() or a keyword of resolve_config
    (the stage settings build() forwards); one that is neither would be forwarded and fail as a TypeError."""
    import dataclasses
    import inspect

    from videoespresso_hf.pipeline.job import _JOB_FIELDS, BuildArguments, resolve_config

    names = {item.name for item in dataclasses.fields(BuildArguments)}
    stage_settings = set(inspect.signature(resolve_config).parameters) - {"config", "out", "config_file"}
    assert names >= _JOB_FIELDS
    assert names - _JOB_FIELDS == stage_settings

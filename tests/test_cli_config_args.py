"""Flags generated from a config dataclass (cli._config_args): defaults and help live once, in the dataclass;
an --args-file sets fields and the command line wins over it."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

import pytest

from videoespresso_hf.cli._config_args import add_config_command, config_from_args, parse_with_args_file


@dataclass
class _JobConfig:
    data: str = field(default="bench", metadata={"help": "prepared folder"})
    max_new_tokens: int = field(default=32, metadata={"help": "answer budget"})
    open_ended: bool = field(default=False, metadata={"help": "ask without options"})


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="videoespresso")
    subparsers = parser.add_subparsers(dest="command")
    add_config_command(subparsers, "job", _JobConfig, help="a job")
    return parser


def test_flags_come_from_the_dataclass_in_both_spellings():
    args = _parser().parse_args(["job", "--data", "x", "--max_new_tokens", "5", "--open-ended"])
    assert config_from_args(args, _JobConfig) == _JobConfig(data="x", max_new_tokens=5, open_ended=True)
    args = _parser().parse_args(["job", "--max-new-tokens", "7"])
    assert config_from_args(args, _JobConfig) == _JobConfig(max_new_tokens=7)


def test_help_shows_each_default_from_the_dataclass(capsys):
    with pytest.raises(SystemExit):
        _parser().parse_args(["job", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "answer budget (default: 32)" in text
    assert "prepared folder (default: bench)" in text


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_an_args_file_sets_fields_and_the_command_line_wins(tmp_path, suffix):
    path = tmp_path / f"settings{suffix}"
    path.write_text('{"data": "from-file", "max_new_tokens": 9}')  # JSON is YAML too
    args = parse_with_args_file(_parser(), ["job", "--args-file", str(path), "--max-new-tokens", "3"])
    assert config_from_args(args, _JobConfig) == _JobConfig(data="from-file", max_new_tokens=3)


def test_an_args_file_naming_an_unknown_field_is_one_line(tmp_path):
    from videoespresso_hf.cli.main import UserError

    path = tmp_path / "settings.yaml"
    path.write_text("dta: typo\n")
    with pytest.raises(UserError, match=r"unknown option.*dta"):
        parse_with_args_file(_parser(), ["job", "--args-file", str(path)])

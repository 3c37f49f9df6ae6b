"""One answer-letter rule set: the scorer, the reasoner, the hybrid and the remote-code copy agree."""

from __future__ import annotations

import importlib.util
import sys

import pytest
from doubles.extraction_cases import CASES, OPTIONS

from videoespresso_hf.evaluation.extraction import extract_robust
from videoespresso_hf.models.reasoner.modeling_reasoner import extract_option_letter


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_reasoner_reads_the_letter_the_scorer_reads(text, expected):
    assert extract_robust(text, OPTIONS).letter == expected
    assert extract_option_letter(text, OPTIONS) == expected


def test_remote_code_copy_agrees_on_every_case(reasoner_path, monkeypatch):
    """save_pretrained copies the rule set next to the weights; that copy reads the same letters."""
    spec = importlib.util.spec_from_file_location("copied_answer_letters", reasoner_path / "answer_letters.py")
    copied = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, copied)  # dataclasses look their module up while it runs
    spec.loader.exec_module(copied)
    assert [copied.extract_robust(text, OPTIONS).letter for text, _ in CASES] == [letter for _, letter in CASES]


def test_more_than_four_options_use_the_same_rules():
    options = [f"choice number {k}" for k in range(1, 11)]
    assert extract_option_letter("The answer is J", options) == "J"
    assert extract_option_letter("I think it is H.", options) == "H"  # "I" is a pronoun, not option I
    assert extract_option_letter("I.", options) == "I"
    assert extract_option_letter("choice number 7", options) == "G"
    assert extract_option_letter("J", options[:4]) is None  # only the letters of the given options count

import re

import pytest

from videoespresso_hf.evaluation.extraction import extract_official, extract_robust, strip_think

OPTIONS = ("The man opens the door", "The woman leaves the room", "A dog barks at the car", "Nothing happens")


def released_score_py_rule(text):
    """The rule of the released eval/score.py, restated independently of our implementation."""
    if not isinstance(text, str):
        return None
    found = re.findall("[ABCD]", text)
    return found[0] if found else None


TRICKY_OUTPUTS = [
    "Answer: B",
    "(B)",
    "The answer is D",
    "<think>Maybe A, maybe C.</think> C",
    "Based on the frames, B is correct.",
    "b",
    "",
    "Both (A) and (B) are wrong; Choose C",
    "answer: c",
    "The woman leaves the room.",
    "D) Nothing happens",
    "I can't tell.",
]


@pytest.mark.parametrize("text", [*TRICKY_OUTPUTS, None, 3])
def test_official_reproduces_released_rule(text):
    assert extract_official(text) == released_score_py_rule(text)


def test_official_keeps_the_answer_colon_quirk():
    # The capital A of "Answer" wins in the released scorer: "Answer: B" scores as A.
    assert extract_official("Answer: B") == "A"
    assert extract_official("The answer is D") == "D"  # lower-case "answer": no quirk
    assert extract_official("Because the dog barks, C") == "B"  # the B of "Because"


@pytest.mark.parametrize(
    ("text", "letter", "rule"),
    [
        ("Answer: B", "B", "answer_phrase"),
        ("(B)", "B", "bare_letter"),
        ("B.", "B", "bare_letter"),
        ("b", "B", "bare_letter"),
        ("**C**", "C", "bare_letter"),
        ("The answer is D", "D", "answer_phrase"),
        ("The answer is (d).", "D", "answer_phrase"),
        ("answer: c", "C", "answer_phrase"),
        ("I choose b", "B", "answer_phrase"),
        ("Option B is correct.", "B", "answer_phrase"),
        ("A man enters first. Final answer: C", "C", "answer_phrase"),
        ("Answer: A. On reflection, the answer is B.", "B", "answer_phrase"),  # last stated answer wins
        ("<think>A or C? Surely A.</think> C", "C", "bare_letter"),
        ("<think>Answer: A</think>\nThe answer is B", "B", "answer_phrase"),
        ("(C) The dog barks at the car", "C", "leading_marker"),
        ("D: nothing happens here", "D", "leading_marker"),
        ("I think (C) fits best", "C", "bracketed_letter"),
        ("The woman leaves the room.", "B", "option_text"),
        ("the WOMAN leaves the room!", "B", "option_text"),
        ("Probably D, since nothing changes", "D", "standalone_letter"),
    ],
)
def test_robust_extracts_the_intended_letter(text, letter, rule):
    extraction = extract_robust(text, OPTIONS)
    assert (extraction.letter, extraction.rule) == (letter, rule)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "I can't tell from the video.",
        "A man walks into the room.",  # the article "A" is not an answer
        "The answer is a dog barking",  # lower-case article after an answer phrase
        "B and C",  # two letters: ambiguous, never guessed
        "Both (A) and (D) are possible",
        "The man opens the door, then the woman leaves the room",  # two option texts
        "<think>The answer is B",  # unclosed reasoning, no final answer
    ],
)
def test_robust_leaves_silent_or_ambiguous_outputs_unanswered(text):
    extraction = extract_robust(text, OPTIONS)
    assert extraction.letter is None
    assert not extraction.answered


def test_robust_option_text_ignores_options_nested_in_longer_matches():
    options = ("red", "dark red", "blue", "green")
    assert extract_robust("It is dark red", options).letter == "B"


def test_strip_think_keeps_the_text_after_the_last_block():
    assert strip_think("<think>x</think> y <think>z</think> final").strip() == "final"
    assert strip_think("no reasoning") == "no reasoning"

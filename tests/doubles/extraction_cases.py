"""One case list for the answer-letter rule set (``videoespresso_hf.answer_letters``).

The scorer (``evaluation.extraction.extract_robust``), the reasoner (``TwoStageOutput.letter``), the hybrid
(``HybridAnswer.letter``) and the remote-code copy saved next to reasoner weights must all read the same
letter from each text: ``tests/models/test_answer_letters.py`` runs every reader over these cases.
"""

from __future__ import annotations

OPTIONS = ("The man opens the door", "The woman leaves the room", "A dog barks at the car", "Nothing happens")

# (model output, the letter it names among OPTIONS, or None when unanswered/ambiguous)
CASES: list[tuple[str, str | None]] = [
    ("Answer: B", "B"),
    ("(B)", "B"),
    ("B.", "B"),
    ("b", "B"),
    ("**C**", "C"),
    ("The answer is D", "D"),
    ("The answer is (d).", "D"),
    ("answer: c", "C"),
    ("I choose b", "B"),
    ("Option B is correct.", "B"),
    ("A man enters first. Final answer: C", "C"),
    ("Answer: A. On reflection, the answer is B.", "B"),
    ("<think>A or C? Surely A.</think> C", "C"),
    ("<think>Answer: A</think>\nThe answer is B", "B"),
    ("(C) The dog barks at the car", "C"),
    ("D: nothing happens here", "D"),
    ("I think (C) fits best", "C"),
    ("I think option B is right", "B"),
    ("The woman leaves the room.", "B"),
    ("the WOMAN leaves the room!", "B"),
    ("Probably D, since nothing changes", "D"),
    ("The answer is (A).", "A"),
    ("", None),
    ("   ", None),
    ("I can't tell from the video.", None),
    ("A man walks into the room.", None),
    ("The answer is a dog barking", None),
    ("B and C", None),
    ("Both (A) and (D) are possible", None),
    ("The man opens the door, then the woman leaves the room", None),
    ("<think>The answer is B", None),
    ("E", None),
]

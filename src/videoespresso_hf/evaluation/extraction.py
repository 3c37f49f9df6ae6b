"""Answer extraction: which option letter a model's output names.

Two extractors, both pure functions of the text:

``extract_official``
    Exactly what the released ``eval/score.py`` does: the first capital ``A``–``D`` anywhere in the
    string, or ``None``. Kept bug-for-bug so published leaderboard numbers can be reproduced —
    e.g. ``"Answer: B"`` yields ``"A"`` (the capital A of "Answer").

``extract_robust``
    A careful extractor, the project's one rule set: it lives in the leaf module
    :mod:`videoespresso_hf.answer_letters` (rules documented there) because the reasoner and the hybrid
    report their ``letter`` with the same function, and ``models`` may not import ``evaluation``.
"""

from __future__ import annotations

import re

from videoespresso_hf.answer_letters import LETTERS, Extraction, extract_robust, normalise_text, strip_think

__all__ = ["LETTERS", "Extraction", "extract_official", "extract_robust", "normalise_text", "strip_think"]

_OFFICIAL_RE = re.compile(r"[A-D]")


def extract_official(text: object) -> str | None:
    """The released ``score.py`` rule: first capital A–D anywhere in ``text`` (non-strings → ``None``)."""
    if not isinstance(text, str):
        return None
    match = _OFFICIAL_RE.search(text)
    return match.group(0) if match else None

"""Answer extraction: which option letter a model's output names.

Two extractors, both pure functions of the text:

``extract_official``
    Exactly what the released ``eval/score.py`` does: the first capital ``A``–``D`` anywhere in the
    string, or ``None``. Kept bug-for-bug so published leaderboard numbers can be reproduced —
    e.g. ``"Answer: B"`` yields ``"A"`` (the capital A of "Answer").

``extract_robust``
    A careful extractor. Rules, in order of precedence (the first rule that decides wins):

    1. ``<think>…</think>`` reasoning is removed; if a closing ``</think>`` is present, only the
       text after the last one is read. An unclosed ``<think>`` with nothing after it is unanswered.
    2. **Bare letter**: the whole output is one letter, optionally wrapped or punctuated —
       ``B``, ``(B)``, ``B.``, ``b)``, ``[C]``, ``**D**``; lower case accepted.
    3. **Answer phrase**: "answer is (B)", "Answer: B", "final answer: b", "the correct option is
       D", "I choose C", "option B is correct"… (case-insensitive; lower-case letters accepted
       here because the phrase makes them unambiguous). If several phrases name letters, the
       *last* one wins (models state their final answer last).
    4. **Leading marker**: the output starts with a marked letter — ``(B) the man…``, ``B. The
       man…``, ``B: …``, ``B) …``.
    5. **Bracketed letters**: ``(C)`` anywhere. One distinct letter decides; several distinct
       letters make the output ambiguous.
    6. **Option text**: the output repeats the text of exactly one option (after normalising case,
       punctuation and spaces; an option whose text is contained in another matched option is
       ignored). Several options → ambiguous.
    7. **Standalone capital letter**: ``B``/``C``/``D`` as a word, or ``A`` when followed by
       punctuation or the end (so the article "A man…" never counts). One distinct letter decides;
       several → ambiguous.

    Otherwise the output is *unanswered*. Ambiguous outputs are unanswered too: they are never
    guessed. The returned :class:`Extraction` says which rule decided (``rule``).
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["LETTERS", "Extraction", "extract_official", "extract_robust", "normalise_text", "strip_think"]

LETTERS = ("A", "B", "C", "D")

_OFFICIAL_RE = re.compile(r"[A-D]")
_THINK_CLOSED_RE = re.compile(r"^.*</think\s*>", re.DOTALL | re.IGNORECASE)
_THINK_OPEN_RE = re.compile(r"<think\s*>", re.IGNORECASE)

_BARE_RE = re.compile(r"^[\s*_`\"'(\[{]*([A-Da-d])[\s*_`\"')\]}.:,;!]*$")
_PHRASE_RE = re.compile(
    r"""(?i:
        (?:final\s+|correct\s+|right\s+|best\s+)?answer\s*(?:is|would\s+be|should\s+be|:|=|-)?\s*(?:option\s*)?
      | (?:correct|right|best)\s+(?:option|choice)\s*(?:is|would\s+be|:)?\s*
      | (?:I\s+(?:would\s+)?(?:choose|select|pick|go\s+with))\s*(?:option\s*)?
      | (?:option|choice)\s*(?=[(\[]?[A-Da-d][)\]]?\s+(?:is|would\s+be)\s+(?:the\s+)?(?:correct|right|best|answer))
    )
    [\s*_`"'(\[{]*
    (?:([A-D])(?![A-Za-z0-9])          # a capital letter
      |([a-d])(?=[\s*_`"')\]}]*(?:[.,;:!?)\]}]|$)))  # lower case only when it ends a clause: "answer is a dog" is no answer
    """,
    re.VERBOSE,
)
_LEADING_RE = re.compile(r"^[\s*_`\"']*(?:\(([A-Da-d])\)|\[([A-Da-d])\]|([A-D])\s*[.:)])")
_BRACKETED_RE = re.compile(r"[(\[]([A-D])[)\]]")
_STANDALONE_RE = re.compile(r"(?<![A-Za-z0-9'’-])(?:([B-D])|(A)(?=\s*(?:[.,;:!?)\]]|$)))(?![A-Za-z0-9'’-])")


@dataclass(frozen=True)
class Extraction:
    """The letter an output names (``None`` when unanswered) and the rule that decided it."""

    letter: str | None
    rule: str

    @property
    def answered(self) -> bool:
        return self.letter is not None


def extract_official(text: object) -> str | None:
    """The released ``score.py`` rule: first capital A–D anywhere in ``text`` (non-strings → ``None``)."""
    if not isinstance(text, str):
        return None
    match = _OFFICIAL_RE.search(text)
    return match.group(0) if match else None


def strip_think(text: str) -> str:
    """Drop ``<think>…</think>`` reasoning; an unclosed ``<think>`` leaves nothing to read."""
    if _THINK_CLOSED_RE.search(text):
        return _THINK_CLOSED_RE.sub("", text, count=1)
    if _THINK_OPEN_RE.search(text):
        return _THINK_OPEN_RE.split(text, maxsplit=1)[0]
    return text


_PUNCTUATION_TABLE = str.maketrans({char: " " for char in string.punctuation})


def normalise_text(text: str) -> str:
    """Lower-case, punctuation to spaces, single spaces: the form option texts are compared in."""
    return " ".join(text.lower().translate(_PUNCTUATION_TABLE).split())


def _unique(letters: Sequence[str], rule: str) -> Extraction | None:
    distinct = sorted(set(letters))
    if not distinct:
        return None
    if len(distinct) == 1:
        return Extraction(distinct[0], rule)
    return Extraction(None, f"ambiguous:{rule}")


def _option_text_match(text: str, option_texts: Sequence[str]) -> Extraction | None:
    haystack = f" {normalise_text(text)} "
    matched = {
        LETTERS[index]: needle
        for index, option in enumerate(option_texts[: len(LETTERS)])
        if (needle := normalise_text(option)) and f" {needle} " in haystack
    }
    # An option whose text sits inside another matched option's text is not separate evidence.
    kept = [
        letter
        for letter, needle in matched.items()
        if not any(other != letter and needle in matched[other] for other in matched)
    ]
    return _unique(kept, "option_text")


def extract_robust(text: object, option_texts: Sequence[str] = ()) -> Extraction:
    """Extract the option letter named by ``text`` (see the module docstring for the rules).

    Args:
        text: the model's output.
        option_texts: the option texts without their ``(A):`` prefixes, in letter order; enables rule 6.
    """
    if not isinstance(text, str) or not text.strip():
        return Extraction(None, "empty")
    body = strip_think(text).strip()
    if not body:
        return Extraction(None, "empty_after_think")

    if match := _BARE_RE.match(body):
        return Extraction(match.group(1).upper(), "bare_letter")
    phrases = _PHRASE_RE.findall(body)
    if phrases:
        return Extraction("".join(phrases[-1]).upper(), "answer_phrase")
    if match := _LEADING_RE.match(body):
        return Extraction(next(group for group in match.groups() if group).upper(), "leading_marker")
    for decided in (
        _unique(_BRACKETED_RE.findall(body), "bracketed_letter"),
        _option_text_match(body, option_texts),
        _unique([a or b for a, b in _STANDALONE_RE.findall(body)], "standalone_letter"),
    ):
        if decided is not None:
            return decided
    return Extraction(None, "no_option")

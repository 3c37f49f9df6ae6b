"""A deterministic responder for the loopback OpenAI server that answers the QA stages' prompts.

It reads the real prompt (the captions, the pairs, the question and answer) and returns valid structured
JSON for the requested schema, so outputs depend on the pipeline's actual inputs:

* ``QAPairs``: pairs about two consecutive captions, task chosen by a hash of the question;
* ``QAFilterVerdicts``: keeps every pair except each third one, rejected as ``subjective``;
* ``CoTEvidence``: the two captions the question quotes, paraphrased ("The frame shows ..."), one key
  object per caption (its last two words) and an evidence text mentioning both;
* ``DistractorCandidates``: six wrong answers of graded lengths around the reference's length.

Every other request (e.g. frame captions) goes to :func:`~doubles.openai_server.default_responder`.
Use it as ``OpenAICompatibleServer(responder=construction_responder)`` and inject faults with ``when=``
:func:`schema_is` (e.g. ``server.inject("malformed_json", 3, when=schema_is("CoTEvidence"))``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

from doubles.openai_server import default_responder, request_text
from videoespresso_hf.tasks import LEADERBOARD_TASKS

__all__ = ["construction_responder", "schema_is", "schema_name"]

_CAPTION = re.compile(r"^\[(\d+)\] (.+)$", re.MULTILINE)
_FILLERS = (
    "Nobody appears anywhere in the video and the camera keeps pointing at an empty wall while the light "
    "slowly fades away until the screen turns completely black at the very end",
    "A group of children plays football in a sunny park and then everyone sits down on the grass to eat "
    "sandwiches before walking home together along the quiet river path",
    "The video shows a cat sleeping on a sofa the whole time and nothing else moves in the room while a "
    "clock on the shelf keeps ticking softly in the background",
    "Heavy rain falls on a busy city street and the cars stop at a red light while people with umbrellas "
    "hurry across the road towards a large glass building",
    "A chef slices vegetables on a wooden board and puts them into a boiling pot of soup before tasting it "
    "with a spoon and adding a little more salt",
    "Two musicians tune their guitars on a small stage and then play a slow song while the audience claps "
    "along and a spotlight moves back and forth across the curtain",
)
_DELTAS = (0, 1, -1, 6, -5, 12)  # word-count offsets of the six distractors from the reference length


def schema_name(request: dict[str, Any]) -> str | None:
    """The ``json_schema.name`` of a structured-output request (None for plain requests)."""
    response_format = request.get("response_format") or {}
    return (response_format.get("json_schema") or {}).get("name")


def schema_is(name: str) -> Callable[[dict[str, Any]], bool]:
    """A ``when=`` predicate for ``OpenAICompatibleServer.inject`` matching one answer schema."""
    return lambda request: schema_name(request) == name


def _hash(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def _captions(text: str) -> list[str]:
    return [caption.strip() for _, caption in _CAPTION.findall(text)]


def _label(caption: str) -> str:
    words = re.findall(r"[A-Za-z]+", caption)
    return " ".join(words[-2:]).lower() if words else "object"


def _qa_pairs(text: str) -> dict[str, Any]:
    captions = _captions(text)
    count = int(re.search(r"Write (\d+) question-answer pairs", text).group(1))
    pairs = []
    for i in range(count):
        a, b = i % len(captions), (i + 1) % len(captions)
        question = f"How does the scene change from {captions[a]} to {captions[b]} in the video?"
        pairs.append(
            {
                "question": question,
                "answer": f"The video first shows {captions[a]} and later it shows {captions[b]}.",
                "task": LEADERBOARD_TASKS[_hash(question) % len(LEADERBOARD_TASKS)],
                "caption_numbers": [a + 1, b + 1],
            }
        )
    return {"pairs": pairs}


def _verdicts(text: str) -> dict[str, Any]:
    numbers = [int(n) for n in re.findall(r"^Pair (\d+) \(", text, re.MULTILINE)]
    verdicts = []
    for number in numbers:
        if number % 3 == 0:
            verdicts.append(
                {
                    "pair_number": number,
                    "keep": False,
                    "criterion": "subjective",
                    "reason": "The question asks for an opinion the captions cannot settle.",
                }
            )
        else:
            verdicts.append(
                {
                    "pair_number": number,
                    "keep": True,
                    "criterion": "none",
                    "reason": "Grounded in two captions.",
                }
            )
    return {"verdicts": verdicts}


def _cot(text: str) -> dict[str, Any]:
    captions = _captions(text)
    question = re.search(r"^Question: (.+)$", text, re.MULTILINE).group(1)
    quoted = [c for c in captions if c in question] or captions[:2]
    # Keep time order and at most two; paraphrase so temporal grounding has real work to do.
    quoted = sorted(dict.fromkeys(quoted), key=captions.index)[:2]
    labels = list(dict.fromkeys(_label(c) for c in quoted))
    objects = [
        {"label": label, "core_caption": 1 + next(i for i, c in enumerate(quoted) if _label(c) == label)}
        for label in labels
    ]
    evidence = (
        " ".join(
            f"The {label} is visible in frame {obj['core_caption']}."
            for label, obj in zip(labels, objects, strict=True)
        )
        + " Their order in time supports the answer."
    )
    return {
        "core_captions": [f"The frame shows {c}" for c in quoted],
        "key_objects": objects,
        "evidence": evidence,
    }


def _distractors(text: str) -> dict[str, Any]:
    answer = re.search(r"^Correct answer: (.+)$", text, re.MULTILINE).group(1)
    count = int(re.search(r"Write (\d+) different wrong answers", text).group(1))
    words = len(answer.split())
    start = _hash(answer) % len(_FILLERS)
    out = []
    for k in range(count):
        filler = _FILLERS[(start + k) % len(_FILLERS)].split()
        length = max(2, min(len(filler), words + _DELTAS[k % len(_DELTAS)]))
        out.append(" ".join(filler[:length]) + ".")
    return {"distractors": out}


_HANDLERS: dict[str, Callable[[str], dict[str, Any]]] = {
    "QAPairs": _qa_pairs,
    "QAFilterVerdicts": _verdicts,
    "CoTEvidence": _cot,
    "DistractorCandidates": _distractors,
}


def construction_responder(request: dict[str, Any]) -> str | dict[str, Any]:
    """Answer QA-stage prompts by their schema name; anything else goes to the default responder."""
    handler = _HANDLERS.get(schema_name(request) or "")
    if handler is None:
        return default_responder(request)
    return handler(request_text(request))

"""Regenerate the bundled *synthetic* sample predictions used by `videoespresso demo` and the docs.

They are not a model's results: questions and options are templated, and outputs are written in the
styles real models produce ("Answer: B", "(C)", a <think> block, a repeated option text, silence…)
so that the difference between the `official` and `robust` protocols is visible.
Run: python scripts/make_sample_predictions.py
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from videoespresso_hf.tasks import TASKS

OUT = Path(__file__).resolve().parents[1] / "src/videoespresso_hf/evaluation/samples/sample_predictions.json"
LETTERS = "ABCD"
STYLES = (
    "bare", "bracketed", "answer_colon", "answer_is", "think", "option_text", "verbose_lead", "lowercase", "empty", "two_letters",
)  # fmt: skip


def render_output(style: str, letter: str, option_text: str, rng: random.Random) -> str:
    other = rng.choice([x for x in LETTERS if x != letter])
    return {
        "bare": letter,
        "bracketed": f"({letter})",
        "answer_colon": f"Answer: {letter}",
        "answer_is": f"Based on the frames, the answer is {letter}.",
        "think": f"<think>Option {other} looks plausible, but the later frames contradict it.</think> {letter}",
        "option_text": f"{option_text}.",
        "verbose_lead": f"({letter}) {option_text}",
        "lowercase": f"answer: {letter.lower()}",
        "empty": "",
        "two_letters": f"Either {letter} or {other}.",
    }[style]


def main() -> None:
    rng = random.Random(2025)
    records = []
    for task in TASKS:
        for number in range(10):
            options = [f"synthetic option {letter} for {task.leaderboard_name.lower()} item {number}" for letter in LETTERS]
            correct = rng.choice(LETTERS)
            # A model that is right about 60% of the time, answering in a random style.
            chosen = correct if rng.random() < 0.6 else rng.choice(LETTERS)
            style = rng.choice(STYLES)
            records.append(
                {
                    "video_path": f"all_video/synthetic/{task.leaderboard_name.replace(' ', '_')}_{number}.mp4",
                    "question": f"[synthetic] Question {number} of the {task.paper_name} task?",
                    "options": [f"({letter}): {text}" for letter, text in zip(LETTERS, options, strict=True)],
                    "correct_answer": f"({correct})",
                    "task": task.paper_name if number % 2 else task.leaderboard_name,
                    "model_output": render_output(style, chosen, options[LETTERS.index(chosen)], rng),
                }
            )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(records, indent=1) + "\n")
    print(f"wrote {len(records)} synthetic records to {OUT}")


if __name__ == "__main__":
    main()

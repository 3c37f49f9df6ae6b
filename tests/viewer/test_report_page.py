"""`score --format html|png` and `judge --format html|png`: the reports as Chromium renders them."""

from __future__ import annotations

import io
import json
import random
import re
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from doubles.openai_server import OpenAICompatibleServer, request_text
from PIL import Image

from videoespresso_hf.cli.main import main
from videoespresso_hf.evaluation.report import load_published_results
from videoespresso_hf.tasks import LEADERBOARD_TASKS, RELEASED_TEST_COUNTS

from ._browser import image_stats

SAMPLE = Path(str(resources.files("videoespresso_hf.evaluation") / "samples" / "sample_predictions.json"))


@pytest.fixture(scope="module")
def two_models(tmp_path_factory) -> list[Path]:
    """The bundled sample predictions and a copy where 40 % of the outputs are random letters."""
    folder = tmp_path_factory.mktemp("predictions")
    records = json.loads(SAMPLE.read_text())
    rng = random.Random(1)
    noisy = [{**r, "model_output": rng.choice("ABCD")} if rng.random() < 0.4 else r for r in records]
    (folder / "model_a.json").write_text(json.dumps(records))
    (folder / "model_b.json").write_text(json.dumps(noisy))
    return [folder / "model_a.json", folder / "model_b.json"]


def _table(page, selector: str) -> list[list[str]]:
    return page.eval_on_selector_all(f"{selector} tr", "rows => rows.map(r => Array.from(r.cells).map(c => c.innerText.trim()))")


def test_score_report_puts_models_side_by_side_with_published_rows_and_charts(two_models, tmp_path, page, capsys):
    report = tmp_path / "report.html"
    argv = ["score", *map(str, two_models), "--protocol", "official", "--format", "html", "--output", str(report), "--bootstrap", "200"]
    assert main(argv) == 0
    assert report.as_uri() in capsys.readouterr().out
    page.goto(report.as_uri())
    summary = _table(page, "#summary")
    assert [row[0] for row in summary[1:]] == ["model_a", "model_b"]
    assert summary[0][2:5] == ["items", "of the benchmark", "tasks"]
    assert summary[1][2:5] == ["140", "1,382", "14 of 14"]
    low, high = (float(v) for v in summary[1][7].split("–"))
    assert low < float(summary[1][6]) < high  # micro inside its 95 % interval
    assert int(summary[1][9]) > 0  # the sample has unanswered outputs
    tasks = _table(page, "#tasks")
    assert tasks[0] == ["model", "Overall", *LEADERBOARD_TASKS]
    published = page.locator("#tasks tr.published")
    leaderboard = load_published_results()["tables"]["leaderboard"]
    assert published.count() == len(leaderboard["rows"]) == 15
    assert published.first.inner_text().startswith("published LLaVA-Video")
    header = page.locator("#tasks th[colspan]").inner_text()
    assert "github.com/hshjerry/VideoEspresso" in header and "2025-01-16" in header and "published" in header.lower()
    for chart in ("#task-chart", "#group-chart"):
        stats = image_stats(page, chart)
        assert stats["complete"] and stats["width"] > 300 and stats["height"] > 300
        assert stats["colours"] > 20 and 0.02 < stats["nonWhite"] < 0.9  # drawn, not blank and not a solid block


def test_report_shows_no_published_rows_for_a_protocol_they_do_not_use(two_models, tmp_path, page):
    from videoespresso_hf.evaluation import score_file
    from videoespresso_hf.evaluation.report import render_html

    result = score_file(two_models[0], "robust", bootstrap_resamples=50)
    report = tmp_path / "report.html"
    report.write_text(render_html({"a": result, "b (similarity)": {**result, "protocol": "similarity"}}))
    page.goto(report.as_uri())
    assert page.locator("tr.published").count() == 0
    assert "No published table" in page.inner_text("body")


def test_png_format_writes_the_chart_alone(two_models, tmp_path):
    out = tmp_path / "chart.png"
    assert main(["score", *map(str, two_models), "--format", "png", "--output", str(out), "--bootstrap", "50"]) == 0
    image = np.asarray(Image.open(io.BytesIO(out.read_bytes())).convert("L"))
    assert image.shape[1] > 1000 and image.shape[0] > 500
    assert 0.02 < (image < 200).mean() < 0.9


def test_html_without_output_is_a_one_line_error(capsys):
    assert main(["score", str(SAMPLE), "--format", "html"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--output" in err


def test_published_rows_are_copied_consistently():
    """Each leaderboard row's Overall is its micro average over the released task counts; Table 1's Avg. its macro."""
    tables = load_published_results()["tables"]
    for row in tables["leaderboard"]["rows"]:
        micro = sum(row["tasks"][t] * RELEASED_TEST_COUNTS[t] for t in LEADERBOARD_TASKS) / sum(RELEASED_TEST_COUNTS.values())
        assert micro == pytest.approx(row["overall"], abs=0.15), row["model"]
    for row in tables["paper_table1"]["rows"]:
        assert np.mean(list(row["tasks"].values())) == pytest.approx(row["overall"], abs=0.15), row["model"]
    assert all(table["source"] and re.fullmatch(r"\d{4}-\d{2}-\d{2}", table["date"]) for table in tables.values())


def test_judge_report_plots_the_score_distribution_per_criterion(tmp_path, page, capsys):
    def judge(request):
        long = len(re.search(r"Candidate answer: (.*)", request_text(request)).group(1)) > 30
        return {"logic": 7, "factuality": 6, "accuracy": 3 if long else 9, "conciseness": 4 if long else 9,
                "overall": 6, "rationale": "ok"}  # fmt: skip

    records = [
        {"question": "What colour is the car?", "answer": "Red.", "model_output": "Red.", "task": "Traffic Analysis"},
        {"question": "What colour is the car?", "answer": "Red.", "model_output": "A blue vehicle, I think, or grey.", "task": "Traffic Analysis"},
        {"question": "What is cooked?", "answer": "Chili.", "model_output": "Chili.", "task": "Cooking Process"},
    ]  # fmt: skip
    predictions = tmp_path / "open.json"
    predictions.write_text(json.dumps(records))
    report = tmp_path / "judge.html"
    with OpenAICompatibleServer(judge, model="judge") as server:
        argv = ["judge", str(predictions), "--base-url", server.base_url, "--cache", str(tmp_path / "cache.sqlite"),
                "--format", "html", "--output", str(report)]  # fmt: skip
        assert main(argv) == 0
    printed = capsys.readouterr().out
    result = json.loads(printed[printed.index("{\n") : printed.rindex("}") + 1])
    assert result["distribution"]["accuracy"] == [0, 0, 1, 0, 0, 0, 0, 0, 2, 0]  # answers per score 1..10
    assert result["distribution"]["logic"][6] == 3
    assert "coverage: 3 of 1,382 items (0.2 %), 2 of 14 tasks" in printed
    assert result["coverage"]["items"] == 3 and result["coverage"]["tasks"] == 2 and result["coverage"]["partial"]
    page.goto(report.as_uri())
    sentence = page.inner_text("#coverage")
    assert "open was judged on 3 of the benchmark's 1,382 items in 2 of its 14 tasks: a PARTIAL run" in sentence
    page.screenshot(path=str(tmp_path / "judge.png"), full_page=True)
    rows = _table(page, "#criteria")
    assert rows[1][:6] == ["open", "70.00", "60.00", "70.00", "73.33", "60.00"]
    assert page.locator("#criteria tr.published").count() == 10
    assert "Table 2" in page.locator("#criteria th[colspan]").inner_text()
    stats = image_stats(page, "#judge-chart")
    assert stats["complete"] and stats["width"] > 600 and stats["colours"] > 20 and 0.02 < stats["nonWhite"] < 0.9


def _partial_predictions(folder: Path) -> Path:
    """15 items of 2 tasks (Causal Analysis, Traffic Analysis)."""
    records = [r for r in json.loads(SAMPLE.read_text()) if r["task"] in ("Causal Analysis", "Causal Inference", "Traffic Analysis")]
    path = folder / "partial.json"
    path.write_text(json.dumps(records[:15]))
    return path


def test_a_partial_run_says_so_in_one_sentence_and_shows_published_rows_for_its_tasks_only(tmp_path, page):
    report = tmp_path / "report.html"
    predictions = _partial_predictions(tmp_path)
    assert main(["score", str(predictions), "--format", "html", "--output", str(report), "--bootstrap", "50"]) == 0
    page.goto(report.as_uri())
    sentences = page.locator("#coverage p")
    assert sentences.count() == 1
    sentence = sentences.first.inner_text()
    assert re.fullmatch(r"PARTIAL partial was scored on 15 of the benchmark's 1,382 items in 2 of its 14 tasks: [^.]*\.\s*", sentence.replace("(shown for the covered tasks only, without their Overall)", "")), sentence
    tasks = _table(page, "#tasks")
    header = tasks[0]
    published = [row for row in tasks if row and row[0].startswith("published")]
    assert len(published) == 15
    for row in published:
        shown = {task for task, cell in zip(header[2:], row[2:], strict=True) if cell != "-"}
        assert shown == {"Causal Analysis", "Traffic Analysis"}
        assert row[1] == "-"  # no full-benchmark Overall beside a 15-item one
    assert "PARTIAL" in page.locator("#tasks th[colspan]").inner_text()


def test_report_fits_a_1400px_page(two_models, tmp_path, browser):
    report = tmp_path / "report.html"
    assert main(["score", *map(str, two_models), "--format", "html", "--output", str(report), "--bootstrap", "50"]) == 0
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = context.new_page()
        page.goto(report.as_uri())
        assert page.evaluate("document.documentElement.scrollWidth") <= 1400
        table_right = page.eval_on_selector("#tasks", "t => t.getBoundingClientRect().right")
        assert table_right <= 1400
    finally:
        context.close()

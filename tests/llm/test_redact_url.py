"""URLs are stored and printed with their credentials redacted (issue 24.2): one function, used everywhere."""

from __future__ import annotations

import json

import pytest

from videoespresso_hf.llm import REDACT_SECRETS, LLMClient, LLMConfig, redact_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1"),
        ("https://user:s3cret@host.example:8443/v1", "https://***@host.example:8443/v1"),
        ("https://tok3n@host.example/v1", "https://***@host.example/v1"),
        ("https://host.example/v1?api-key=s3cret&x=1", "https://host.example/v1?api-key=***&x=***"),
        ("https://host.example/v1?s3cret", "https://host.example/v1?s3cret=***"),
        ("https://host.example/v1#s3cret", "https://host.example/v1#***"),
        ("http://[::1", "***"),
        (None, None),
    ],
)
def test_redact_url_keeps_where_and_drops_secrets(url, expected):
    assert redact_url(url) == expected


def test_stored_and_shown_configs_carry_no_url_credentials(monkeypatch):
    config = LLMConfig(base_url="https://user:s3cret@host.example/v1?key=s3cret")
    stored = config.model_dump_json(context=REDACT_SECRETS)
    assert "s3cret" not in stored
    assert json.loads(stored)["base_url"] == "https://***@host.example/v1?key=***"
    assert config.base_url == "https://user:s3cret@host.example/v1?key=s3cret"  # the live value is untouched
    assert config.model_dump()["base_url"] == config.base_url  # copies made in memory keep working
    assert "s3cret" not in config.endpoint_label()
    assert "s3cret" not in repr(LLMClient(config))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    line = config.key_destination()
    assert line == "API key: $OPENAI_API_KEY is sent to https://***@host.example/v1?key=***"


def test_env_report_redacts_the_base_url(monkeypatch, capsys):
    from videoespresso_hf.cli.main import main

    monkeypatch.setenv("OPENAI_BASE_URL", "https://user:s3cret@host.example/v1")
    assert main(["env"]) == 0
    out = capsys.readouterr().out
    assert "s3cret" not in out
    assert "- OPENAI_BASE_URL: https://***@host.example/v1" in out

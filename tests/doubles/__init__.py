"""Test doubles shared by the tests, benchmarks and scripts (not shipped in the wheel).

Nothing here mocks the library: a loopback HTTP server speaking the OpenAI API
(:mod:`.openai_server`), a responder that answers the construction prompts
(:mod:`.construction_responder`), tiny random models built from the stock transformers configs
(:mod:`.tiny_models`, :mod:`.grounding_models`). ``tests/`` is on ``sys.path`` under pytest
(``pythonpath`` in pyproject.toml); benchmarks and scripts add it themselves.
"""

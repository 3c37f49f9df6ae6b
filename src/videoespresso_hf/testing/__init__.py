"""Helpers for tests, benchmarks and the offline demo (like ``transformers.testing_utils``).

Nothing here is a mock of the library: these build *real* inputs offline — encoded video files,
a loopback HTTP server speaking the OpenAI API, tiny random models built from configs.
"""

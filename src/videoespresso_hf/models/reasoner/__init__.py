"""Reasoner: a native Qwen VLM with two-stage (evidence → answer) inference (paper §4.2–4.4)."""

# Load the Auto classes before any module of this package: `import videoespresso_hf` registers the models
# right after `transformers.models.auto` is imported, and that must not happen while one of them is half-imported.
import transformers.models.auto  # noqa: F401

"""Frame Selector: captioner VLM + chooser LM that pick the core frames for a question (paper §4.1)."""

# Load the Auto classes before any module of this package: `import videoespresso_hf` registers the models
# right after `transformers.models.auto` is imported, and that must not happen while one of them is half-imported.
import transformers.models.auto  # noqa: F401

"""Frame Selector: captioner VLM + chooser LM that pick the core frames for a question (paper §4.1)."""

"""videoespresso_hf: VideoEspresso (CVPR 2025) on the Hugging Face stack.

Parts (one sub-package each): ``evaluation`` (the 14-task benchmark scorer), ``data`` (the
``datasets`` builder and Hub export), ``video`` (decoding, sampling, shot detection), ``llm``
(the one OpenAI-compatible client), ``pipeline`` (the construction pipeline), ``models`` (Frame
Selector and Reasoner as ``PreTrainedModel``s) and ``training``.

This import is cheap (no torch) so that ``videoespresso score`` starts fast. ``import videoespresso_hf.models``
registers the models with the transformers Auto classes.
"""

__version__ = "0.1.0"

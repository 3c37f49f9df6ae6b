"""Frame Selector and Reasoner as ``PreTrainedModel``s, training-free frame strategies, hybrid inference.

Importing this package (or any submodule: ``models.frame_selector``, ``models.reasoner``,
``models.strategies``, ``models.hybrid``, ``models.cards``...) registers the VideoEspresso classes with the
transformers Auto classes (:mod:`.registration`), so that afterwards::

    import videoespresso_hf.models
    from transformers import AutoModel, AutoModelForImageTextToText, AutoProcessor
    reasoner = AutoModelForImageTextToText.from_pretrained("path/to/reasoner")   # or AutoModel
    selector = AutoModel.from_pretrained("path/to/selector")

It imports torch; the top-level ``import videoespresso_hf`` does not (scoring needs no model).
"""

from videoespresso_hf.models.registration import register

register()

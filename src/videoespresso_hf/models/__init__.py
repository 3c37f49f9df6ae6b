"""Frame Selector and Reasoner as ``PreTrainedModel``s, training-free frame strategies, hybrid inference.

Submodules are imported on use (torch is heavy): ``models.frame_selector``, ``models.reasoner``,
``models.strategies``, ``models.hybrid``, ``models.registration``, ``models.cards``.
"""

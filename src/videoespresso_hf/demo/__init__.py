"""What the offline walk-through (``videoespresso demo``) needs: a synthetic release in the authors'
layout (:mod:`.releases`), synthetic clips encoded with PyAV (:mod:`.videos`) and tiny Qwen2.5-VL
checkpoints with RANDOM weights (:mod:`.tiny_checkpoints`), so that the demo runs every job, model jobs included.

These build *real* inputs — encoded video files, zip archives, JSON in the released layout — so the
demo runs the library's real code paths with no download. The random-weight checkpoints show the mechanics,
never the method's quality, and say so. Test doubles (the loopback OpenAI server, the tests' tiny models of
every family) are not here: they live under ``tests/doubles`` and do not ship in the wheel.
"""

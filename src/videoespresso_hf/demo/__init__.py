"""What the offline walk-through (``videoespresso demo``) needs: a synthetic release in the authors'
layout (:mod:`.releases`) and synthetic clips encoded with PyAV (:mod:`.videos`).

These build *real* inputs — encoded video files, zip archives, JSON in the released layout — so the
demo runs the library's real code paths with no download. Test doubles (the loopback OpenAI server,
tiny random models) are not here: they live under ``tests/doubles`` and do not ship in the wheel.
"""

"""The studio's model: its state, preferences and long work, with no Qt.

Everything here is plain Python on top of the engine and ``models/`` (jobs, layout edits,
settings, the waveform, recording, paths, the key store). The widgets around it
(``spa2v_app/studio/*.py``) take these values and show them; tests of this package need no
display. An import-linter contract in ``pyproject.toml`` keeps PySide6 out of it.
"""

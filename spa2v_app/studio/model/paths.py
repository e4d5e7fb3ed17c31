"""Where the studio keeps things: recordings, autosaves, settings (XDG folders, overridable).

``SPA2V_DATA_DIR`` and ``SPA2V_CONFIG_DIR`` move them (the tests and screenshots use this so
that nothing touches the user's real folders).
"""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    env = os.environ.get("SPA2V_DATA_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "spa2v"


def config_dir() -> Path:
    env = os.environ.get("SPA2V_CONFIG_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "spa2v"


def recordings_dir() -> Path:
    return data_dir() / "recordings"


def autosave_dir() -> Path:
    return data_dir() / "autosave"


def default_models_dir() -> Path:
    env = os.environ.get("SPA2V_MODELS_DIR")
    return Path(env) if env else data_dir() / "models"

"""The Gemini API key in the OS keyring (never in a settings file or a project).

``GEMINI_API_KEY`` (or ``GOOGLE_API_KEY``) in the environment wins over the keyring, so a key
can be given for one session without storing it. The names are the Gemini planner's
(``models.gemini_planner``), which reads the key the same way.
"""

from __future__ import annotations

import os

from models.gemini_planner import ENV_KEYS
from models.gemini_planner import KEYRING_SERVICE as SERVICE
from models.gemini_planner import KEYRING_USER as GEMINI_USER
from models.gemini_planner import key_problem


class KeyringUnavailable(RuntimeError):
    pass


def _keyring():
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        raise KeyringUnavailable("the keyring package is not installed "
                                 "(pip install 'spa2v-studio[gui]')") from None
    if isinstance(keyring.get_keyring(), fail.Keyring):
        raise KeyringUnavailable("no OS keyring is running (install and unlock GNOME Keyring, "
                                 "KWallet or another Secret Service); or set GEMINI_API_KEY")
    return keyring


def _env_key() -> str | None:
    return next((os.environ[k].strip() for k in ENV_KEYS if os.environ.get(k, "").strip()), None)


def gemini_key() -> str | None:
    env = _env_key()
    if env:
        return env
    try:
        return _keyring().get_password(SERVICE, GEMINI_USER)
    except KeyringUnavailable:
        return None
    except Exception:  # a locked or broken keyring must not stop planning with other planners
        return None


def gemini_key_source() -> str:
    """Where the key comes from, for the settings page: 'environment', 'keyring' or 'none'."""
    if _env_key():
        return "environment"
    return "keyring" if gemini_key() else "none"


class BadKey(ValueError):
    pass


def store_gemini_key(key: str) -> None:
    """Store (or with an empty key, delete) the key; raises :class:`KeyringUnavailable`, or
    :class:`BadKey` for a key no API takes (a character pasted along with it)."""
    key = key.strip()
    why = key_problem(key) if key else None
    if why:
        raise BadKey(why)
    kr = _keyring()
    if key:
        kr.set_password(SERVICE, GEMINI_USER, key)
    else:
        try:
            kr.delete_password(SERVICE, GEMINI_USER)
        except Exception:  # deleting a key that is not there is fine
            pass

"""The Gemini API key in the OS keyring (never in a settings file or a project).

``GEMINI_API_KEY`` in the environment wins over the keyring, so a key can be given for one
session without storing it.
"""

from __future__ import annotations

import os

SERVICE = "spa2v-studio"
GEMINI_USER = "gemini-api-key"


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


def gemini_key() -> str | None:
    env = os.environ.get("GEMINI_API_KEY")
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
    if os.environ.get("GEMINI_API_KEY"):
        return "environment"
    return "keyring" if gemini_key() else "none"


def store_gemini_key(key: str) -> None:
    """Store (or with an empty key, delete) the key; raises :class:`KeyringUnavailable`."""
    kr = _keyring()
    key = key.strip()
    if key:
        kr.set_password(SERVICE, GEMINI_USER, key)
    else:
        try:
            kr.delete_password(SERVICE, GEMINI_USER)
        except Exception:  # deleting a key that is not there is fine
            pass

"""The kinds of stereo (SPEC section 2): how a recording's left and right were made.

One home for the names: the command line's ``--stereo``, the studio's "How was this
recorded?" choice, the layout's ``extra.stereo`` record, the cue extractor's per-kind
mappings (:mod:`engine.cues.stereo`) and the bench's microphone conditions all use these.

- ``binaural``: a dummy head or in-ear microphones; time and level differences that depend on
  frequency (head shadow grows with frequency, the time difference shrinks a little).
- ``spaced``: two omnidirectional microphones 10-60 cm apart (a phone held sideways, an AB
  pair); time differences, little level difference.
- ``coincident``: an XY or Blumlein pair (most handheld recorders); level differences that
  are the same at every frequency, no time difference.
- ``panned``: a mix made with pan pots (music, games, films); level only, and a pan position
  rather than a physical direction.
"""

from __future__ import annotations

from ..errors import BadInput

STEREO_KINDS = ("binaural", "spaced", "coincident", "panned")
AUTO = "auto"
STEREO_CHOICES = (AUTO,) + STEREO_KINDS
DEFAULT_STEREO = AUTO

# What the studio shows beside each choice (the user's words).
DESCRIPTIONS = {
    AUTO: "Decide from the recording",
    "binaural": "Dummy head or in-ear microphones",
    "spaced": "Two microphones apart (phone held sideways, AB pair)",
    "coincident": "XY or Blumlein pair (handheld recorder)",
    "panned": "A mix made with pan pots (music, games, films)",
}

# Kinds whose channels differ in level only (no time difference).
LEVEL_ONLY = ("coincident", "panned")


def check_stereo(kind: str | None) -> str:
    """The stereo choice ``kind`` (``None`` means the default), or :class:`BadInput`."""
    if kind is None:
        return DEFAULT_STEREO
    k = str(kind).strip().lower()
    if k not in STEREO_CHOICES:
        raise BadInput(f"Unknown kind of stereo {kind!r}; use one of {', '.join(STEREO_CHOICES)}.")
    return k

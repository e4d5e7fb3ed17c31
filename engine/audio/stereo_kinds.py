"""The kinds of stereo (SPEC.md section 2): one home for the names.

``--stereo`` on ``plan``, ``render`` and ``cues`` takes one of :data:`STEREO_CHOICES`; the
studio's "How was this recorded?" choice shows :data:`LABELS` and :data:`DESCRIPTIONS`; the
cue extractor reads each kind with its own mapping (:mod:`engine.cues.stereo`) and records
the kind in the layout (``extra.stereo``); the benchmark's microphones
(:mod:`engine.evaluation.mics`) each name the kind they produce, so a bench figure per kind
and ``--stereo auto``'s decision can be compared with the truth.

========== =================================================================================
binaural   a dummy head or in-ear microphones: time and level differences, both frequency
           dependent
spaced     two omnidirectional microphones 10-60 cm apart (an AB pair, a phone held sideways):
           time differences, little level difference
coincident an XY or Blumlein pair (most handheld recorders): level differences, no time
           difference
panned     a mix made with pan pots (music, games, films): level only; pan ``p`` in [-1, 1]
           reads as ``az = 90 p``, through one of the :data:`PAN_LAWS` (``--pan-law``)
========== =================================================================================
"""

from __future__ import annotations

import numpy as np

from ..errors import BadInput

BINAURAL, SPACED, COINCIDENT, PANNED = "binaural", "spaced", "coincident", "panned"
STEREO_KINDS: tuple[str, ...] = (BINAURAL, SPACED, COINCIDENT, PANNED)
AUTO = "auto"
STEREO_CHOICES: tuple[str, ...] = (AUTO, *STEREO_KINDS)
DEFAULT_STEREO = AUTO

# Where a spaced pair's spacing came from (``extra.stereo.spacing_from``): the user; the
# level differences of directional capsules; the room's diffuse coherence; the largest delay
# heard (a floor above the others); nothing (a typical spacing, and the user is told).
SPACING_ASSUMED = "assumed"
SPACING_SOURCES: tuple[str, ...] = ("given", "levels", "room", "delays", SPACING_ASSUMED)

# Kinds whose channels differ in level only (no time difference).
LEVEL_ONLY: tuple[str, ...] = (COINCIDENT, PANNED)

# What the studio's "How was this recorded?" list calls each choice (short: it sits in a
# toolbar), and "Heard as: ..." the kind auto decided on.
LABELS = {
    AUTO: "Auto-detect",
    BINAURAL: "Dummy head / binaural",
    SPACED: "Spaced pair (phone)",
    COINCIDENT: "Coincident XY / Blumlein",
    PANNED: "Pan-pot mix",
}

# What the studio shows beside each choice (the user's words).
DESCRIPTIONS = {
    AUTO: "Decide from the recording",
    BINAURAL: "Dummy head or in-ear microphones",
    SPACED: "Two microphones apart (phone held sideways, AB pair)",
    COINCIDENT: "XY or Blumlein pair (handheld recorder)",
    PANNED: "A mix made with pan pots (music, games, films)",
}


def check_stereo_kind(kind: str, *, allow_auto: bool = True) -> str:
    """``kind`` lower-cased if it is a known choice; ``ValueError`` naming the choices if not."""
    k = str(kind).strip().lower()
    choices = STEREO_CHOICES if allow_auto else STEREO_KINDS
    if k not in choices:
        raise ValueError(f"unknown kind of stereo {kind!r}; choose from {', '.join(choices)}")
    return k


def check_stereo(kind: str | None) -> str:
    """The user's stereo choice (``None`` means the default, ``auto``), or :class:`BadInput`
    with the same message as :func:`check_stereo_kind`."""
    if kind is None:
        return DEFAULT_STEREO
    try:
        return check_stereo_kind(kind)
    except ValueError as e:
        raise BadInput(f"{str(e)[0].upper()}{str(e)[1:]}.") from None


# A spaced pair's spacing (``--spacing``, metres): SPEC's pairs are 10-60 cm apart; 2 cm to
# 1 m is accepted (a near-coincident pair, a wide AB pair).
MIN_SPACING_M, MAX_SPACING_M = 0.02, 1.0


def check_spacing(spacing_m: float | None) -> float | None:
    """The user's spacing in metres (``None``: not given), or :class:`BadInput` when it is not
    a number between :data:`MIN_SPACING_M` and :data:`MAX_SPACING_M`."""
    if spacing_m is None:
        return None
    try:
        value = float(spacing_m)
    except (TypeError, ValueError):
        value = float("nan")
    if not MIN_SPACING_M <= value <= MAX_SPACING_M:  # also refuses NaN
        raise BadInput(f"--spacing is the distance between the two microphones in metres, "
                       f"from {MIN_SPACING_M:g} to {MAX_SPACING_M:g} (a phone: about 0.15; "
                       f"ORTF: 0.17); got {spacing_m!r}.")
    return value


# A pan-pot mix's pan law (``--pan-law``; ``extra.stereo.pan_law``), named by its level at the
# centre: constant power (-3 dB, ``cos``/``sin``: the default, what ``auto`` assumes), the
# compromise (-4.5 dB, their geometric mean) and linear gains (-6 dB, common in game
# engines). The gains are :func:`pan_law_gains` (below).
PAN_LAWS: tuple[str, ...] = ("-3dB", "-4.5dB", "-6dB")
DEFAULT_PAN_LAW = "-3dB"
# What the studio's pan-law choice shows (only for a pan-pot mix), and beside each.
PAN_LAW_LABELS = {"-3dB": "-3 dB (constant power)", "-4.5dB": "-4.5 dB (compromise)",
                  "-6dB": "-6 dB (linear)"}
PAN_LAW_DESCRIPTIONS = {
    "-3dB": "Constant power: most mixing desks' and editors' default; assumed when not known",
    "-4.5dB": "Between constant power and linear (some desks and editors)",
    "-6dB": "Linear gains, as many game engines mix",
}


def check_pan_law(law: str | None) -> str | None:
    """The user's pan law, one of :data:`PAN_LAWS` (``None``: not given), or
    :class:`BadInput` naming the accepted values. The sign, the unit, case and spaces may be
    left out ("6dB", "-6", "4.5 dB"); the command line joins ``--pan-law -6dB`` before
    argparse sees it (``spa2v_app.cli.common.join_signed_values``)."""
    if law is None:
        return None
    text = str(law).strip().replace(" ", "").lower().lstrip("-")
    text = text[:-2] if text.endswith("db") else text
    for name in PAN_LAWS:
        if text == name.lower().lstrip("-")[:-2]:
            return name
    raise BadInput(f"--pan-law is the level at the centre of the mix's pan law: "
                   f"{', '.join(PAN_LAWS)} (constant power, the default: -3dB; linear, as "
                   f"many game engines: -6dB); got {law!r}.")


def pan_law_gains(pan, law: str = DEFAULT_PAN_LAW) -> tuple[np.ndarray, np.ndarray]:
    """Left and right gains of pan positions ``pan`` in [-1, 1] (-1 hard left) under one of
    :data:`PAN_LAWS`, named by the level at the centre:

    - ``-3dB``, constant power: ``L = cos(theta), R = sin(theta)``, ``theta = (p + 1) pi / 4``
      (``L^2 + R^2 = 1``: a source keeps its loudness wherever it is panned);
    - ``-6dB``, linear: ``L = 1 - u, R = u``, ``u = (p + 1) / 2`` (``L + R = 1``: a source
      keeps its level when the two channels are summed to mono);
    - ``-4.5dB``, the compromise: the geometric mean of the two, ``L = sqrt(cos(theta) (1 -
      u))``, ``R = sqrt(sin(theta) u)``.

    The one home of these formulas (here, beside the laws' names, so that the world bench's
    microphones need no cue module): the cue tables (:mod:`engine.cues.stereo`) read a mix
    through them and the world bench (:mod:`engine.evaluation.mics`) makes its pan-pot mixes
    with them."""
    p = np.clip(np.asarray(pan, dtype=float), -1.0, 1.0)
    law = check_pan_law(law) or DEFAULT_PAN_LAW
    angle = (p + 1.0) * np.pi / 4
    left, right = (1.0 - p) / 2, (1.0 + p) / 2
    if law == "-3dB":
        return np.cos(angle), np.sin(angle)
    if law == "-6dB":
        return left, right
    return np.sqrt(np.cos(angle) * left), np.sqrt(np.sin(angle) * right)

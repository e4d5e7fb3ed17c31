"""Binaural rendering with the MIT KEMAR HRTF: a mono sound along a path around the head.

API (azimuth as in docs/layout-format.md: 0 ahead, +90 right, -90 left):

>>> from engine.binaural import render_binaural, Room
>>> stereo = render_binaural(mono, 44100, azimuth_deg=[60, -60], times_s=[0, 6],
...                          distance_m=3.0, doppler=True, room=Room(rt60_s=0.5))  # doctest: +SKIP

- :func:`render_binaural` ``(mono (n,), sample_rate, *, azimuth_deg, distance_m, times_s,
  doppler, room, hrtf, air_absorption) -> (2, n) float32``.
- :class:`Room` ``(rt60_s, size_m, listener_m, image_order, seed)``: first-order image
  sources and a diffuse tail.
- :func:`default_hrirs` the shipped KEMAR set; :func:`load_sofa` any SOFA
  SimpleFreeFieldHRIR file (horizontal plane), converted to our azimuths.
"""

from .hrtf import KEMAR_CITATION, HrirSet, default_hrirs, load_sofa, wrap_deg
from .render import Room, air_absorption_gain, render_binaural, variable_delay

__all__ = ["KEMAR_CITATION", "HrirSet", "Room", "air_absorption_gain", "default_hrirs",
           "load_sofa", "render_binaural", "variable_delay", "wrap_deg"]

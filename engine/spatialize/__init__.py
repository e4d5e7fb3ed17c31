"""Spatialize: from a layout or a video back to stereo sound, and scores that check the two agree.

- :func:`spatialize_layout` renders mono sounds along their objects' box tracks (binaural with
  the KEMAR HRTF, or constant-power stereo panning) and mixes them;
- :func:`track_object` follows an object through a video (OpenCV), giving a one-object layout;
- :func:`spatialize_job` / :func:`check_job` are the cancellable jobs the CLI and the studio run
  (``spa2v spatialize``, ``spa2v check``); the scores live in
  :mod:`engine.evaluation.agreement`.
"""

from .jobs import check_job, spatialize_job
from .panning import pan_gains, render_panned
from .paths import SourcePath, azimuth_from_x, distance_from_box, path_from_object, x_from_azimuth
from .render import SpatializeSettings, fit_to_duration, normalise_peak, spatialize_layout
from .tracking import ObjectTrack, find_moving_region, parse_box, track_object
from .video import VideoClip, read_video

__all__ = [
    "ObjectTrack", "SourcePath", "SpatializeSettings", "VideoClip", "azimuth_from_x",
    "check_job", "spatialize_job",
    "distance_from_box", "find_moving_region", "fit_to_duration", "normalise_peak", "pan_gains",
    "parse_box", "path_from_object", "read_video", "render_panned", "spatialize_layout",
    "track_object", "x_from_azimuth",
]

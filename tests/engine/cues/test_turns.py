"""Sources that take turns over a long recording: a sound on the left, then one on the
right, then the left one again (a dog that barks, a car later, the dog again) are two
objects, the left one coming back as itself, and none is on screen before it first sounds
(engine.cues.separation._turn_sources, engine.cues.extract._heard_span)."""

import numpy as np
import pytest

from engine.audio.io import Audio
from engine.binaural import render_binaural
from engine.cues.calibration import pink_noise
from engine.cues.extract import extract_cues
from engine.jobs import CancelToken, run_job
from engine.planning.heuristic import HeuristicPlanner
from engine.protocols import PlanRequest
from tests.engine.test_cues_counting import SR, syllables

FPS = 4


def _layout(y, duration_s):
    cues = extract_cues(Audio(np.asarray(y, np.float32), SR),
                        num_frames=int(duration_s * FPS), stereo="binaural")
    return run_job(HeuristicPlanner().plan(PlanRequest(cues=cues), CancelToken()))


def _span(obj):
    seen = obj.visible_frames()
    return seen[0] / FPS, (seen[-1] + 1) / FPS


def _x(obj):
    return float(np.median([c for c in obj.x_centres() if c is not None]))


@pytest.mark.parametrize("left_az,right_az,snr_db", [(-50, 45, None)])
def test_sounds_that_take_turns_are_objects_of_their_own(left_az, right_az, snr_db):
    d = 14.0
    a = syllables(d, seed=2, bursts=[(0.3, 3.5), (10.0, 13.5)])
    b = syllables(d, seed=3, bursts=[(5.0, 8.5)])
    y = (render_binaural(a, SR, azimuth_deg=left_az, distance_m=2.0)
         + render_binaural(b, SR, azimuth_deg=right_az, distance_m=2.0))
    if snr_db is not None:  # noise throughout, in each ear its own
        noise = pink_noise(y.size, np.random.default_rng(9)).reshape(y.shape)
        y = y + 10 ** (-snr_db / 20) * np.std(y) * noise / np.std(noise)
    layout = _layout(y, d)
    # Before: one object that jumped from the left to the right and back.
    assert len(layout.objects) == 2, [(_x(o), _span(o)) for o in layout.objects]
    left, right = sorted(layout.objects, key=_x)
    assert _x(left) < 0.4 and _x(right) > 0.6
    # The left sound comes back as the same object, and it stays through the other's turn.
    l0, l1 = _span(left)
    assert l0 <= 0.5 and l1 >= 13.0
    # The right one is on screen while it sounds, not from the start nor to the end.
    r0, r1 = _span(right)
    assert 4.5 <= r0 <= 5.5 and 8.25 <= r1 <= 9.5, (r0, r1)


def test_one_sound_with_pauses_stays_one_object():
    # One place, three turns with long pauses: no second object.
    d = 14.0
    a = syllables(d, seed=4, bursts=[(0.3, 3.5), (5.0, 8.5), (10.0, 13.5)])
    layout = _layout(render_binaural(a, SR, azimuth_deg=35, distance_m=2.0), d)
    assert len(layout.objects) == 1


def test_a_source_that_takes_turns_is_present_only_from_its_first_turn_to_its_last():
    # Before its first turn and after its last, the mask of a source held at its place
    # holds only the noise and other sounds near it: its box must not be there.
    from engine.cues.extract import _heard_span, _turns
    from engine.cues.separation import SourceSpec
    seen = np.zeros(100, bool)
    seen[[30, 31, 50, 70]] = True
    span = _heard_span(_turns(SourceSpec(np.zeros(100), seen, 0.5, origin="turns")))
    assert np.flatnonzero(span).tolist() == list(range(30, 71))
    assert _turns(SourceSpec(np.zeros(100), seen, 0.5, origin="mix")) is None


class _Recorder:
    """A tagger that keeps what it was given to hear."""

    def __init__(self):
        self.heard = []

    def tag(self, mono, sample_rate, *, top_k=5):
        self.heard.append(np.asarray(mono, float))
        return []


def test_sources_that_take_turns_are_named_from_their_own_turns():
    # A sound on the left (0.3-2.5 s, 7-9.5 s) and, in its pause, a second one passing from
    # the right into the left side (+60 -> -40 degrees, 3-6.5 s: a car passing the dog's
    # side). Each mask is loud in the other's time where the passer nears the left place;
    # the tagger must hear each source's own turns only, the rest quietened in its signal.
    d = 9.8  # under TAG_MAX_S: each tagged signal is the whole clip, time-aligned with it
    a = syllables(d, seed=2, bursts=[(0.3, 2.5), (7.0, 9.5)])
    c = syllables(d, seed=5, bursts=[(3.0, 6.5)])
    path = np.interp(np.arange(c.size) / SR, [3.0, 6.5], [60.0, -40.0])
    y = (render_binaural(a, SR, azimuth_deg=-50, distance_m=2.0)
         + render_binaural(c, SR, azimuth_deg=path, distance_m=2.0))
    rec = _Recorder()
    cues = extract_cues(Audio(np.asarray(y, np.float32), SR), num_frames=int(d * FPS),
                        stereo="binaural", tagger=rec)
    assert len(cues.sources) == 2
    left, passer = (rec.heard[k] for k in np.argsort(
        [np.nanmedian(s.azimuth_deg) for s in cues.sources]))

    def level(y, t0, t1):
        return 10 * np.log10(np.mean(y[int(t0 * SR):int(t1 * SR)] ** 2) + 1e-20)

    # Before: the passer's last second in the left source's signal 6 dB under its own
    # turns, and the left source's return in the passer's 3 dB under the passer.
    assert level(left, 5.6, 6.5) < level(left, 0.5, 2.3) - 20
    assert level(passer, 7.2, 9.3) < level(passer, 3.5, 6.0) - 20

import numpy as np
import pytest

from engine.errors import BadInput
from engine.layout import Layout, LayoutObject
from engine.spatialize.render import (
    SpatializeSettings,
    fit_to_duration,
    normalise_peak,
    spatialize_layout,
)

SR = 22050


def _obj(oid, x, n, label="dog", visible=None):
    w = 0.2
    boxes = [(x - w / 2, 0.5, x + w / 2, 0.72) if (visible is None or visible[i]) else None
             for i in range(n)]
    return LayoutObject(oid, label, f"a {label}", "static", 0.9, boxes)


def _layout(*objects, duration=2.0):
    n = len(objects[0].boxes)
    return Layout(duration, n, n / duration, objects=list(objects))


def _noise(seconds=2.0, seed=0):
    return np.random.default_rng(seed).standard_normal(int(seconds * SR)) * 0.1


def _db(x):
    return 10 * np.log10(np.mean(np.asarray(x, float) ** 2) + 1e-20)


def _band_db(x, f0):
    spec = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(x.size, 1 / SR)
    return 10 * np.log10(spec[(freqs > f0 - 20) & (freqs < f0 + 20)].sum() + 1e-20)


@pytest.mark.parametrize("method", ["stereo", "binaural"])
@pytest.mark.parametrize("x, louder", [(0.1, 0), (0.9, 1)])
def test_object_side_is_the_louder_channel(method, x, louder):
    layout = _layout(_obj(1, x, 4))
    out = spatialize_layout(layout, {1: _noise()}, SR, settings=SpatializeSettings(method=method))
    assert out.shape == (2, 2 * SR)
    assert _db(out[louder]) - _db(out[1 - louder]) > 6


@pytest.mark.parametrize("x, leading", [(0.1, 0), (0.9, 1)])
def test_hrtf_near_ear_hears_it_first(x, leading):
    """KEMAR: at +-72 degrees the far ear is about 0.6 ms late."""
    layout = _layout(_obj(1, x, 4))
    out = spatialize_layout(layout, {1: _noise()}, SR)
    far, near = out[1 - leading].astype(float), out[leading].astype(float)
    n = far.size
    spec = np.fft.rfft(far, 2 * n) * np.conj(np.fft.rfft(near, 2 * n))
    cc = np.fft.irfft(spec / (np.abs(spec) + 1e-12))
    max_lag = int(0.0012 * SR)
    lags = np.r_[np.arange(0, max_lag + 1), np.arange(-max_lag, 0)]
    cc = np.r_[cc[:max_lag + 1], cc[-max_lag:]]
    delay_ms = lags[np.argmax(cc)] / SR * 1000  # far ear behind the near one
    assert 0.4 < delay_ms < 0.9


def test_two_objects_each_with_its_own_sound_land_on_their_sides():
    t = np.arange(2 * SR) / SR
    low, high = 0.2 * np.sin(2 * np.pi * 300 * t), 0.2 * np.sin(2 * np.pi * 2000 * t)
    layout = _layout(_obj(1, 0.1, 4), _obj(2, 0.9, 4, label="bird"))
    out = spatialize_layout(layout, {1: low, 2: high}, SR,
                            settings=SpatializeSettings(method="stereo"))
    assert _band_db(out[0], 300) - _band_db(out[1], 300) > 10
    assert _band_db(out[1], 2000) - _band_db(out[0], 2000) > 10


def test_silent_where_the_object_is_off_screen():
    layout = _layout(_obj(1, 0.5, 4, visible=[False, True, True, False]))
    out = spatialize_layout(layout, {1: _noise()}, SR, settings=SpatializeSettings(method="stereo"))
    q = SR // 2
    assert np.abs(out[:, :q - 500]).max() == 0 and np.abs(out[:, 3 * q + 500:]).max() == 0
    assert _db(out[:, q + 500:3 * q - 500]) > -40


def test_normalisation_hits_the_peak_and_never_clips():
    loud = _noise() * 50  # far beyond full scale
    out = spatialize_layout(_layout(_obj(1, 0.3, 4)), {1: loud}, SR)
    assert np.abs(out).max() == pytest.approx(10 ** (-1 / 20), rel=1e-5)
    quiet = np.full((2, 100), 0.01)
    assert np.abs(normalise_peak(quiet, normalize=False)).max() == pytest.approx(0.01)
    assert np.abs(normalise_peak(quiet * 200, normalize=False)).max() == pytest.approx(10 ** (-1 / 20))
    with pytest.raises(BadInput, match="silent"):
        normalise_peak(np.zeros((2, 10)))


def test_mismatched_durations_are_refused_unless_looping():
    short = _noise(1.0)
    with pytest.raises(BadInput, match="1.0 s long but the clip is 4.0 s"):
        fit_to_duration(short, SR, 4.0, name="bark.wav")
    looped = fit_to_duration(short, SR, 4.0, fit="loop")
    assert looped.size == 4 * SR
    assert _db(looped[-SR // 2:]) == pytest.approx(_db(short), abs=1.5)  # no gap at the end
    # Within tolerance (0.5 s or 5 %): padded or trimmed silently.
    assert fit_to_duration(_noise(3.8), SR, 4.0).size == 4 * SR
    assert fit_to_duration(_noise(4.3), SR, 4.0).size == 4 * SR


def test_bad_settings_and_sound_lengths_are_refused():
    with pytest.raises(BadInput, match="Unknown spatialize method"):
        SpatializeSettings(method="surround").validate()
    with pytest.raises(BadInput, match="RT60"):
        SpatializeSettings(room_rt60_s=9.0).validate()
    with pytest.raises(BadInput, match="samples"):
        spatialize_layout(_layout(_obj(1, 0.3, 4)), {1: _noise(1.0)}, SR)
    with pytest.raises(BadInput, match="No object"):
        spatialize_layout(_layout(_obj(1, 0.3, 4)), {7: _noise()}, SR)


def test_room_adds_a_tail_after_the_sound_stops():
    layout = _layout(_obj(1, 0.3, 4, visible=[True, True, False, False]))
    for method in ("stereo", "binaural"):
        dry = spatialize_layout(layout, {1: _noise()}, SR,
                                settings=SpatializeSettings(method=method, normalize=False))
        wet = spatialize_layout(layout, {1: _noise()}, SR,
                                settings=SpatializeSettings(method=method, room_rt60_s=0.8,
                                                            normalize=False))
        window = slice(int(1.1 * SR), int(1.3 * SR))
        assert _db(wet[:, window]) - _db(dry[:, window]) > 20

"""The log-mel front end's input checks and arithmetic that the reference comparison in
test_features.py does not reach: refusals, padding content, the mel formula, caching."""

from __future__ import annotations

import numpy as np
import pytest

from engine.audio import features

SR = features.YAMNET_SAMPLE_RATE


def test_hz_to_mel_is_htk():
    assert features.hz_to_mel(0.0) == 0.0
    assert features.hz_to_mel(700.0) == pytest.approx(1127.0 * np.log(2.0))
    np.testing.assert_allclose(features.hz_to_mel(np.array([1000.0, 4000.0])),
                               1127.0 * np.log1p(np.array([1000.0, 4000.0]) / 700.0))


@pytest.mark.parametrize("kw", [dict(fmin_hz=-1.0), dict(fmin_hz=7500.0),
                                dict(fmin_hz=8000.0, fmax_hz=7000.0), dict(fmax_hz=8001.0)])
def test_mel_filterbank_refuses_bands_outside_nyquist(kw):
    with pytest.raises(ValueError, match="Nyquist"):
        features.mel_filterbank(**kw)


def test_mel_filterbank_edges_are_allowed_and_triangles_peak_at_one():
    fb = features.mel_filterbank(fmin_hz=0.0, fmax_hz=SR / 2, n_mels=8, fft_size=64)
    assert fb.shape == (33, 8)
    assert np.all(fb >= 0) and np.all(fb.max(axis=0) <= 1.0 + 1e-12)
    assert np.all(fb.max(axis=0) > 0.5)  # every band catches at least one bin near its peak
    assert np.all(np.diff(np.argmax(fb, axis=0)) > 0)  # bands go up in frequency


@pytest.mark.parametrize("x", [np.zeros(399, np.float32), np.zeros((2, 1000), np.float32)])
def test_spectrogram_needs_one_window_of_mono(x):
    with pytest.raises(ValueError, match="at least 400 samples"):
        features.magnitude_spectrogram(x)


def test_spectrogram_frame_count_and_hop():
    x = np.zeros(400 + 160 * 5 + 159, np.float32)
    assert features.magnitude_spectrogram(x).shape == (6, 257)
    # an impulse shows up in the frames whose window covers it, and only there
    at = 730
    x[at] = 1.0
    energy = features.magnitude_spectrogram(x).sum(axis=1)
    covering = [k for k in range(6) if 160 * k <= at < 160 * k + 400]  # frames 3 and 4
    assert list(np.flatnonzero(energy > 1e-6)) == covering == [3, 4]


def test_periodic_hann_window_tiles_at_half_overlap():
    w = features._periodic_hann(400)
    assert w[0] == 0.0 and w[200] == pytest.approx(1.0)
    np.testing.assert_allclose(w[:200] + w[200:], 1.0, atol=1e-6)


def test_log_offset_is_applied():
    x = np.zeros(SR // 2, np.float32)
    np.testing.assert_allclose(features.log_mel_spectrogram(x, log_offset=0.5), np.log(0.5),
                               rtol=1e-6)


@pytest.mark.parametrize("n, total", [(0, 15600), (100, 15600), (15600, 15600),
                                      (15601, 15600 + 7680), (15600 + 7680, 15600 + 7680)])
def test_padding_keeps_the_input_and_adds_zeros(n, total):
    x = np.linspace(0.1, 0.9, n).astype(np.float32)
    padded = features.pad_for_patches(x)
    assert padded.shape == (total,) and padded.dtype == np.float32
    np.testing.assert_array_equal(padded[:n], x)
    assert np.all(padded[n:] == 0.0)


def test_frame_patches_refuses_too_few_frames_or_wrong_rank():
    with pytest.raises(ValueError, match="frames >= 96"):
        features.frame_patches(np.zeros((95, 64), np.float32))
    with pytest.raises(ValueError, match="frames >= 96"):
        features.frame_patches(np.zeros((200,), np.float32))
    one = features.frame_patches(np.zeros((96, 64), np.float32))
    assert one.shape == (1, 1, 96, 64)
    custom = features.frame_patches(np.arange(20 * 3, dtype=np.float32).reshape(20, 3),
                                    patch_frames=10, hop_frames=5)
    assert custom.shape == (3, 1, 10, 3)
    np.testing.assert_array_equal(custom[1, 0], np.arange(20 * 3).reshape(20, 3)[5:15])


def test_resampling_edge_cases():
    x = np.linspace(-0.5, 0.5, 1000).astype(np.float32)
    same = features.resample_mono(x, SR)
    np.testing.assert_array_equal(same, x)
    assert features.resample_mono(np.zeros(0, np.float32), 44100).shape == (0,)
    down = features.resample_mono(np.zeros(44100, np.float32), 44100, target_rate=8000)
    assert down.shape == (8000,) and down.dtype == np.float32


@pytest.mark.parametrize("rate", [0, -16000, 16000.0, "16000"])
def test_sample_rate_must_be_a_positive_integer(rate):
    with pytest.raises(ValueError, match="sample_rate"):
        features.resample_mono(np.zeros(100, np.float32), rate)


def test_numpy_integer_rates_are_accepted():
    out = features.resample_mono(np.zeros(100, np.float32), np.int64(SR))
    assert out.shape == (100,)


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_non_finite_samples_are_refused(bad):
    x = np.zeros(100, np.float32)
    x[50] = bad
    with pytest.raises(ValueError, match="NaN or infinity"):
        features.resample_mono(x, SR)


def test_the_filterbank_is_built_once():
    a = features._yamnet_filterbank()
    assert a is features._yamnet_filterbank()
    assert a.dtype == np.float32 and a.shape == (257, 64)
    np.testing.assert_allclose(a, features.mel_filterbank(), atol=1e-6)


# -- what the mutation run of features.py found untested (docs/testing.md) ------------------

def test_outputs_are_float32_whatever_comes_in():
    x64 = np.random.default_rng(0).standard_normal(SR).astype(np.float64) * 0.1
    assert features.magnitude_spectrogram(x64).dtype == np.float32
    assert features.log_mel_spectrogram(x64).dtype == np.float32
    assert features.frame_patches(np.zeros((96, 64), np.float64)).dtype == np.float32
    assert features.yamnet_patches(x64, SR).dtype == np.float32


def test_one_window_is_enough_for_one_frame():
    assert features.magnitude_spectrogram(np.zeros(400, np.float32)).shape == (1, 257)


def test_the_log_offset_reaches_the_patches():
    patches = features.yamnet_patches(np.zeros(SR, np.float32), SR, log_offset=0.5)
    np.testing.assert_allclose(patches, np.log(0.5), rtol=1e-6)


def test_the_smallest_positive_rate_is_accepted():
    x = np.zeros(10, np.float32)
    np.testing.assert_array_equal(features.resample_mono(x, 1, target_rate=1), x)


def test_non_finite_message_is_exact():
    with pytest.raises(ValueError, match=r"^samples contain NaN or infinity$"):
        features.resample_mono(np.array([np.nan], np.float32), SR)


def test_the_filterbank_cache_is_filled_once(monkeypatch):
    monkeypatch.setattr(features, "_FILTERBANK", None)
    a = features._yamnet_filterbank()
    assert a is features._yamnet_filterbank() and a.dtype == np.float32

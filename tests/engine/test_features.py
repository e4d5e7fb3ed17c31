"""The YAMNet log-mel front end against an independent reference and the patch arithmetic."""

from __future__ import annotations

import numpy as np
import pytest

from engine.audio import features

librosa = pytest.importorskip("librosa")

SR = features.YAMNET_SAMPLE_RATE


def _reference_log_mel(x: np.ndarray) -> np.ndarray:
    """Log-mel by the book: librosa's HTK filters (built on the Hz axis) times a direct DFT
    (an explicit complex basis, no FFT) of periodic-Hann windowed 400-sample frames."""
    n = np.arange(features.WINDOW_SAMPLES)
    k = np.arange(features.FFT_SIZE // 2 + 1)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * n / features.WINDOW_SAMPLES)
    basis = np.exp(-2j * np.pi * np.outer(n, k) / features.FFT_SIZE) * window[:, None]
    count = 1 + (len(x) - features.WINDOW_SAMPLES) // features.HOP_SAMPLES
    frames = np.stack([x[i * 160:i * 160 + 400] for i in range(count)]).astype(np.float64)
    mel = librosa.filters.mel(sr=SR, n_fft=512, n_mels=64, fmin=125.0, fmax=7500.0,
                              htk=True, norm=None).T
    return np.log(np.abs(frames @ basis) @ mel + 0.001)


def test_filterbank_matches_librosa_htk_within_a_hundredth():
    ours = features.mel_filterbank()
    ref = librosa.filters.mel(sr=SR, n_fft=512, n_mels=64, fmin=125.0, fmax=7500.0,
                              htk=True, norm=None).T
    assert ours.shape == ref.shape == (257, 64)
    # Mel-axis vs Hz-axis triangles differ slightly; both peak near 1 and cover the same bins.
    np.testing.assert_allclose(ours, ref, atol=0.01)
    assert np.mean((ours > 0) != (ref > 0)) < 0.005  # the same bins, bar an edge or two
    assert ours[0].sum() == 0.0 and ours[-1].sum() == 0.0  # DC and 8 kHz lie outside the bands


@pytest.mark.parametrize("kind", ["noise", "chirp"])
def test_log_mel_matches_direct_dft_reference(kind):
    rng = np.random.default_rng(7)
    t = np.arange(int(1.3 * SR)) / SR
    if kind == "noise":
        x = 0.1 * rng.standard_normal(t.size)
    else:
        x = 0.5 * np.sin(2 * np.pi * (200 * t + 2000 * t ** 2))
    x = x.astype(np.float32)
    ours = features.log_mel_spectrogram(x)
    ref = _reference_log_mel(x)
    assert ours.shape == ref.shape == (1 + (x.size - 400) // 160, 64)
    # The quantized model sees steps of 0.048 in log units; agreement is far finer.
    assert np.max(np.abs(ours - ref)) < 0.02


def test_tone_lands_in_the_right_mel_band():
    t = np.arange(SR) / SR
    log_mel = features.log_mel_spectrogram((0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32))
    centres_hz = 700 * np.expm1(np.linspace(features.hz_to_mel(125), features.hz_to_mel(7500),
                                            66)[1:-1] / 1127)
    loudest = int(np.argmax(log_mel.mean(axis=0)))
    assert abs(centres_hz[loudest] - 1000) < 60
    # A 0.5 amplitude tone on bin 32: |X| = 0.5 * sum(window) / 2 = 50 there and 25 on each
    # neighbour (Hann's main lobe); with triangle weights <= 1 the band holds 50 to 100.
    assert np.log(50) < log_mel[:, loudest].mean() < np.log(100)


def test_silence_is_the_log_offset():
    log_mel = features.log_mel_spectrogram(np.zeros(SR, np.float32))
    np.testing.assert_allclose(log_mel, np.log(0.001), rtol=1e-6)


@pytest.mark.parametrize("seconds, patches", [(0.1, 1), (0.975, 1), (0.976, 2), (1.455, 2),
                                              (1.456, 3), (10.0, 20), (30.0, 62)])
def test_patch_count_follows_yamnet_padding(seconds, patches):
    x = np.full(int(round(seconds * SR)), 0.01, np.float32)
    out = features.yamnet_patches(x, SR)
    assert out.shape == (patches, 1, 96, 64)
    assert out.dtype == np.float32 and out.flags.c_contiguous
    expected = 1 + int(np.ceil(max(0.0, x.size - 15600) / 7680))
    assert patches == expected


def test_patches_hop_by_48_frames():
    log_mel = np.arange(300 * 64, dtype=np.float32).reshape(300, 64)
    patches = features.frame_patches(log_mel)
    assert patches.shape == (1 + (300 - 96) // 48, 1, 96, 64)
    np.testing.assert_array_equal(patches[0, 0], log_mel[:96])
    np.testing.assert_array_equal(patches[2, 0], log_mel[96:192])
    np.testing.assert_array_equal(features.patch_start_times_s(3), [0.0, 0.48, 0.96])


def test_resampling_keeps_a_tone_and_its_length():
    sr = 44100
    t = np.arange(2 * sr) / sr
    x = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    y = features.resample_mono(x, sr)
    assert y.dtype == np.float32 and y.shape == (2 * SR,)
    spectrum = np.abs(np.fft.rfft(y))
    assert abs(np.argmax(spectrum) * SR / y.size - 440) < 1.0
    # Patches from 44.1 kHz and from 16 kHz input agree (soxr is transparent below 7.5 kHz).
    t16 = np.arange(2 * SR) / SR
    direct = features.yamnet_patches((0.5 * np.sin(2 * np.pi * 440 * t16)).astype(np.float32), SR)
    assert np.max(np.abs(features.yamnet_patches(x, sr)[:, :, 5:-5] - direct[:, :, 5:-5])) < 0.05


@pytest.mark.parametrize("bad, sr, match", [
    (np.zeros((2, 100), np.float32), SR, "shape"),
    (np.array([0.0, np.nan], np.float32), SR, "NaN"),
    (np.zeros(100, np.float32), 0, "sample_rate"),
])
def test_bad_input_is_named(bad, sr, match):
    with pytest.raises(ValueError, match=match):
        features.yamnet_patches(bad, sr)

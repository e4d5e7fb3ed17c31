"""The log-mel front end that YAMNet-family sound taggers expect, in numpy.

YAMNet (Google, trained on AudioSet) listens to 0.96 s "patches" of a 64-band log-mel
spectrogram computed at 16 kHz: 25 ms periodic-Hann windows every 10 ms, a 512-point FFT,
magnitude (not power), HTK mel bands from 125 to 7500 Hz, and ``log(mel + 0.001)``. Patches are
96 frames long and hop by 48 frames (0.48 s). The model's weights were learned on exactly this
front end, so every constant here is part of the model's contract, not a tuning knob.

The mel filter bank follows TensorFlow's ``linear_to_mel_weight_matrix`` (the original YAMNet
front end): triangles are built on the mel axis, not on the Hz axis as librosa and torchaudio
do. The two differ by less than the model's 8-bit input step (see the tests).
"""

from __future__ import annotations

import numpy as np

YAMNET_SAMPLE_RATE = 16000
WINDOW_SAMPLES = 400  # 25 ms at 16 kHz
HOP_SAMPLES = 160  # 10 ms at 16 kHz: 100 spectrogram frames per second
FFT_SIZE = 512  # next power of two above the window
MEL_BANDS = 64
MEL_FMIN_HZ = 125.0
MEL_FMAX_HZ = 7500.0
LOG_OFFSET = 0.001  # YAMNet's; also the bottom of the quantized model's input range (ln 0.001)
PATCH_FRAMES = 96  # 0.96 s
PATCH_HOP_FRAMES = 48  # 0.48 s


def resample_mono(mono: np.ndarray, sample_rate: int, *,
                  target_rate: int = YAMNET_SAMPLE_RATE) -> np.ndarray:
    """Resample a mono signal to ``target_rate`` (soxr, high quality).

    Parameters
    ----------
    mono : np.ndarray [shape=(n,)]
        Samples in [-1, 1].
    sample_rate : int
        Rate of ``mono`` in Hz.
    target_rate : int
        Wanted rate in Hz; 16000 is what YAMNet was trained at.

    Returns
    -------
    np.ndarray [shape=(round(n * target_rate / sample_rate),), dtype=float32]
    """
    mono = _check_mono(mono, sample_rate)
    if sample_rate == target_rate or mono.size == 0:
        return mono
    import soxr  # a core dependency; imported here so that importing this module stays cheap

    return np.ascontiguousarray(soxr.resample(mono, sample_rate, target_rate), dtype=np.float32)


def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    """HTK mel scale: ``1127 ln(1 + hz / 700)``."""
    return 1127.0 * np.log1p(np.asarray(hz, dtype=np.float64) / 700.0)


def mel_filterbank(*, sample_rate: int = YAMNET_SAMPLE_RATE, fft_size: int = FFT_SIZE,
                   n_mels: int = MEL_BANDS, fmin_hz: float = MEL_FMIN_HZ,
                   fmax_hz: float = MEL_FMAX_HZ) -> np.ndarray:
    """Triangular HTK mel filters with unit peak (no area normalisation), built on the mel axis.

    Parameters
    ----------
    sample_rate : int
        Rate of the signal the spectrum came from, in Hz.
    fft_size : int
        FFT length; the spectrum has ``fft_size // 2 + 1`` bins.
    n_mels : int
        Number of mel bands.
    fmin_hz, fmax_hz : float
        Lower edge of the first band and upper edge of the last band, in Hz.

    Returns
    -------
    np.ndarray [shape=(fft_size // 2 + 1, n_mels), dtype=float64]
        Multiply a magnitude spectrum ``(frames, bins)`` by this to get ``(frames, n_mels)``.
    """
    if not 0 <= fmin_hz < fmax_hz <= sample_rate / 2:
        raise ValueError(f"need 0 <= fmin_hz < fmax_hz <= Nyquist, got {fmin_hz}, {fmax_hz} "
                         f"at {sample_rate} Hz")
    n_bins = fft_size // 2 + 1
    bin_mel = hz_to_mel(np.linspace(0.0, sample_rate / 2, n_bins))[:, None]
    edges = np.linspace(hz_to_mel(fmin_hz), hz_to_mel(fmax_hz), n_mels + 2)
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bin_mel - lower) / (centre - lower)
    falling = (upper - bin_mel) / (upper - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights[0] = 0.0  # the DC bin carries no sound a listener would name
    return weights


def magnitude_spectrogram(mono16k: np.ndarray) -> np.ndarray:
    """Short-time magnitude spectrum, uncentred (the first window starts at sample 0).

    Parameters
    ----------
    mono16k : np.ndarray [shape=(n,)]
        Mono samples at 16 kHz, ``n >= 400``.

    Returns
    -------
    np.ndarray [shape=(1 + (n - 400) // 160, 257), dtype=float32]
    """
    x = np.asarray(mono16k, dtype=np.float32)
    if x.ndim != 1 or x.size < WINDOW_SAMPLES:
        raise ValueError(f"need a 1-D signal of at least {WINDOW_SAMPLES} samples, got shape "
                         f"{x.shape}")
    frames = np.lib.stride_tricks.sliding_window_view(x, WINDOW_SAMPLES)[::HOP_SAMPLES]
    return np.abs(np.fft.rfft(frames * _periodic_hann(WINDOW_SAMPLES), n=FFT_SIZE,
                              axis=-1)).astype(np.float32)


def log_mel_spectrogram(mono16k: np.ndarray, *, log_offset: float = LOG_OFFSET) -> np.ndarray:
    """YAMNet's log-mel spectrogram of a 16 kHz mono signal.

    Parameters
    ----------
    mono16k : np.ndarray [shape=(n,)]
        Mono samples at 16 kHz in [-1, 1], ``n >= 400``.
    log_offset : float
        Added before the natural log so that silence stays finite (YAMNet: 0.001).

    Returns
    -------
    np.ndarray [shape=(1 + (n - 400) // 160, 64), dtype=float32]
        One row per 10 ms frame.
    """
    mel = magnitude_spectrogram(mono16k) @ _yamnet_filterbank()
    return np.log(mel + log_offset).astype(np.float32)


def pad_for_patches(mono16k: np.ndarray) -> np.ndarray:
    """Zero-pad a 16 kHz signal so it yields at least one patch and the last patch is whole.

    YAMNet pads this way too: a clip shorter than a patch is padded up to one patch
    (0.975 s = 96 frames + the window overhang), and a longer clip is padded up to the next
    whole 0.48 s hop, so its tail is heard rather than dropped.

    Parameters
    ----------
    mono16k : np.ndarray [shape=(n,)]

    Returns
    -------
    np.ndarray [shape=(15600 + 7680 * k,)]
        ``k = ceil(max(0, n - 15600) / 7680)``; the input followed by zeros.
    """
    x = np.asarray(mono16k, dtype=np.float32)
    first = (PATCH_FRAMES - 1) * HOP_SAMPLES + WINDOW_SAMPLES  # 15600 samples
    hop = PATCH_HOP_FRAMES * HOP_SAMPLES  # 7680 samples
    hops = -(-max(0, x.size - first) // hop)
    return np.pad(x, (0, first + hops * hop - x.size))


def frame_patches(log_mel: np.ndarray, *, patch_frames: int = PATCH_FRAMES,
                  hop_frames: int = PATCH_HOP_FRAMES) -> np.ndarray:
    """Cut a log-mel spectrogram into overlapping patches in the model's NCHW layout.

    Parameters
    ----------
    log_mel : np.ndarray [shape=(frames, bands)]
        ``frames >= patch_frames``; trailing frames that do not fill a patch are dropped
        (:func:`pad_for_patches` avoids that).
    patch_frames, hop_frames : int
        Patch length and hop in frames (96 and 48 = 0.96 s and 0.48 s).

    Returns
    -------
    np.ndarray [shape=(1 + (frames - patch_frames) // hop_frames, 1, patch_frames, bands)]
        A contiguous float32 copy.
    """
    log_mel = np.asarray(log_mel, dtype=np.float32)
    if log_mel.ndim != 2 or log_mel.shape[0] < patch_frames:
        raise ValueError(f"need (frames >= {patch_frames}, bands), got shape {log_mel.shape}")
    windows = np.lib.stride_tricks.sliding_window_view(log_mel, patch_frames, axis=0)
    # sliding_window_view puts the window axis last: (n, bands, patch) -> (n, 1, patch, bands)
    return np.ascontiguousarray(windows[::hop_frames].transpose(0, 2, 1)[:, None])


def yamnet_patches(mono: np.ndarray, sample_rate: int, *,
                   log_offset: float = LOG_OFFSET) -> np.ndarray:
    """Everything between a mono recording and YAMNet's input.

    Parameters
    ----------
    mono : np.ndarray [shape=(n,)]
        Samples in [-1, 1] at any rate; resampled to 16 kHz.
    sample_rate : int
        Rate of ``mono`` in Hz.
    log_offset : float
        See :func:`log_mel_spectrogram`.

    Returns
    -------
    np.ndarray [shape=(num_patches, 1, 96, 64), dtype=float32]
        Patch ``i`` starts at ``0.48 * i`` seconds and covers 0.96 s (0.975 s of samples).
        ``num_patches = 1 + ceil(max(0, seconds - 0.975) / 0.48)``.
    """
    mono16k = pad_for_patches(resample_mono(mono, sample_rate))
    return frame_patches(log_mel_spectrogram(mono16k, log_offset=log_offset))


def patch_start_times_s(num_patches: int) -> np.ndarray:
    """Start time of each patch in seconds, ``(num_patches,)``."""
    return np.arange(num_patches) * (PATCH_HOP_FRAMES * HOP_SAMPLES / YAMNET_SAMPLE_RATE)


_FILTERBANK: np.ndarray | None = None


def _yamnet_filterbank() -> np.ndarray:
    global _FILTERBANK
    if _FILTERBANK is None:
        _FILTERBANK = mel_filterbank().astype(np.float32)
    return _FILTERBANK


def _periodic_hann(n: int) -> np.ndarray:
    # Periodic (not symmetric) Hann, as tf.signal.stft uses: the window tiles at 50 % overlap.
    return (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)).astype(np.float32)


def _check_mono(mono: np.ndarray, sample_rate: int) -> np.ndarray:
    x = np.asarray(mono, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"need mono samples of shape (n,), got shape {x.shape}")
    if not (isinstance(sample_rate, (int, np.integer)) and sample_rate > 0):
        raise ValueError(f"sample_rate must be a positive integer, got {sample_rate!r}")
    if not np.all(np.isfinite(x)):
        raise ValueError("samples contain NaN or infinity")
    return x

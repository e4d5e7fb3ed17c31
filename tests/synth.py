"""Synthetic test signals with a known answer (seeded)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

HEAD_RADIUS_M = 0.0875
C = 343.0


def panned_noise(azimuth_deg, *, duration_s: float = 2.0, sr: int = 44100, seed: int = 0,
                 level: float = 0.1) -> np.ndarray:
    """White noise placed at ``azimuth_deg`` (scalar, or (start, end) for a linear sweep) with a
    spherical-head time difference and a level difference. Returns float32 (2, n); +az = right."""
    n = int(duration_s * sr)
    rng = np.random.default_rng(seed)
    src = rng.standard_normal(n) * level
    if np.ndim(azimuth_deg) == 0:
        az = np.full(n, float(azimuth_deg))
    else:
        az = np.linspace(azimuth_deg[0], azimuth_deg[1], n)
    rad = np.radians(az)
    itd = HEAD_RADIUS_M / C * (rad + np.sin(rad))  # > 0: source on the right, left ear late
    t = np.arange(n) / sr
    left = np.interp(t - np.clip(itd, 0, None), t, src)
    right = np.interp(t - np.clip(-itd, 0, None), t, src)
    gain = 10 ** (az / 90 * 6 / 20)
    return np.stack([left / np.sqrt(gain), right * np.sqrt(gain)]).astype(np.float32)


def write_wav(path: Path, samples: np.ndarray, sr: int = 44100, subtype: str = "FLOAT") -> Path:
    sf.write(str(path), np.asarray(samples).T, sr, subtype=subtype)
    return path


# Every input format the README lists, with the codec and container that make it.
AUDIO_FORMATS = {
    ".wav": None, ".flac": None, ".ogg": None, ".aiff": None,  # libsndfile
    ".mp3": ("libmp3lame", "mp3"), ".m4a": ("aac", "ipod"), ".aac": ("aac", "adts"),
    ".opus": ("libopus", "ogg"),
}


def write_audio_as(path: Path, samples: np.ndarray, sr: int = 44100) -> Path:
    """Write ``(channels, n)`` float samples in the format ``path``'s suffix names (the
    compressed ones through PyAV, the way other apps make them). Opus only takes 48 kHz."""
    path = Path(path)
    codec = AUDIO_FORMATS[path.suffix.lower()]
    x = np.ascontiguousarray(samples, dtype=np.float32)
    if codec is None:
        sf.write(str(path), x.T, sr)
        return path
    import av
    layout = "mono" if x.shape[0] == 1 else "stereo"
    with av.open(str(path), "w", format=codec[1]) as c:
        stream = c.add_stream(codec[0], rate=sr)
        stream.layout = layout
        cc = stream.codec_context
        resampler = av.AudioResampler(format=cc.format.name, layout=layout, rate=sr)
        fifo = av.AudioFifo()
        frame = av.AudioFrame.from_ndarray(x, format="fltp", layout=layout)
        frame.sample_rate, frame.pts = sr, 0
        for f in resampler.resample(frame) + resampler.resample(None):
            fifo.write(f)
        size = cc.frame_size or 1024
        while fifo.samples:
            for packet in stream.encode(fifo.read(min(size, fifo.samples))):
                c.mux(packet)
        for packet in stream.encode(None):
            c.mux(packet)
    return path


def two_swelling_noises(sr: int = 16000, *, duration_s: float = 4.0
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Two mono sounds that share no band: a low filtered noise (< 900 Hz) and a high one
    (> 2500 Hz). Everyday sources swell and fade on their own schedules (here 1.3 and 2.1 Hz),
    which the separation uses."""
    from scipy.signal import butter, sosfilt

    rng = np.random.default_rng(3)
    n = int(duration_s * sr)
    t = np.arange(n) / sr
    low = sosfilt(butter(4, 900, "lowpass", fs=sr, output="sos"), rng.standard_normal(n))
    low *= 0.3 * (1.2 + np.sin(2 * np.pi * 1.3 * t))
    high = sosfilt(butter(4, 2500, "highpass", fs=sr, output="sos"), rng.standard_normal(n))
    high *= 0.1 * (1.2 + np.sin(2 * np.pi * 2.1 * t + 1.0))
    return low, high


def two_binaural_sources(sr: int = 16000, *, duration_s: float = 4.0) -> np.ndarray:
    """``(2, n)`` binaural mix of :func:`two_swelling_noises` through the KEMAR HRIRs: the low
    one at -50 degrees and the high one at +40, 2 m away."""
    from engine.binaural import render_binaural
    low, high = two_swelling_noises(sr, duration_s=duration_s)
    return (render_binaural(low, sr, azimuth_deg=-50, distance_m=2.0)
            + render_binaural(high, sr, azimuth_deg=40, distance_m=2.0))


def within(y: np.ndarray, spans, sr: int) -> np.ndarray:
    """``y`` kept only within ``spans`` (``[(start_s, stop_s), ...]``), silent elsewhere;
    ``spans`` ``None``: ``y`` as it is."""
    if spans is None:
        return y
    keep = np.zeros(len(y), bool)
    for a, b in spans:
        keep[int(a * sr):int(b * sr)] = True
    return np.where(keep, y, 0.0)

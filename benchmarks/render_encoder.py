"""The preview video's encoder settings: speed, file size and quality of each choice.

The frames of one preview video are drawn once (the current renderer, the plan of
``render_preview.make_plan``), then written by :class:`engine.export.mp4.Mp4Writer` with each
x264 setting below, video only, alternating between settings on each repeat. Printed per
setting: wall and CPU seconds of the writer (CPU = user + system of the whole process, x264's
threads included), the file's size and its PSNR against the frames handed to the encoder
(in YUV 4:2:0, so the colour conversion every setting shares is not counted; "all" averages
the squared error over Y, U and V samples, "Y" is luma only). Then the sound: the clip's
audio written with each AAC coder (beside one black frame per second, so nearly all the work
is the sound's), with its SNR and log-spectral distance against the source.

    .venv/bin/python benchmarks/render_encoder.py [--repeat 3] [--audio FILE --hint "a jet"]

The settings chosen for export live in ``engine/export/mp4.py`` (``EncoderSettings``); the
row marked ``<- export`` is them.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

OLD = dict(threads="SLICE", aac_coder="twoloop")  # the settings before issue 17's last round


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def video_settings():
    from engine.export.mp4 import EncoderSettings
    now = EncoderSettings()
    rows = [("before: veryfast dia/subme1, slice threads, crf 20", replace(now, **OLD)),
            ("veryfast dia/subme1, frame threads, crf 20  <- export", now),
            ("veryfast (its own search), frame threads, crf 20", replace(now, x264_params="")),
            ("superfast, frame threads, crf 24", replace(now, preset="superfast", x264_params="",
                                                        crf=24)),
            ("ultrafast, frame threads, crf 24", replace(now, preset="ultrafast", x264_params="",
                                                        crf=24))]
    return rows


def draw_frames(layout, audio: Path):
    from engine.jobs import CancelToken
    from engine.protocols import Frame, RenderSettings
    from engine.rendering.activity import read_loudness_track
    from engine.rendering.preview import PreviewRenderer

    settings = replace(RenderSettings(), loudness=read_loudness_track(audio))
    return [e.image for e in PreviewRenderer().render(layout, settings, CancelToken())
            if isinstance(e, Frame)], settings.fps


def write_video(frames, fps: float, out: Path, encoder, duration_s: float) -> tuple[float, float]:
    from engine.export.mp4 import Mp4Writer
    start, cpu = time.perf_counter(), cpu_s()
    h, w = frames[0].shape[:2]
    with Mp4Writer(out, fps=fps, size=(w, h), audio_path=None, duration_s=duration_s,
                   encoder=encoder) as writer:
        for image in frames:
            writer.write(image)
    return time.perf_counter() - start, cpu_s() - cpu


def psnr(frames, path: Path) -> tuple[float, float]:
    """PSNR (all planes, luma) of the decoded video against the frames as I420."""
    import av
    import cv2
    import numpy as np
    se = se_y = n = n_y = 0.0
    with av.open(str(path)) as c:
        for image, frame in zip(frames, c.decode(video=0)):
            ref = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2YUV_I420).astype(float)
            got = frame.to_ndarray(format="yuv420p").astype(float)
            d = (got - ref) ** 2
            h = image.shape[0]
            se, n = se + d.sum(), n + d.size
            se_y, n_y = se_y + d[:h].sum(), n_y + d[:h].size
    return 10 * np.log10(255 ** 2 / (se / n)), 10 * np.log10(255 ** 2 / (se_y / n_y))


def write_audio(audio: Path, out: Path, encoder, duration_s: float) -> tuple[float, float]:
    import numpy as np

    from engine.export.mp4 import Mp4Writer
    start, cpu = time.perf_counter(), cpu_s()
    black = np.zeros((64, 64, 3), np.uint8)
    with Mp4Writer(out, fps=1.0, size=(64, 64), audio_path=audio, duration_s=duration_s,
                   encoder=encoder) as writer:
        for _ in range(int(round(duration_s))):
            writer.write(black)
    return time.perf_counter() - start, cpu_s() - cpu


def audio_quality(source: Path, path: Path, rate: int, band_hz: float = 15_000.0
                  ) -> tuple[float, float]:
    """(SNR dB, log-spectral distance dB) of the decoded sound against the source below
    ``band_hz`` (the AAC encoder low-passes at 16-20 kHz, which would otherwise dominate
    both), aligned by cross-correlation (the encoder's priming delay), channels together."""
    import av
    import numpy as np
    import soundfile

    ref = soundfile.read(str(source), always_2d=True)[0].T
    with av.open(str(path)) as c:
        got = np.concatenate([f.to_ndarray() for f in c.decode(audio=0)], axis=1).astype(np.float64)
    ref, got = ref[:got.shape[0]], got[:ref.shape[0]]
    n = min(ref.shape[1], got.shape[1], 1 << 17)
    corr = np.fft.irfft(np.fft.rfft(ref[0, :n], 2 * n).conj() * np.fft.rfft(got[0, :n], 2 * n))
    lags = np.r_[np.arange(0, 4096), np.arange(-4096, 0)]
    lag = int(lags[np.argmax(corr[lags])])
    a, b = (ref[:, :ref.shape[1] - lag], got[:, lag:]) if lag >= 0 else (ref[:, -lag:], got)
    m = min(a.shape[1], b.shape[1])
    a, b = a[:, 2048:m - 2048], b[:, 2048:m - 2048]

    def spectra(x):
        k = x.shape[1] // 1024 * 1024
        frames = x[:, :k].reshape(x.shape[0], -1, 1024) * np.hanning(1024)
        return np.fft.rfft(frames, axis=-1)[..., :int(band_hz / rate * 1024)]
    sa, sb = spectra(a), spectra(b)
    snr = 10 * np.log10(np.sum(np.abs(sa) ** 2) / np.sum(np.abs(sa - sb) ** 2))
    la, lb = (10 * np.log10(np.abs(s) ** 2 + 1e-12) for s in (sa, sb))
    heard = la > la.max(axis=-1, keepdims=True) - 60  # bins within 60 dB of the frame's peak
    diff = np.where(heard, la - lb, 0.0)
    lsd = float(np.mean(np.sqrt((diff ** 2).sum(axis=-1) / np.maximum(1, heard.sum(axis=-1)))))
    return snr, lsd


def audio_rate(path: Path) -> int:
    from engine.audio import audio_info
    from engine.export.mp4 import aac_rate
    return aac_rate(audio_info(path).sample_rate)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--audio", type=Path, default=None)
    ap.add_argument("--hint", default="a truck")
    args = ap.parse_args()

    from engine.export.mp4 import EncoderSettings
    from render_preview import make_plan

    rows = video_settings()
    coders = [("twoloop (before)", replace(EncoderSettings(), aac_coder="twoloop")),
              ("fast  <- export", EncoderSettings())]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        audio, layout = make_plan(tmp, args.audio, args.hint)
        frames, fps = draw_frames(layout, audio)
        times = {name: [] for name, _ in rows}
        atimes = {name: [] for name, _ in coders}
        for _ in range(args.repeat):
            for k, (name, enc) in enumerate(rows):
                times[name].append(write_video(frames, fps, tmp / f"v{k}.mp4", enc,
                                               layout.duration_s))
            for k, (name, enc) in enumerate(coders):
                atimes[name].append(write_audio(audio, tmp / f"a{k}.mp4", enc, layout.duration_s))
        print(f"# {layout.duration_s:.1f} s clip ({audio.name}), {len(frames)} frames of "
              f"{frames[0].shape[1]}x{frames[0].shape[0]} at {fps:g} fps, objects: "
              f"{', '.join(o.label for o in layout.objects)}; median of {args.repeat}; "
              f"{os.cpu_count()} CPUs; {time.strftime('%Y-%m-%d %H:%M')}")
        print("| x264 setting | wall s | CPU s | size kB | PSNR all dB | PSNR Y dB |")
        print("|---|---:|---:|---:|---:|---:|")
        for k, (name, _) in enumerate(rows):
            p_all, p_y = psnr(frames, tmp / f"v{k}.mp4")
            print(f"| {name} | {statistics.median(t[0] for t in times[name]):.3f} | "
                  f"{statistics.median(t[1] for t in times[name]):.3f} | "
                  f"{(tmp / f'v{k}.mp4').stat().st_size / 1000:.0f} | {p_all:.2f} | {p_y:.2f} |")
        print()
        print("| AAC coder (192 kb/s) | wall s | CPU s | size kB | SNR < 15 kHz dB | log-spectral distance dB |")
        print("|---|---:|---:|---:|---:|---:|")
        for k, (name, _) in enumerate(coders):
            snr, lsd = audio_quality(audio, tmp / f"a{k}.mp4", audio_rate(audio))
            print(f"| {name} | {statistics.median(t[0] for t in atimes[name]):.3f} | "
                  f"{statistics.median(t[1] for t in atimes[name]):.3f} | "
                  f"{(tmp / f'a{k}.mp4').stat().st_size / 1000:.0f} | {snr:.2f} | {lsd:.2f} |")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (2 cores)")


if __name__ == "__main__":
    main()

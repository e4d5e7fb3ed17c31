"""The MP4 export's limits, as its functions promise them (engine/export/mp4.py):

- ``check_av_sync``: our own files may differ in length by one video frame plus two AAC frames
  (whole video frames; whole AAC frames plus the encoder's priming frame), no more; slack
  given for other makers' files widens that, never narrows it.
- ``aac_rate``: the rate AAC is encoded at is one FFmpeg's AAC encoder takes (its own table,
  asked here), the file's own where it can be, the next one up where not, at most 48 kHz.
- NaN and infinite samples reach the file as silence.

Stream lengths at a limit are set exactly by standing in for the probe (``probe_mp4``, tested
on real files in test_mp4_writer.py); the limits themselves are written out from their
definitions, not taken from the code."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import BadInput
from engine.export import mp4
from engine.export.mp4 import Mp4Writer, aac_rate, check_av_sync, probe_mp4
from tests.synth import write_wav

av = pytest.importorskip("av")

AAC_FRAME = 1024  # samples per AAC-LC frame
ENCODER_RATES = sorted(av.codec.Codec("aac", "w").audio_rates)
CAP = 48000  # the docstring's "at most 48 kHz"


# -- check_av_sync ---------------------------------------------------------------------------

def probed(monkeypatch, *, video_s, audio_s, fps=24.0, rate=48000, video=True, audio=True):
    """Stand in for the probe: a file whose streams last exactly ``video_s`` and ``audio_s``."""
    info = {"video": {"codec": "h264", "duration_s": video_s, "frames": 0, "width": 64,
                      "height": 64, "pix_fmt": "yuv420p", "fps": fps} if video else None,
            "audio": {"codec": "aac", "duration_s": audio_s, "frames": 0,
                      "sample_rate": rate, "channels": 2} if audio else None}
    monkeypatch.setattr(mp4, "probe_mp4", lambda path: info)
    return info


def honest_gap(fps, rate):
    """One video frame plus two AAC frames (one of them the encoder's priming)."""
    return 1 / fps + 2 * AAC_FRAME / rate


EPS = 1e-7  # far above the rounding of a few seconds in float64, far below any real gap


@pytest.mark.parametrize("fps, rate", [(24.0, 48000), (30.0, 44100), (12.0, 8000),
                                       (60.0, 96000)])
@pytest.mark.parametrize("sign", [-1, 1])  # sound shorter or longer than the picture
def test_our_files_may_differ_by_one_frame_and_two_aac_frames(monkeypatch, fps, rate, sign):
    gap = honest_gap(fps, rate)
    info = probed(monkeypatch, video_s=10.0, audio_s=10.0 + sign * (gap - EPS), fps=fps,
                  rate=rate)
    assert check_av_sync("ok.mp4") is info  # the probe's answer is handed back
    probed(monkeypatch, video_s=10.0, audio_s=10.0 + sign * (gap + EPS), fps=fps, rate=rate)
    with pytest.raises(BadInput, match="the file is damaged"):
        check_av_sync("bad.mp4")


def test_a_gap_of_exactly_the_limit_passes(monkeypatch):
    # 16 fps and 16384 Hz make the limit exact in binary (1/16 + 2048/16384 = 0.1875), so
    # "differ by at most" can be tested at equality
    assert honest_gap(16.0, 16384) == 0.1875
    probed(monkeypatch, video_s=10.0, audio_s=10.0 - 0.1875, fps=16.0, rate=16384)
    check_av_sync("edge.mp4")
    probed(monkeypatch, video_s=10.0, audio_s=10.0 + 0.1875, fps=16.0, rate=16384)
    check_av_sync("edge.mp4")


def test_a_slow_picture_allows_its_own_long_frame():
    # a slideshow at half a frame per second: one frame is 2 s
    assert mp4.av_sync_gap_limit(0.5, 48000) == pytest.approx(2.0 + 2048 / 48000)
    assert mp4.av_sync_gap_limit(1.0, 44100) == pytest.approx(1.0 + 2048 / 44100)


def test_an_unknown_frame_rate_or_sample_rate_counts_as_24_fps_and_48_khz(monkeypatch):
    gap = honest_gap(24.0, 48000)
    for fps, rate in ((None, 48000), (0.0, 48000), (24.0, None), (24.0, 0)):
        probed(monkeypatch, video_s=5.0, audio_s=5.0 - gap + EPS, fps=fps, rate=rate)
        check_av_sync("ok.mp4")
        probed(monkeypatch, video_s=5.0, audio_s=5.0 - gap - EPS, fps=fps, rate=rate)
        with pytest.raises(BadInput):
            check_av_sync("bad.mp4")


def test_slack_in_seconds_widens_the_limit(monkeypatch):
    probed(monkeypatch, video_s=10.0, audio_s=10.0 - 0.5 + EPS)
    check_av_sync("late.mp4", slack_s=0.5)
    probed(monkeypatch, video_s=10.0, audio_s=10.0 - 0.5 - EPS)
    with pytest.raises(BadInput):
        check_av_sync("late.mp4", slack_s=0.5)


def test_slack_as_a_share_of_the_picture_widens_the_limit(monkeypatch):
    for video_s in (10.0, 40.0):  # 5 % of the picture: 0.5 s, then 2 s
        allowed = 0.05 * video_s
        probed(monkeypatch, video_s=video_s, audio_s=video_s + allowed - EPS)
        check_av_sync("long.mp4", slack_fraction=0.05)
        probed(monkeypatch, video_s=video_s, audio_s=video_s + allowed + EPS)
        with pytest.raises(BadInput):
            check_av_sync("long.mp4", slack_fraction=0.05)


def test_the_larger_slack_wins_and_slack_never_narrows_the_limit(monkeypatch):
    probed(monkeypatch, video_s=10.0, audio_s=10.0 - 0.9)
    check_av_sync("x.mp4", slack_s=1.0, slack_fraction=0.01)  # 1 s beats 0.1 s
    check_av_sync("x.mp4", slack_s=0.01, slack_fraction=0.1)  # 1 s beats 0.01 s
    gap = honest_gap(24.0, 48000)
    probed(monkeypatch, video_s=10.0, audio_s=10.0 - gap + EPS)
    check_av_sync("x.mp4", slack_s=0.001, slack_fraction=0.0001)


def test_a_file_missing_a_stream_or_a_length_is_not_judged(monkeypatch):
    for kw in (dict(video=False), dict(audio=False), dict(video_s=None)):
        info = probed(monkeypatch, **{"video_s": 3.0, "audio_s": 0.5, **kw})
        assert check_av_sync("x.mp4") is info


def test_a_sound_track_of_unknown_length_counts_as_empty(monkeypatch):
    probed(monkeypatch, video_s=3.0, audio_s=None)
    with pytest.raises(BadInput, match="sound track is 0.0 s long but its picture is 3.0 s"):
        check_av_sync("x.mp4")


def test_the_refusal_names_the_file_both_lengths_and_what_to_do(monkeypatch):
    probed(monkeypatch, video_s=12.34, audio_s=3.21)
    with pytest.raises(BadInput) as err:
        check_av_sync("/some/where/holiday.mp4")
    assert err.value.message == ("holiday.mp4: its sound track is 3.2 s long but its picture "
                                 "is 12.3 s; the file is damaged.")
    assert err.value.hint == "Render or export it again."


def test_a_real_file_one_frame_short_of_sound_passes(tmp_path):
    # 25 frames at 25 fps with 0.96 s of sound: the sound ends one frame early
    sound = write_wav(tmp_path / "s.wav", np.full((2, int(0.96 * 48000)), 0.05, np.float32),
                      sr=48000)
    out = tmp_path / "a.mp4"
    with Mp4Writer(out, fps=25.0, size=(32, 32), audio_path=sound, duration_s=1.0) as w:
        w.write(np.zeros((32, 32, 3), np.uint8))
    info = check_av_sync(out)
    assert info["video"]["duration_s"] == pytest.approx(1.0)
    assert abs(info["audio"]["duration_s"] - 1.0) <= honest_gap(25.0, 48000)


# -- aac_rate ----------------------------------------------------------------------------------

def next_encoder_rate(rate):
    return min((r for r in ENCODER_RATES if r >= rate), default=None)


RATES = sorted({r + d for r in ENCODER_RATES for d in (-1, 0, 1)}
               | {1, 4000, 6000, 100000, 176400, 192000, 384000})


@pytest.mark.parametrize("rate", RATES)
def test_aac_is_encoded_at_a_rate_the_encoder_takes_nearest_above_the_files(rate):
    got = aac_rate(rate)
    assert got in ENCODER_RATES and got <= CAP
    if rate <= CAP:
        assert got == next_encoder_rate(rate)  # the file's own, or the next one up
    else:
        assert got == CAP  # nothing audible is lost above 48 kHz


def test_the_encoder_takes_48_khz_and_rates_above_it():
    # the cap is a choice, not the encoder's limit (else the test above proves nothing above it)
    assert CAP in ENCODER_RATES and max(ENCODER_RATES) > CAP


@pytest.mark.parametrize("file_rate, encoded", [(7000, 7350), (11025, 11025), (44100, 44100),
                                                (64000, 48000), (96000, 48000)])
def test_the_muxed_sound_is_at_the_rate_aac_rate_promises(tmp_path, file_rate, encoded):
    t = np.arange(int(0.5 * file_rate)) / file_rate
    x = np.tile(0.2 * np.sin(2 * np.pi * 440 * t), (2, 1)).astype(np.float32)
    sound = write_wav(tmp_path / "s.wav", x, sr=file_rate)
    out = tmp_path / "a.mp4"
    with Mp4Writer(out, fps=12.0, size=(32, 32), audio_path=sound, duration_s=0.5) as w:
        w.write(np.zeros((32, 32, 3), np.uint8))
    info = check_av_sync(out)
    assert info["audio"]["sample_rate"] == encoded
    assert info["audio"]["duration_s"] == pytest.approx(0.5, abs=2 * AAC_FRAME / encoded)
    with av.open(str(out)) as c:  # the tone is still a 440 Hz tone
        y = np.concatenate([f.to_ndarray()[0] for f in c.decode(audio=0)])
    spectrum = np.abs(np.fft.rfft(y))
    assert np.fft.rfftfreq(y.size, 1 / encoded)[np.argmax(spectrum)] == pytest.approx(440, abs=5)


# -- samples that are not numbers ----------------------------------------------------------------

@pytest.mark.parametrize("channels", [2, 1])
@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_samples_that_are_not_numbers_reach_the_file_as_silence(tmp_path, bad, channels):
    sr = 48000
    rng = np.random.default_rng(1)
    x = (0.01 * rng.standard_normal((channels, sr))).astype(np.float32)
    x[:, sr // 2:sr // 2 + 4800] = bad  # 0.1 s of them in the middle
    sound = write_wav(tmp_path / "s.wav", x, sr=sr)
    out = tmp_path / "a.mp4"
    with Mp4Writer(out, fps=12.0, size=(32, 32), audio_path=sound, duration_s=1.0) as w:
        w.write(np.zeros((32, 32, 3), np.uint8))
    info = check_av_sync(out)
    assert info["audio"]["sample_rate"] == sr and info["audio"]["channels"] == channels
    with av.open(str(out)) as c:
        y = np.concatenate([f.to_ndarray() for f in c.decode(audio=0)], axis=1)
    assert np.isfinite(y).all()
    assert np.abs(y).max() < 0.1  # silence where they were, the quiet noise elsewhere
    assert 0.003 < np.sqrt(np.mean(y[:, :sr // 4] ** 2)) < 0.03


def test_probe_of_a_file_without_sound_says_so(tmp_path):
    out = tmp_path / "v.mp4"
    with Mp4Writer(out, fps=12.0, size=(32, 32), audio_path=None, duration_s=0.5) as w:
        w.write(np.zeros((32, 32, 3), np.uint8))
    info = probe_mp4(out)
    assert info["audio"] is None and info["video"]["frames"] == 6
    assert check_av_sync(out) == info


def test_probe_of_a_file_without_picture_says_so(tmp_path):
    from tests.synth import write_audio_as
    t = np.arange(44100) / 44100
    m4a = write_audio_as(tmp_path / "s.m4a", np.tile(0.2 * np.sin(2 * np.pi * 440 * t), (2, 1)))
    info = probe_mp4(m4a)
    assert info["video"] is None and info["audio"]["codec"] == "aac"
    assert info["audio"]["duration_s"] == pytest.approx(1.0, abs=0.05)
    assert check_av_sync(m4a) == info


@pytest.mark.parametrize("stream, image", [((64, 48), (64, 49)), ((64, 48), (65, 48)),
                                           ((64, 64), (64, 65)), ((64, 64), (65, 64)),
                                           ((64, 48), (64, 50)), ((64, 48), (66, 48))])
def test_a_frame_off_by_a_row_or_a_column_is_fitted_to_the_stream(tmp_path, stream, image):
    # the docstring's "any size": one dimension off (odd or even), the other exact
    w, h = image
    img = np.zeros((h, w, 3), np.uint8)
    img[:, w // 2:] = 255  # left half black, right half white
    out = tmp_path / "a.mp4"
    with Mp4Writer(out, fps=12.0, size=stream, audio_path=None, duration_s=0.25) as writer:
        for _ in range(3):
            writer.write(img)
    info = probe_mp4(out)
    assert (info["video"]["width"], info["video"]["height"]) == stream
    with av.open(str(out)) as c:
        gray = next(c.decode(video=0)).to_ndarray(format="gray").astype(float)
    assert gray.shape == (stream[1], stream[0])
    assert gray[:, :stream[0] // 2 - 4].mean() < 30 and gray[:, stream[0] // 2 + 4:].mean() > 225


@pytest.mark.timeout(120)  # a sound thread that gives up on a full queue deadlocks the mux
def test_a_sound_longer_than_the_lead_is_muxed_whole_behind_a_slow_picture(tmp_path):
    # The sound is encoded ahead of the picture, at most a few seconds' worth; a slow renderer
    # (diffusion takes seconds a frame) keeps the sound waiting for room, never cut short
    import time
    sr, seconds = 8000, 10.0
    t = np.arange(int(seconds * sr)) / sr
    x = np.tile(0.2 * np.sin(2 * np.pi * 440 * t), (2, 1)).astype(np.float32)
    sound = write_wav(tmp_path / "long.wav", x, sr=sr)
    out = tmp_path / "slow.mp4"
    with Mp4Writer(out, fps=2.0, size=(32, 32), audio_path=sound, duration_s=seconds) as w:
        for i in range(int(seconds * 2)):
            if i == 0:
                time.sleep(0.5)  # the first frame takes long to draw
            w.write(np.zeros((32, 32, 3), np.uint8))
    info = check_av_sync(out)
    assert info["audio"]["duration_s"] == pytest.approx(seconds, abs=2 * AAC_FRAME / sr)
    with av.open(str(out)) as c:
        y = np.concatenate([f.to_ndarray()[0] for f in c.decode(audio=0)])
    last = y[-sr:-AAC_FRAME]  # the tone is there to the end
    assert np.sqrt(np.mean(last ** 2)) == pytest.approx(0.2 / np.sqrt(2), rel=0.1)

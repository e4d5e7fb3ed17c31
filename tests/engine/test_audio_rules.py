"""The audio input rules at their limits (engine/audio/io.py's docstring lists them): silence,
NaN/inf repair, clipping, length, channels, spans, rates; and the file reading paths
(libsndfile first, FFmpeg for the rest) agreeing on what they read."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from engine.audio import Audio, AudioInfo, audio_info, load_audio, validate_samples, write_audio
from engine.errors import BadInput
from tests.synth import panned_noise, write_wav

SR = 16000


def noise(seconds=0.5, sr=SR, level=0.1, channels=2, seed=0):
    rng = np.random.default_rng(seed)
    return (level * rng.standard_normal((channels, int(seconds * sr)))).astype(np.float32)


def test_audio_views():
    x = np.array([[0.2, -0.4], [0.6, 0.0]], np.float32)
    a = Audio(x, 8000)
    assert a.channels == 2 and not a.is_mono and a.duration_s == pytest.approx(2 / 8000)
    np.testing.assert_allclose(a.mono(), [0.4, -0.2])
    assert a.stereo() is x
    m = Audio(x[:1], 8000)
    assert m.is_mono and m.stereo().shape == (2, 2)
    np.testing.assert_array_equal(m.stereo()[0], m.stereo()[1])
    assert AudioInfo(None, 0, 2, 100, "WAV").duration_s == 0.0
    assert AudioInfo(None, 8000, 2, 4000, "WAV").duration_s == 0.5


def test_info_of_sndfile_and_ffmpeg_files(tmp_path):
    wav = write_wav(tmp_path / "a.wav", noise(0.5, sr=SR, channels=1), sr=SR)
    i = audio_info(wav)
    assert (i.sample_rate, i.channels, i.frames, i.format) == (SR, 1, SR // 2, "WAV")
    m4a = encoded(tmp_path / "a.m4a", noise(1.0, sr=48000), 48000, "aac")
    j = audio_info(m4a)
    assert (j.sample_rate, j.channels, j.format) == (48000, 2, "ffmpeg")
    assert abs(j.duration_s - 1.0) < 0.05


def test_spans_are_the_samples_of_that_span(tmp_path):
    x = noise(1.0)
    p = write_wav(tmp_path / "a.wav", x, sr=SR)
    part = load_audio(p, start_s=0.25, duration_s=0.5)
    np.testing.assert_array_equal(part.samples, x[:, SR // 4:SR // 4 + SR // 2])
    tail = load_audio(p, start_s=0.75)
    np.testing.assert_array_equal(tail.samples, x[:, 3 * SR // 4:])


def test_spans_through_ffmpeg_match_the_whole_file(tmp_path):
    p = encoded(tmp_path / "a.m4a", noise(1.0, sr=48000), 48000, "aac")
    whole = load_audio(p)
    part = load_audio(p, start_s=0.25, duration_s=0.5)
    assert part.samples.shape == (2, 24000)
    np.testing.assert_array_equal(part.samples, whole.samples[:, 12000:36000])


@pytest.mark.parametrize("peak, refused", [(0.0, True), (0.00099, True), (0.0011, False)])
def test_silence_is_a_peak_at_or_below_minus_sixty_dbfs(tmp_path, peak, refused):
    x = np.zeros((2, SR), np.float32)
    x[0, 100] = peak
    p = write_wav(tmp_path / "q.wav", x, sr=SR)
    if refused:
        with pytest.raises(BadInput) as err:
            load_audio(p)
        words = "(digital silence);" if peak == 0 else "(peak -60 dBFS);"
        assert err.value.message.startswith(f"q.wav is silent {words}")
    else:
        assert load_audio(p).samples[0, 100] == pytest.approx(peak)


def test_silence_passes_when_validation_is_off(tmp_path):
    p = write_wav(tmp_path / "q.wav", np.zeros((2, SR), np.float32), sr=SR)
    assert load_audio(p, validate=False).samples.max() == 0.0


@pytest.mark.parametrize("bad_fraction, refused", [(0.009, False), (0.011, True)])
def test_up_to_one_percent_non_finite_samples_are_repaired(bad_fraction, refused):
    x = noise(1.0)
    k = int(bad_fraction * x.size)
    flat = x.reshape(-1)
    flat[:k:2], flat[1:k:2] = np.nan, np.inf
    a = Audio(x, SR)
    if refused:
        with pytest.raises(BadInput, match=r"1\.1% of its samples are NaN or infinite"):
            validate_samples(a)
        return
    validate_samples(a)
    assert np.isfinite(a.samples).all() and np.all(a.samples.reshape(-1)[:k] == 0.0)
    assert np.array_equal(a.samples.reshape(-1)[k:], noise(1.0).reshape(-1)[k:])
    assert len(a.notes) == 1 and "0.900% of samples" in a.notes[0]


@pytest.mark.parametrize("fraction, warned", [(0.0005, False), (0.002, True)])
def test_clipping_is_warned_above_a_thousandth_of_samples(fraction, warned):
    x = noise(1.0)
    k = int(fraction * x.size)
    x.reshape(-1)[:k] = 0.9995  # at full scale, within float rounding of 1
    a = validate_samples(Audio(x, SR))
    assert any("clipped" in n for n in a.notes) is warned


def test_over_three_hours_is_refused_before_reading(tmp_path):
    # 1 Hz sample rate: a header that says 3 h plus a second costs 10801 samples.
    p = tmp_path / "long.wav"
    sf.write(str(p), noise(10801, sr=1, channels=1).T, 1)
    with pytest.raises(BadInput, match=r"3\.0 hours long; the limit is 3 hours"):
        load_audio(p)
    ok = tmp_path / "three.wav"
    sf.write(str(ok), noise(10800, sr=1, channels=1).T, 1)
    # three hours exactly pass the length rule (then 1 Hz is refused as a rate: MIN_SAMPLE_RATE)
    with pytest.raises(BadInput, match="sampled at 1 Hz"):
        load_audio(ok)


def test_empty_and_wrong_files(tmp_path):
    empty = tmp_path / "empty.wav"
    sf.write(str(empty), np.zeros((0, 2), np.float32), SR)
    with pytest.raises(BadInput, match="holds no audio samples"):
        load_audio(empty)
    with pytest.raises(BadInput, match="is a folder") as e:
        load_audio(tmp_path)
    assert "Pick one sound file inside it" in str(e.value)  # what to do, not only what's wrong
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(b"\x00\x01" * 500)
    with pytest.raises(BadInput, match="junk.mp3"):
        load_audio(junk)


def test_a_video_without_sound_is_named_so(tmp_path):
    from engine.export.mp4 import Mp4Writer
    out = tmp_path / "mute.mp4"
    with Mp4Writer(out, fps=8, size=(64, 64), audio_path=None, duration_s=0.5) as w:
        w.write(np.zeros((64, 64, 3), np.uint8))
    with pytest.raises(BadInput, match="has no audio stream"):
        load_audio(out)


def test_rates_above_the_cap_are_resampled_and_keep_the_signal(tmp_path):
    sr = 96000
    t = np.arange(sr) / sr
    tone = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    p = write_wav(tmp_path / "hr.wav", np.stack([tone, 0.5 * tone]), sr=sr)
    a = load_audio(p)
    assert a.sample_rate == 48000 and a.samples.dtype == np.float32
    spectrum = np.abs(np.fft.rfft(a.samples[0]))
    assert np.argmax(spectrum) * 48000 / a.samples.shape[1] == pytest.approx(1000, abs=2)
    # levels survive: the right channel stays 6 dB below the left
    ratio = np.sqrt(np.mean(a.samples[1] ** 2) / np.mean(a.samples[0] ** 2))
    assert ratio == pytest.approx(0.5, abs=0.01)
    keep = load_audio(p, max_rate=sr)
    assert keep.sample_rate == sr and keep.samples.shape == (2, sr)


def test_the_rate_cap_leaves_lower_rates_alone(tmp_path):
    x = noise(0.5, sr=48000)
    a = load_audio(write_wav(tmp_path / "a.wav", x, sr=48000))
    assert a.sample_rate == 48000
    np.testing.assert_array_equal(a.samples, x)


def test_channel_notes_and_counts(tmp_path):
    x = np.vstack([noise(0.5), noise(0.5, seed=1)])
    a = load_audio(write_wav(tmp_path / "quad.wav", x, sr=SR))
    assert a.source_channels == 4 and a.channels == 2
    assert a.notes == ["quad.wav has 4 channels; using the first two as left and right."]
    m = load_audio(write_wav(tmp_path / "m.wav", noise(0.5, channels=1), sr=SR))
    assert m.source_channels == 1 and m.is_mono
    assert m.notes[0].startswith("m.wav is mono")


@pytest.mark.parametrize("ext, fmt", [("wav", "WAV"), ("flac", "FLAC"), ("ogg", "OGG"),
                                      ("aiff", "AIFF"), ("aif", "AIFF")])
def test_write_audio_picks_the_format_from_the_extension(tmp_path, ext, fmt):
    t = np.arange(SR // 2) / SR
    x = np.stack([0.2 * np.sin(2 * np.pi * 440 * t), 0.1 * np.sin(2 * np.pi * 660 * t)])
    x = x.astype(np.float32)
    p = tmp_path / f"out.{ext}"
    write_audio(p, x, SR)
    assert sf.info(str(p)).format == fmt
    back = load_audio(p)
    assert back.sample_rate == SR and back.samples.shape == x.shape
    if ext == "ogg":  # Vorbis is lossy: the same signal, not the same samples
        for k in range(2):
            assert np.corrcoef(back.samples[k], x[k])[0, 1] > 0.99
    else:  # 16-bit PCM: within one step
        assert np.max(np.abs(back.samples - x)) <= 1 / 32768 + 1e-7
    assert sorted(q.name for q in tmp_path.iterdir()) == [p.name]  # no temporary left


def test_write_audio_keeps_the_subtype(tmp_path):
    p = tmp_path / "a.wav"
    write_audio(p, noise(0.1), SR, subtype="PCM_24")
    assert sf.info(str(p)).subtype == "PCM_24"


def test_stereo_panned_file_reads_left_as_channel_zero(tmp_path):
    a = load_audio(write_wav(tmp_path / "l.wav", panned_noise(-60, duration_s=0.3)))
    assert np.mean(a.samples[0] ** 2) > 2 * np.mean(a.samples[1] ** 2)


# -- what the mutation run of io.py found untested (docs/testing.md) ------------------------

def encoded(path, x, sr, codec, fmt=None, layout="stereo"):
    """Encode ``x`` (2, n) float32 with PyAV's ``codec`` into ``path``."""
    import av
    with av.open(str(path), "w", format=fmt) as c:
        s = c.add_stream(codec, rate=sr)
        s.layout = layout
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(x), format="fltp", layout=layout)
        frame.sample_rate = sr
        for p in s.encode(frame):
            c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    return path


def stereo_tones(seconds, sr):
    t = np.arange(int(seconds * sr)) / sr
    return np.stack([0.4 * np.sin(2 * np.pi * 440 * t),
                     0.1 * np.sin(2 * np.pi * 660 * t)]).astype(np.float32)


@pytest.mark.parametrize("name, codec, fmt", [("a.opus", "libopus", "ogg"),
                                              ("a.mp3", "libmp3lame", "mp3"),
                                              ("a.aac", "aac", "adts")])
def test_compressed_files_read_as_the_same_sound(tmp_path, name, codec, fmt):
    sr = 48000
    x = stereo_tones(1.0, sr)
    p = encoded(tmp_path / name, x, sr, codec, fmt)
    info = audio_info(p)
    assert (info.path, info.sample_rate, info.channels, info.format) == (p, sr, 2, "ffmpeg")
    assert info.duration_s == pytest.approx(1.0, abs=0.1)
    a = load_audio(p)
    assert a.samples.shape[0] == 2 and a.sample_rate == sr and a.samples.dtype == np.float32
    assert abs(a.duration_s - 1.0) < 0.1
    # left 12 dB above right, as encoded (levels survive lossy coding within 1 dB)
    ratio_db = 10 * np.log10(np.mean(a.samples[0] ** 2) / np.mean(a.samples[1] ** 2))
    assert ratio_db == pytest.approx(12.0, abs=1.0)


def test_the_sound_of_a_video_file_is_read(tmp_path):
    from engine.export.mp4 import Mp4Writer
    wav = write_wav(tmp_path / "t.wav", stereo_tones(1.0, 44100), sr=44100)
    out = tmp_path / "v.mp4"
    with Mp4Writer(out, fps=8, size=(64, 64), audio_path=wav, duration_s=1.0) as w:
        w.write(np.zeros((64, 64, 3), np.uint8))
    a = load_audio(out)
    assert a.channels == 2 and a.sample_rate == 44100
    assert abs(a.duration_s - 1.0) < 0.05


def test_a_file_that_is_not_audio_says_what_to_use(tmp_path):
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(b"\x00\x01" * 500)
    with pytest.raises(BadInput) as err:
        load_audio(junk)
    e = err.value
    assert e.message.startswith("junk.mp3 is not an audio file this app can read (")
    assert "(NoneType)" not in e.message
    assert e.hint == "Use WAV, FLAC, OGG, AIFF, MP3, M4A or Opus."  # as the README lists them


def test_an_empty_file_is_called_empty(tmp_path):
    # A 0-byte file (a copy that did not finish) read as "not an audio file ... (InvalidDataError)".
    empty = tmp_path / "take.wav"
    empty.touch()
    with pytest.raises(BadInput) as err:
        load_audio(empty)
    assert err.value.message == f"{empty} is empty (0 bytes)."


def test_every_refusal_says_what_to_do(tmp_path):
    p = tmp_path / "long.wav"
    sf.write(str(p), noise(10982, sr=1, channels=1).T, 1)  # 3.0506 hours at 1 Hz
    with pytest.raises(BadInput) as err:
        load_audio(p)
    assert err.value.message.startswith("long.wav is 3.1 hours long; the limit is 3 hours")
    assert err.value.hint.startswith("Trim it to the part you want")
    x = noise(1.0)
    x[:, :2000] = np.nan
    with pytest.raises(BadInput) as err:
        validate_samples(Audio(x, SR))
    assert err.value.hint.startswith("Re-export it from your audio editor")
    with pytest.raises(BadInput) as err:
        validate_samples(Audio(np.zeros((2, SR), np.float32), SR))
    assert err.value.hint.startswith("Check the input level")


def test_notes_say_what_was_done_and_what_to_do(tmp_path):
    m = load_audio(write_wav(tmp_path / "m.wav", noise(0.5, channels=1), sr=SR))
    assert m.notes[0].endswith("in the centre. Record or import stereo for placement.")
    x = noise(1.0)
    x[:, :10] = np.nan
    a = validate_samples(Audio(x, SR))
    assert a.notes[0].endswith("were set to silence.")
    assert audio_info(write_wav(tmp_path / "i.wav", noise(0.1), sr=SR)).path == tmp_path / "i.wav"


def test_three_channels_keep_the_first_two(tmp_path):
    x = np.vstack([noise(0.5), noise(0.5, channels=1, seed=2)])
    a = load_audio(write_wav(tmp_path / "three.wav", x, sr=SR))
    assert a.channels == 2 and a.source_channels == 3
    np.testing.assert_allclose(a.samples, x[:2], atol=1e-6)
    assert a.notes == ["three.wav has 3 channels; using the first two as left and right."]


def test_audio_without_a_file_is_called_the_audio():
    with pytest.raises(BadInput, match=r"^The audio is silent \(digital silence\)"):
        validate_samples(Audio(np.zeros((2, 100), np.float32), SR))


def test_clipping_at_exactly_a_thousandth_is_not_warned_and_the_warning_says_what_to_do():
    x = noise(1.0)  # 32000 samples
    x.reshape(-1)[:32] = 1.0  # exactly 0.1 %: "over 0.1 %" warns, this does not
    assert validate_samples(Audio(x.copy(), SR)).notes == []
    x.reshape(-1)[:33] = 1.0
    (note,) = validate_samples(Audio(x, SR)).notes
    assert note.endswith("left/right levels may be off. Record at a lower gain if you can.")

import numpy as np
import pytest
import soundfile as sf

from engine.audio import load_audio
from engine.errors import BadInput
from tests.synth import panned_noise, write_wav


def test_stereo_wav_loads_time_last(tmp_path):
    x = panned_noise(30, duration_s=0.5)
    a = load_audio(write_wav(tmp_path / "a.wav", x))
    assert a.samples.shape == (2, x.shape[1]) and a.samples.dtype == np.float32
    np.testing.assert_allclose(a.samples, x, atol=1e-6)
    assert a.notes == []


def test_mono_is_accepted_with_one_note(tmp_path):
    a = load_audio(write_wav(tmp_path / "m.wav", panned_noise(0, duration_s=0.5)[:1]))
    assert a.is_mono
    assert len(a.notes) == 1 and "mono" in a.notes[0]


def test_more_than_two_channels_keeps_first_two(tmp_path):
    x = np.vstack([panned_noise(20, duration_s=0.5), 0.05 * np.ones((2, 22050), np.float32)])
    a = load_audio(write_wav(tmp_path / "quad.wav", x))
    assert a.channels == 2
    np.testing.assert_allclose(a.samples, x[:2], atol=1e-6)
    assert any("4 channels" in n for n in a.notes)


@pytest.mark.parametrize("x", [np.zeros((2, 44100), np.float32),
                               np.full((2, 44100), 1e-5, np.float32)])
def test_silence_is_refused(tmp_path, x):
    with pytest.raises(BadInput, match="silent"):
        load_audio(write_wav(tmp_path / "s.wav", x))


def test_few_nans_are_repaired_many_are_refused(tmp_path):
    x = panned_noise(0, duration_s=0.5)
    x[:, :10] = np.nan
    a = load_audio(write_wav(tmp_path / "n.wav", x))
    assert np.isfinite(a.samples).all() and any("NaN" in n for n in a.notes)
    x[:, :5000] = np.inf
    with pytest.raises(BadInput, match="NaN or infinite"):
        load_audio(write_wav(tmp_path / "n2.wav", x))


def test_clipping_is_warned(tmp_path):
    x = np.clip(panned_noise(0, duration_s=0.5, level=3.0), -1, 1)
    a = load_audio(write_wav(tmp_path / "c.wav", x))
    assert any("clipped" in n for n in a.notes)


def test_not_audio_and_missing_files(tmp_path):
    p = tmp_path / "notes.wav"
    p.write_text("this is not audio")
    with pytest.raises(BadInput, match="not an audio file"):
        load_audio(p)
    with pytest.raises(BadInput, match="not found"):
        load_audio(tmp_path / "nope.flac")


def test_compressed_formats_through_pyav(tmp_path):
    import av
    x = panned_noise(-40, duration_s=1.0, sr=48000)
    path = tmp_path / "a.m4a"
    with av.open(str(path), "w") as c:
        s = c.add_stream("aac", rate=48000)
        s.layout = "stereo"
        frame = av.AudioFrame.from_ndarray(x, format="fltp", layout="stereo")
        frame.sample_rate = 48000
        for p in s.encode(frame):
            c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    a = load_audio(path)
    assert a.channels == 2 and a.sample_rate == 48000
    assert abs(a.duration_s - 1.0) < 0.1
    # Left source: the left channel is louder after the round trip through AAC.
    assert np.mean(a.samples[0] ** 2) > np.mean(a.samples[1] ** 2)


def test_high_rates_are_resampled_and_spans_read(tmp_path):
    x = panned_noise(0, duration_s=1.0, sr=96000)
    a = load_audio(write_wav(tmp_path / "hr.wav", x, sr=96000))
    assert a.sample_rate == 48000 and abs(a.samples.shape[1] - 48000) <= 1
    part = load_audio(tmp_path / "hr.wav", start_s=0.25, duration_s=0.5)
    assert abs(part.duration_s - 0.5) < 1e-3


def test_flac_int16(tmp_path):
    x = panned_noise(10, duration_s=0.3)
    p = tmp_path / "a.flac"
    sf.write(str(p), x.T, 44100, subtype="PCM_16")
    assert load_audio(p).samples.shape[0] == 2

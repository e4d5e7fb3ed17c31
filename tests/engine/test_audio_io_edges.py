"""The audio front end at the edges its rules name (engine/audio/io.py's docstring): "up to
1 %" NaN/inf samples repaired, counted exactly; a WAV whose header promises more than the file
holds (``wav_shortfall``), on WAVs built byte by byte here so the expected fraction comes from
the bytes cut off, not from the code under test."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from engine.audio import Audio, load_audio, validate_samples
from engine.audio.io import wav_shortfall
from engine.errors import BadInput

SR = 8000


def noise(n: int, channels: int = 2, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.1 * rng.standard_normal((channels, n))).astype(np.float32)


# -- NaN / inf: up to 1 % of the samples, exactly ----------------------------------------------

@pytest.mark.parametrize("channels, n", [(1, 100), (2, 50), (2, 16000), (2, 44100), (1, 700)])
def test_exactly_one_percent_non_finite_is_repaired_one_more_is_refused(channels, n):
    size = channels * n
    at_limit = size // 100
    assert at_limit * 100 == size  # these sizes have an exact 1 %
    x = noise(n, channels)
    flat = x.reshape(-1)
    flat[:at_limit:2], flat[1:at_limit:2] = np.nan, np.inf
    a = validate_samples(Audio(x.copy(), SR))
    assert np.isfinite(a.samples).all()
    assert np.all(a.samples.reshape(-1)[:at_limit] == 0.0)
    assert np.array_equal(a.samples.reshape(-1)[at_limit:], flat[at_limit:])
    assert a.notes == ["The audio: 1.000% of samples were NaN or infinite and were set to "
                       "silence."]
    over = x.copy()
    over.reshape(-1)[:at_limit + 1] = -np.inf
    with pytest.raises(BadInput, match="NaN or infinite"):
        validate_samples(Audio(over, SR))


@pytest.mark.parametrize("n", [4410, 333])  # 1 % of 8820 or 666 samples is not whole
def test_where_one_percent_is_not_whole_the_count_rounds_down(n):
    size = 2 * n
    most = size // 100  # the largest count that is at most 1 %
    assert most * 100 < size < (most + 1) * 100
    x = noise(n)
    x.reshape(-1)[:most] = np.nan
    assert np.isfinite(validate_samples(Audio(x.copy(), SR)).samples).all()
    x.reshape(-1)[:most + 1] = np.nan
    with pytest.raises(BadInput):
        validate_samples(Audio(x, SR))


def test_a_refusal_names_the_share_and_the_file():
    x = noise(100, channels=1)
    x[0, :3] = np.nan
    a = Audio(x, SR)
    from pathlib import Path
    a.path = Path("take 3.wav")
    with pytest.raises(BadInput) as err:
        validate_samples(a)
    assert err.value.message == "take 3.wav is corrupt: 3.0% of its samples are NaN or infinite."


# -- WAVs cut short ----------------------------------------------------------------------------

def chunk(tag: bytes, body: bytes, size: int | None = None) -> bytes:
    """A RIFF chunk; ``size`` overrides the length field; odd bodies get their pad byte."""
    return struct.pack("<4sI", tag, len(body) if size is None else size) + body + (
        b"\0" if len(body) % 2 else b"")


def fmt_pcm16(channels=2, rate=SR) -> bytes:
    return chunk(b"fmt ", struct.pack("<HHIIHH", 1, channels, rate, rate * channels * 2,
                                      channels * 2, 16))


def pcm16(frames: int, channels: int = 2) -> bytes:
    x = (noise(frames, channels).T * 32767).astype("<i2")
    return x.tobytes()


def wav_bytes(data: bytes, *, extra: bytes = b"", data_size: int | None = None,
              form: bytes = b"WAVE", riff: bytes = b"RIFF") -> bytes:
    body = form + fmt_pcm16() + extra + chunk(b"data", data, data_size)
    return struct.pack("<4sI", riff, len(body)) + body


def write(path, blob: bytes):
    path.write_bytes(blob)
    return path


@pytest.mark.parametrize("keep", [0.25, 0.5, 0.75])
def test_the_shortfall_is_the_share_of_promised_bytes_missing(tmp_path, keep):
    data = pcm16(4000)
    whole = wav_bytes(data)
    cut = whole[:len(whole) - len(data) + int(keep * len(data))]
    assert wav_shortfall(write(tmp_path / "cut.wav", cut)) == pytest.approx(1 - keep)
    assert wav_shortfall(write(tmp_path / "whole.wav", whole)) is None


def test_a_data_chunk_with_no_bytes_at_all_is_wholly_missing(tmp_path):
    whole = wav_bytes(pcm16(100))
    header_only = whole[:len(whole) - 400]  # the data chunk's 8-byte header is the last thing
    assert header_only[-8:-4] == b"data"
    assert wav_shortfall(write(tmp_path / "h.wav", header_only)) == 1.0
    # cut inside the data chunk's header: no data chunk can be read, nothing is claimed
    assert wav_shortfall(write(tmp_path / "g.wav", header_only[:-1])) is None


def test_one_byte_short_is_reported_and_extra_bytes_are_not(tmp_path):
    data = pcm16(1000)
    whole = wav_bytes(data)
    assert wav_shortfall(write(tmp_path / "a.wav", whole[:-1])) == pytest.approx(1 / len(data))
    assert wav_shortfall(write(tmp_path / "b.wav", whole + b"\0" * 64)) is None


@pytest.mark.parametrize("size", [7, 8])  # an odd chunk is followed by a pad byte
def test_chunks_before_the_data_are_stepped_over_with_their_padding(tmp_path, size):
    data = pcm16(1000)
    whole = wav_bytes(data, extra=chunk(b"LIST", b"x" * size))
    assert len(whole) % 2 == 0
    half = whole[:len(whole) - len(data) // 2]
    assert wav_shortfall(write(tmp_path / "l.wav", half)) == pytest.approx(0.5)
    # the chunks a reader may not know, in any number, before the data
    more = wav_bytes(data, extra=chunk(b"LIST", b"x" * size) + chunk(b"junk", b"y" * 3))
    assert wav_shortfall(write(tmp_path / "m.wav", more[:-len(data) // 4])) == pytest.approx(0.25)


@pytest.mark.parametrize("size_field", [0, 0xFFFFFFFF])
def test_a_size_a_streaming_writer_left_unset_is_not_a_shortfall(tmp_path, size_field):
    blob = wav_bytes(pcm16(500), data_size=size_field)
    assert wav_shortfall(write(tmp_path / "s.wav", blob[:-100])) is None


@pytest.mark.parametrize("blob", [
    b"",
    b"RIFF\0\0\0",  # shorter than the 12-byte header
    b"fLaC" + b"\0" * 64,
    b"RIFX" + b"\0" * 4 + b"WAVE" + b"\0" * 64,  # a big-endian RIFF
    b"RIFF" + b"\0" * 4 + b"AVI " + b"\0" * 64,  # RIFF but not a WAVE
    b"RIFF" + b"\0" * 4 + b"WAVE",  # a WAVE header and nothing after it
])
def test_what_is_not_a_cut_wav_is_not_reported(tmp_path, blob):
    assert wav_shortfall(write(tmp_path / "x.wav", blob)) is None


def test_a_cut_riff_form_that_is_not_a_wave_is_not_reported(tmp_path):
    data = pcm16(1000)
    for bad in (wav_bytes(data, form=b"AVI "), wav_bytes(data, riff=b"RIFX")):
        assert wav_shortfall(write(tmp_path / "y.wav", bad[:-1000])) is None


def test_files_that_cannot_be_read_are_not_reported(tmp_path):
    assert wav_shortfall(tmp_path / "missing.wav") is None
    assert wav_shortfall(tmp_path) is None  # a folder: open() fails


def test_load_audio_says_how_much_is_missing_and_reads_what_is_there(tmp_path):
    data = pcm16(16000)  # 2 s promised
    whole = wav_bytes(data)
    cut = write(tmp_path / "cut.wav", whole[:len(whole) - 3 * len(data) // 4])  # 0.5 s left
    a = load_audio(cut)
    assert a.samples.shape == (2, 4000)
    assert a.notes == ["cut.wav is cut short: 75% of the sound its header promises is not in "
                       "the file; using the 0.5 s that are there."]
    assert load_audio(cut, validate=False).notes == []
    assert load_audio(write(tmp_path / "whole.wav", whole)).notes == []


def test_a_header_promising_gigabytes_is_read_as_unsigned(tmp_path):
    # a 3 GiB recording copied only 2000 bytes far: the size field is above 2**31
    promised = 3 << 30
    blob = wav_bytes(pcm16(500), data_size=promised)
    assert wav_shortfall(write(tmp_path / "big.wav", blob)) == pytest.approx(
        (promised - 2000) / promised)


# -- silence, per channel; an empty clip -----------------------------------------------------

def test_each_channel_loses_its_own_offset_before_the_silence_test():
    # opposite DC offsets and no sound: silent, though the two channels differ by 1.0
    x = np.stack([np.full(SR, 0.5), np.full(SR, -0.5)]).astype(np.float32)
    # a file of non-zero samples is not "digital silence": the message says what it holds
    with pytest.raises(BadInput, match=r"is silent \(a constant DC offset and nothing else\)"):
        validate_samples(Audio(x, SR))
    x[1, ::50] += 0.2  # a click train on the right channel is a sound
    validate_samples(Audio(x, SR))


def test_a_clip_without_samples_is_digital_silence():
    with pytest.raises(BadInput, match=r"is silent \(digital silence\)"):
        validate_samples(Audio(np.zeros((2, 0), np.float32), SR))


# -- the FFmpeg path on a packed sample format ---------------------------------------------------

def test_pcm_in_a_matroska_file_reads_as_the_same_sound(tmp_path):
    av = pytest.importorskip("av")
    sr = 48000
    t = np.arange(sr) / sr
    x = np.stack([0.4 * np.sin(2 * np.pi * 440 * t), 0.1 * np.sin(2 * np.pi * 660 * t)])
    pcm = np.round(x * 32767).astype(np.int16)
    path = tmp_path / "take.mka"  # FFmpeg only; interleaved 16-bit samples; no stream length
    with av.open(str(path), "w", format="matroska") as c:
        stream = c.add_stream("pcm_s16le", rate=sr)
        stream.layout = "stereo"
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm.T).reshape(1, -1),
                                           format="s16", layout="stereo")
        frame.sample_rate, frame.pts = sr, 0
        for packet in list(stream.encode(frame)) + list(stream.encode(None)):
            c.mux(packet)
    a = load_audio(path)
    assert a.sample_rate == sr and a.samples.shape == (2, sr)
    np.testing.assert_allclose(a.samples, pcm / 32768.0, atol=1e-6)
    from engine.audio import audio_info
    info = audio_info(path)
    assert (info.format, info.channels, info.frames) == ("ffmpeg", 2, sr)
    assert info.duration_s == pytest.approx(1.0)


def test_a_failed_write_says_why_and_leaves_nothing(tmp_path):
    from engine.audio import write_audio
    out = tmp_path / "x.flac"
    with pytest.raises(BadInput, match="flac does not support this sample rate"):
        write_audio(out, noise(100), 10 ** 9)
    assert list(tmp_path.iterdir()) == []


def test_a_decoder_failure_is_one_line_that_says_what_to_do(tmp_path, monkeypatch):
    # FFmpeg's decoders skip damaged frames rather than fail, so the failure is injected
    # where the decoded frames are converted: whatever breaks there is named, with the file
    av = pytest.importorskip("av")
    from tests.synth import write_audio_as
    m4a = write_audio_as(tmp_path / "take.m4a", noise(SR), SR)

    class Broken:
        def __init__(self, *a, **k):
            pass

        def resample(self, frame):
            raise av.error.InvalidDataError(1094995529, "Invalid data found when processing input")

    monkeypatch.setattr(av, "AudioResampler", Broken)
    with pytest.raises(BadInput) as err:
        load_audio(m4a)
    assert err.value.message.startswith("Could not decode take.m4a (InvalidDataError: ")
    assert err.value.hint == "Convert it to WAV or FLAC."


# -- sample rates -------------------------------------------------------------------------------

@pytest.mark.parametrize("rate", [1, 44, 100, 4000, 7999])
def test_a_rate_below_telephone_sound_is_refused_by_name(tmp_path, rate):
    """At 1 Hz the cue extractor failed with "negative shift count", at a few hundred hertz it
    printed numpy warnings; such a file holds none of the bands the cues are read in."""
    import soundfile as sf
    from engine.audio import audio_info
    from engine.audio.io import MIN_SAMPLE_RATE, check_audio_header
    path = tmp_path / "low.wav"
    sf.write(path, noise(max(rate * 3, 200)).T, rate, subtype="PCM_16")
    for check in (lambda: load_audio(path), lambda: check_audio_header(audio_info(path))):
        with pytest.raises(BadInput) as e:
            check()
        assert f"sampled at {rate} Hz" in str(e.value) and f"{MIN_SAMPLE_RATE} Hz" in str(e.value)


def test_telephone_sound_is_taken(tmp_path):
    import soundfile as sf
    path = tmp_path / "phone.wav"
    sf.write(path, noise(8000).T, 8000, subtype="PCM_16")
    assert load_audio(path).sample_rate == 8000


def test_the_whole_file_scan_counts_like_validate_samples_across_blocks(tmp_path, monkeypatch):
    """check_nonfinite_share reads in blocks (here 1000 frames) and applies the same exact
    1 % as validate_samples: 1 % passes, one sample more is refused; integer files are
    not read."""
    import soundfile as sf
    from engine.audio import io
    monkeypatch.setattr(io, "_SCAN_BLOCK", 1000)
    x = noise(5000)
    flat = x.reshape(-1)
    flat[:: 100] = np.nan  # 100 of 10000 samples, spread over every block
    path = tmp_path / "f.wav"
    sf.write(path, x.T, SR, subtype="FLOAT")
    io.check_nonfinite_share(path)
    flat[1] = np.inf
    sf.write(path, x.T, SR, subtype="FLOAT")
    with pytest.raises(BadInput, match="f.wav is corrupt: 1.0% of its samples"):
        io.check_nonfinite_share(path)
    sf.write(tmp_path / "i.wav", np.nan_to_num(x).T, SR, subtype="PCM_16")
    io.check_nonfinite_share(tmp_path / "i.wav")


def test_a_file_name_that_is_not_utf8_is_read_and_written(tmp_path):
    """soundfile encodes a str path as strict UTF-8: a name holding the byte \\xff (Python's
    lone surrogate) failed with a UnicodeEncodeError traceback when written (spatialize -o)
    or scanned (every command's NaN check), and was read only through the FFmpeg fallback."""
    import os
    from engine.audio.io import check_nonfinite_share, write_audio
    name = tmp_path / os.fsdecode(b"caf\xe9 latin-1.wav")
    x = noise(4000)
    write_audio(name, x, SR, subtype="FLOAT")
    check_nonfinite_share(name)
    back = load_audio(name)
    assert back.samples.shape == (2, 4000) and np.allclose(back.samples, x)


def test_a_pipe_or_a_device_is_said_to_be_one(tmp_path):
    """'spa2v plan <(ffmpeg ...)' said '63 is not an audio file this app can read' (the header
    was read, then the pipe was empty), a named pipe without a writer waited forever, and
    /dev/null was 'not an audio file'. A named pipe is checked without opening it (stat), so
    this cannot hang; /dev/null stands for it where the check is missing."""
    import os
    from engine.audio import audio_info
    fifo = tmp_path / "live.wav"
    os.mkfifo(fifo)
    for path in ("/dev/null", fifo):
        for read in (load_audio, audio_info):
            with pytest.raises(BadInput, match="is a pipe or a device, not a file"):
                read(path)


def test_a_one_sample_file_is_not_called_0_ms_long(tmp_path):
    """A WAV of one sample at 44.1 kHz was '0 ms long', which reads as empty."""
    import soundfile as sf
    from engine.audio import audio_info
    from engine.audio.io import check_audio_header
    one = tmp_path / "one.wav"
    sf.write(one, np.array([[0.5, -0.5]], np.float32), 44100, subtype="PCM_16")
    with pytest.raises(BadInput, match=r"^one\.wav is 0\.023 ms long; measuring"):
        check_audio_header(audio_info(one), analyse=True)


def test_a_file_that_may_not_be_read_is_not_called_not_audio(tmp_path, monkeypatch):
    """A WAV without read permission (another user's) was 'not an audio file this app can read
    (PermissionError)': the decoders' failure was taken for the format's. Root reads every
    file, so the refusal is made here by the open() the check calls."""
    from engine.audio import io
    path = tmp_path / "theirs.wav"
    import soundfile as sf
    sf.write(path, noise(4000).T, SR)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(io, "open", refuse, raising=False)
    with pytest.raises(BadInput, match=r"theirs\.wav cannot be read: Permission denied\.") as e:
        io.audio_info(path)
    assert e.value.hint == "Check the file's permissions."


def test_a_long_file_of_a_dc_offset_alone_is_refused_as_silent(tmp_path, monkeypatch):
    """Files over LONG_INPUT_S are analysed in chunks, which never see the whole file's
    offset: an 11-minute WAV of a constant offset crashed the cue extractor ('Too many bins
    for data range'). The whole-file scan (blocks of 1000 frames here) refuses it as the short
    path does; a quiet sound on an offset passes."""
    import soundfile as sf
    from engine.audio import io
    from engine.cues import longform
    from engine.jobs import CancelToken, run_job
    from engine.pipeline import PlanSettings, analyse_job
    monkeypatch.setattr(io, "_SCAN_BLOCK", 1000)
    monkeypatch.setattr(longform, "LONG_INPUT_S", 1.0)
    dc = tmp_path / "dc.wav"
    sf.write(dc, np.full((3 * SR, 2), 0.3, np.float32), SR, subtype="PCM_16")
    with pytest.raises(BadInput, match=r"dc\.wav is silent \(a constant DC offset and nothing "
                       r"else\)"):
        run_job(analyse_job(dc, PlanSettings(), tagger=None, token=CancelToken()))
    quiet = tmp_path / "quiet.wav"
    sf.write(quiet, 0.3 + 0.01 * noise(3 * SR).T, SR, subtype="FLOAT")
    io.check_not_silent(quiet)


def test_a_flac_cut_short_is_called_cut_short_not_undecodable(tmp_path):
    """A FLAC download that stopped half-way was 'Could not decode x.flac (InvalidDataError:
    [Errno 1094995529] ... 'avcodec_send_packet()'). Convert it to WAV or FLAC.', advice a
    FLAC cannot take; it now says the file decodes for so long and then fails."""
    import soundfile as sf
    whole = tmp_path / "whole.flac"
    sf.write(whole, noise(3 * SR).T, SR)
    data = whole.read_bytes()
    cut = tmp_path / "cut.flac"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(BadInput) as err:
        load_audio(cut)
    assert err.value.message.startswith("cut.flac is damaged or cut short: it decodes for ")
    assert err.value.hint == "Copy or export it again from the original."

"""Read audio files into ``float32 (channels, samples)`` arrays, and say what is wrong with them.

Formats: WAV, FLAC, OGG/Vorbis, AIFF (libsndfile through soundfile) and MP3, M4A/AAC, Opus,
anything FFmpeg reads (PyAV), tried in that order. Input rules (each tested):

- mono works: the cues cannot tell left from right, so sources are placed centre with
  unknown direction, and the user is told once (``Audio.notes``);
- more than two channels: the first two are kept (left, right), with a warning;
- silence (peak below -60 dBFS once each channel's DC offset is removed) is refused: there
  is nothing to place (a constant offset is the converter's, not a sound);
- a WAV whose header promises more samples than the file holds (a copy cut short) is read
  as far as it goes, with a warning;
- NaN/inf samples: up to 1 % are replaced by zeros with a warning, more is refused;
- clipping (over 0.1 % of samples at full scale) is accepted with a warning, since level
  differences are then unreliable;
- sample rates below :data:`MIN_SAMPLE_RATE` (8 kHz) are refused: the cues' bands are not
  in them;
- long input is read in chunks by the cue extractor; files over :data:`MAX_DURATION_S`
  (3 hours) are refused. Analysis runs at up to 48 kHz (higher rates are resampled with soxr).
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import BadInput
from ..fileio import STDIN_HINT, STDIN_MESSAGE, atomic_path, write_failed

MAX_DURATION_S = 3 * 3600.0
MIN_ANALYSIS_S = 0.1  # the cues' shortest input: a few analysis steps (about 46 ms each)
MAX_ANALYSIS_RATE = 48_000
# The lowest sample rate taken (physical): telephone sound, 8 kHz, still holds the 1.5-4 kHz
# band where a head's delay and level cues are read (docs/hearing.md); below it the cues have
# nothing to measure (at a few hundred hertz their analysis frames are a few samples long, at
# 1 Hz one failed with "negative shift count"), nor can AAC or the binaural renderer take it.
MIN_SAMPLE_RATE = 8_000
SILENCE_DBFS = -60.0
# Share of NaN/inf samples repaired; exact (a Fraction), so that exactly 1 % is "up to 1 %".
NONFINITE_REPAIR_LIMIT = Fraction(1, 100)
CLIP_WARN_FRACTION = 0.001
_SNDFILE_EXT = {".wav", ".flac", ".ogg", ".oga", ".aif", ".aiff", ".w64", ".caf", ".rf64"}


@dataclass(frozen=True)
class AudioInfo:
    path: Path
    sample_rate: int
    channels: int
    frames: int
    format: str

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate else 0.0


@dataclass
class Audio:
    """Samples ``float32 [shape=(channels, n)]``, channel 0 = left; ``channels`` is 1 or 2."""

    samples: np.ndarray
    sample_rate: int
    path: Path | None = None
    notes: list[str] = field(default_factory=list)
    source_channels: int = 2

    @property
    def channels(self) -> int:
        return int(self.samples.shape[0])

    @property
    def is_mono(self) -> bool:
        return self.channels == 1

    @property
    def duration_s(self) -> float:
        return self.samples.shape[-1] / self.sample_rate

    def stereo(self) -> np.ndarray:
        """Two channels; mono is duplicated (a centred source)."""
        return self.samples if self.channels == 2 else np.repeat(self.samples, 2, axis=0)

    def mono(self) -> np.ndarray:
        return self.samples.mean(axis=0)


def too_short_message(path: Path | None, duration_s: float) -> str:
    """What is said of audio shorter than :data:`MIN_ANALYSIS_S`, naming its file when known."""
    what = path.name if path is not None else "The audio"
    ms = duration_s * 1000  # under a millisecond (a sample or two) it is not "0 ms"
    return (f"{what} is {ms:.0f} ms long" if ms >= 1 else f"{what} is {ms:.2g} ms long") + (
        f"; measuring where sounds are needs at least {MIN_ANALYSIS_S:g} s.")


def check_audio_header(info: AudioInfo, *, analyse: bool = False) -> None:
    """What the file's header alone can refuse, in this order: longer than
    :data:`MAX_DURATION_S`, no samples at all, a sample rate below :data:`MIN_SAMPLE_RATE`,
    and (``analyse``: cues will be measured from it) shorter than :data:`MIN_ANALYSIS_S`. A
    length the header does not give (``frames`` -1) passes."""
    name = info.path.name
    if info.duration_s > MAX_DURATION_S:
        raise BadInput(
            f"{name} is {info.duration_s / 3600:.1f} hours long; the limit is "
            f"{MAX_DURATION_S / 3600:.0f} hours.", hint="Trim it to the part you want a video of.")
    if info.frames == 0:
        raise BadInput(f"{name} holds no audio samples.")
    if 0 < info.sample_rate < MIN_SAMPLE_RATE:
        raise BadInput(f"{name} is sampled at {info.sample_rate} Hz; the lowest rate this app "
                       f"takes is {MIN_SAMPLE_RATE} Hz (telephone sound).",
                       hint="Resample it to 44.1 or 48 kHz, or use the original recording.")
    if analyse and 0 < info.frames and info.duration_s < MIN_ANALYSIS_S:
        raise BadInput(too_short_message(info.path, info.duration_s),
                       hint="Use a longer recording.")


def audio_info(path: str | os.PathLike) -> AudioInfo:
    path = check_audio_path(path)
    if path.suffix.lower() in _SNDFILE_EXT:
        try:
            import soundfile as sf
            i = sf.info(_sf_name(path))
            return AudioInfo(path, int(i.samplerate), int(i.channels), int(i.frames), i.format)
        except Exception:
            pass
    return _av_info(path)


def load_audio(path: str | os.PathLike, *, start_s: float = 0.0, duration_s: float | None = None,
               max_rate: int = MAX_ANALYSIS_RATE, validate: bool = True) -> Audio:
    """Load (a span of) an audio file, validated for cue extraction.

    Parameters
    ----------
    path : audio file in any format listed in the module docstring.
    start_s, duration_s : the span to read, for chunked processing of long files.
    max_rate : analysis sample rate cap; 48000 keeps ITD resolution at 21 us per sample.
    validate : apply the input rules (silence, NaN, clipping); chunk readers pass False and
        validate the whole file once.

    Returns
    -------
    Audio with ``samples`` of shape ``(1 or 2, n)``.
    """
    path = check_audio_path(path)
    info = audio_info(path)
    check_audio_header(info)
    samples, sr = _read(path, info, start_s, duration_s)
    notes: list[str] = []
    if samples.shape[0] > 2:
        notes.append(f"{path.name} has {samples.shape[0]} channels; using the first two as "
                     "left and right.")
        samples = samples[:2]
    if sr > max_rate:
        import soxr
        samples = np.ascontiguousarray(
            soxr.resample(samples.T, sr, max_rate, quality="HQ").T, dtype=np.float32)
        sr = max_rate
    audio = Audio(np.ascontiguousarray(samples, dtype=np.float32), int(sr), path, notes,
                  source_channels=info.channels)
    missing = wav_shortfall(path) if validate else None
    if missing:
        audio.notes.append(f"{path.name} is cut short: {missing:.0%} of the sound its header "
                           f"promises is not in the file; using the {info.duration_s:.1f} s "
                           "that are there.")
    if audio.is_mono:
        audio.notes.append(
            f"{path.name} is mono: left and right cannot be told apart, so sounds are placed "
            "in the centre. Record or import stereo for placement.")
    if validate:
        validate_samples(audio)
    return audio


def validate_samples(audio: Audio) -> Audio:
    """Apply the input rules in place (see module docstring); raise :class:`BadInput`."""
    name = audio.path.name if audio.path else "The audio"
    x = audio.samples
    finite = np.isfinite(x)
    if not finite.all():
        count = int(x.size - np.count_nonzero(finite))
        bad = count / x.size
        if count > NONFINITE_REPAIR_LIMIT * x.size:  # counts, exactly: no float rounding
            raise _corrupt(name, bad)
        x[~finite] = 0.0
        audio.notes.append(f"{name}: {bad:.3%} of samples were NaN or infinite and were set "
                           "to silence.")
    peak = sound_peak(x)
    if peak <= 10 ** (SILENCE_DBFS / 20):
        raise _silent(name, peak, offset=bool(x.size and np.any(x)))
    clipped = float(np.mean(np.abs(x) >= 0.999))
    if clipped > CLIP_WARN_FRACTION:
        audio.notes.append(f"{name} is clipped ({clipped:.2%} of samples at full scale); "
                           "left/right levels may be off. Record at a lower gain if you can.")
    return audio


def sound_peak(x: np.ndarray) -> float:
    """The peak of the sound in ``(C, N)`` samples: each channel's DC offset removed first
    (the converter's, which no microphone hears). What silence is judged by, everywhere."""
    return float(np.max(np.abs(x - x.mean(axis=1, keepdims=True)))) if x.size else 0.0


def _silent(name: str, peak: float, *, offset: bool) -> BadInput:
    """The silence refusal; ``peak`` is the level once each channel's offset is removed,
    ``offset`` whether any sample is not zero."""
    if peak > 0:
        level = f"peak {20 * np.log10(peak):.0f} dBFS"
    elif offset:  # constant, not zero: it was called digital silence
        level = "a constant DC offset and nothing else"
    else:
        level = "digital silence"
    return BadInput(f"{name} is silent ({level}); there is no sound to place.",
                    hint="Check the input level or pick another file.")


def check_not_silent(path: str | os.PathLike) -> None:
    """The silence rule of :func:`validate_samples` for a whole file, read a block at a time
    (long files, which are analysed in chunks): each channel's offset is its mean over the
    whole file, so a constant offset alone is silent here as it is there. Files libsndfile
    does not read (compressed ones) are not read."""
    path = Path(path)
    if path.suffix.lower() not in _SNDFILE_EXT:
        return
    import soundfile as sf
    try:
        total = lo = hi = None
        n = 0
        for block in sf.blocks(_sf_name(path), blocksize=_SCAN_BLOCK, dtype="float64",
                               always_2d=True):
            block = np.where(np.isfinite(block), block, 0.0)  # as validate_samples repairs
            s, b_lo, b_hi = block.sum(axis=0), block.min(axis=0), block.max(axis=0)
            total = s if total is None else total + s
            lo = b_lo if lo is None else np.minimum(lo, b_lo)
            hi = b_hi if hi is None else np.maximum(hi, b_hi)
            n += block.shape[0]
    except (sf.LibsndfileError, RuntimeError, OSError):  # the reader proper words these
        return
    if not n:
        return
    mean = total / n
    peak = float(np.max(np.maximum(hi - mean, mean - lo)))
    if peak <= 10 ** (SILENCE_DBFS / 20):
        raise _silent(path.name, peak, offset=bool(np.any(lo != 0) or np.any(hi != 0)))


def _corrupt(name: str, share: float) -> BadInput:
    return BadInput(f"{name} is corrupt: {share:.1%} of its samples are NaN or infinite.",
                    hint="Re-export it from your audio editor.")


_FLOAT_SUBTYPES = {"FLOAT", "DOUBLE"}
_SCAN_BLOCK = 1 << 20  # frames read at a time: a few megabytes


def check_nonfinite_share(path: str | os.PathLike) -> None:
    """The NaN/inf rule of :func:`validate_samples` for a whole file, read a block at a time
    (bounded memory, for any length): :class:`BadInput` when more than
    :data:`NONFINITE_REPAIR_LIMIT` of the samples are NaN or infinite. Only float samples can
    be; files in other sample formats (and compressed ones) are not read."""
    path = Path(path)
    if path.suffix.lower() not in _SNDFILE_EXT:
        return
    import soundfile as sf
    try:
        if sf.info(_sf_name(path)).subtype not in _FLOAT_SUBTYPES:
            return
        count = size = 0
        for block in sf.blocks(_sf_name(path), blocksize=_SCAN_BLOCK, dtype="float32",
                               always_2d=True):
            size += block.size
            count += block.size - int(np.count_nonzero(np.isfinite(block)))
    except (sf.LibsndfileError, RuntimeError, OSError):  # the reader proper words these
        return
    if size and count > NONFINITE_REPAIR_LIMIT * size:
        raise _corrupt(path.name, count / size)


def write_audio(path: str | os.PathLike, samples: np.ndarray, sample_rate: int,
                *, subtype: str | None = None) -> None:
    """Write ``(channels, n)`` samples atomically (format from the extension)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        write_audio_into(tmp, samples, sample_rate, subtype=subtype, dest=path)


def write_audio_into(tmp: str | os.PathLike, samples: np.ndarray, sample_rate: int, *,
                     subtype: str | None = None, dest: str | os.PathLike) -> None:
    """Write into ``tmp``, the temporary of an :func:`atomic_path` for ``dest`` that the
    caller renames when the rest of its work is done too; the format comes from ``dest``'s
    extension, and errors name ``dest``."""
    import soundfile as sf
    try:
        sf.write(_sf_name(tmp), np.asarray(samples, dtype=np.float32).T, int(sample_rate),
                 subtype=subtype, format=_sf_format(Path(dest)))
    except sf.LibsndfileError as e:  # "System error." alone says nothing: name the file
        raise write_failed(dest, e) from None


def _sf_name(path: str | os.PathLike) -> bytes:
    """A path as libsndfile takes it: the file system's bytes. soundfile encodes a str as
    strict UTF-8, so a name that is not UTF-8 (one byte \\xff: Python holds it as a lone
    surrogate) failed with a UnicodeEncodeError traceback."""
    return os.fsencode(os.fspath(path))


def _sf_format(path: Path) -> str | None:
    ext = path.suffix.lower().lstrip(".")
    return {"wav": "WAV", "flac": "FLAC", "ogg": "OGG", "aiff": "AIFF", "aif": "AIFF"}.get(ext)


def wav_shortfall(path: str | os.PathLike) -> float | None:
    """The fraction of the samples a WAV's header promises that the file does not hold, or
    None (not a RIFF/WAVE file, a size left unset by a streaming writer, or nothing missing)."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            size = os.fstat(f.fileno()).st_size
            pos = 12
            while pos + 8 <= size:
                f.seek(pos)
                chunk, n = struct.unpack("<4sI", f.read(8))
                if chunk == b"data":
                    present = size - pos - 8
                    if n in (0, 0xFFFFFFFF) or present >= n:
                        return None
                    return (n - present) / n
                pos += 8 + n + (n & 1)
    except OSError:
        return None
    return None


def check_audio_path(path: str | os.PathLike) -> Path:
    """``path`` as a Path when it names a file; :class:`BadInput` for a missing file, a
    folder, a pipe or device, a file that may not be read, or an empty file."""
    p = Path(path)
    if not p.exists():
        if str(path) == "-":
            raise BadInput(STDIN_MESSAGE.format(what="sound"), hint=STDIN_HINT)
        raise BadInput(f"Audio file not found: {p}.")
    if p.is_dir():
        raise BadInput(f"{p} is a folder, not an audio file.",
                       hint="Pick one sound file inside it (one sound makes one video).")
    if not p.is_file():  # a pipe would be read once (or wait for a writer), a device forever
        raise BadInput(f"{p} is a pipe or a device, not a file: sound is read from its file "
                       "more than once, which only a file allows.",
                       hint="Save the sound to a file and give that.")
    try:  # a decoder would call a file it may not open "not an audio file"
        open(p, "rb").close()
    except OSError as e:
        raise BadInput(f"{p} cannot be read: {e.strerror or e}.",
                       hint="Check the file's permissions.") from None
    if p.stat().st_size == 0:  # a decoder would say "InvalidDataError"
        raise BadInput(f"{p} is empty (0 bytes).", hint="Pick the recording itself; this "
                       "file may be a copy or download that did not finish.")
    return p


def _read(path: Path, info: AudioInfo, start_s: float, duration_s: float | None):
    sr = info.sample_rate
    start = max(0, int(round(start_s * sr)))
    stop = None if duration_s is None else start + int(round(duration_s * sr))
    if info.format != "ffmpeg":
        import soundfile as sf
        try:
            data, sr = sf.read(_sf_name(path), start=start, stop=stop, dtype="float32", always_2d=True)
            return data.T.copy(), int(sr)
        except Exception:
            pass
    return _av_read(path, start_s, duration_s)


def _av_info(path: Path) -> AudioInfo:
    import av
    try:
        with av.open(str(path)) as c:
            streams = c.streams.audio
            if not streams:
                raise BadInput(f"{path.name} has no audio stream.")
            s = streams[0]
            dur = None
            if s.duration is not None and s.time_base is not None:
                dur = float(s.duration * s.time_base)
            elif c.duration is not None:
                dur = c.duration / 1_000_000
            sr = int(s.codec_context.sample_rate or s.rate or 0)
            ch = int(s.codec_context.channels if hasattr(s.codec_context, "channels")
                     else s.layout.nb_channels)
            return AudioInfo(path, sr, ch, int(round((dur or 0.0) * sr)) if dur else -1, "ffmpeg")
    except BadInput:
        raise
    except Exception as e:
        raise BadInput(f"{path.name} is not an audio file this app can read ({type(e).__name__}).",
                       hint="Use WAV, FLAC, OGG, AIFF, MP3, M4A or Opus.") from None


def _av_read(path: Path, start_s: float, duration_s: float | None):
    import av
    chunks = []
    sr = None
    try:
        with av.open(str(path)) as c:
            stream = c.streams.audio[0]
            sr = int(stream.codec_context.sample_rate)
            resampler = av.AudioResampler(format="fltp", rate=sr)
            for frame in c.decode(stream):
                for f in resampler.resample(frame):
                    chunks.append(f.to_ndarray())
            for f in resampler.resample(None):
                chunks.append(f.to_ndarray())
    except Exception as e:
        if chunks:  # part of it decoded: the file is damaged there, or cut short (a download)
            done = sum(c.shape[-1] for c in chunks) / sr
            raise BadInput(f"{path.name} is damaged or cut short: it decodes for {done:.1f} s "
                           f"and then fails ({type(e).__name__}).",
                           hint="Copy or export it again from the original.") from None
        raise BadInput(f"Could not decode {path.name} ({type(e).__name__}: {e}).",
                       hint="Convert it to WAV or FLAC.") from None
    if not chunks:
        raise BadInput(f"{path.name} holds no audio samples.")
    data = np.concatenate(chunks, axis=1).astype(np.float32)
    start = max(0, int(round(start_s * sr)))
    stop = None if duration_s is None else start + int(round(duration_s * sr))
    return data[:, start:stop], sr

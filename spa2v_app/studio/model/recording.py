"""Recording from an input device straight to a WAV on disk, so nothing recorded is lost.

The PortAudio callback (``sounddevice.InputStream``) only copies each block into a queue and
measures its peak; a writer thread appends the blocks to the file and flushes about four times a
second. libsndfile rewrites the WAV header on every flush, so the file on disk is a valid WAV
holding everything up to the last flush even if the app or the machine dies mid-recording. A
device that fails or goes silent mid-way ends the recording: the file keeps what was captured
and the error says what happened. No Qt here; the record panel polls :class:`Recorder`.
"""

from __future__ import annotations

import datetime as _dt
import os
import queue
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.audio.io import MAX_DURATION_S, SILENCE_DBFS
from engine.errors import SpA2VError
from engine.fileio import read_json, write_json_atomic
from engine.project import process_alive

# A WAV's sizes are 32-bit: past 4 GiB its header wraps and readers lose the rest (a 96 kHz
# 24-bit stereo recording reaches it at 2 h 4 min). 1 MiB is left for the header's chunks.
WAV_MAX_BYTES = 0xFFFFFFFF - (1 << 20)
SAMPLE_BYTES = {"PCM_16": 2, "PCM_24": 3, "PCM_32": 4, "FLOAT": 4, "DOUBLE": 8}
STALL_S = 2.0  # no block from the device for this long means it has gone away
FLUSH_EVERY_S = 0.25
# Design: a take with nothing above the engine's silence this long is said at once (a muted
# or wrong input), not after the take, when the import refuses it.
SILENT_WARN_S = 2.0
SAMPLE_RATES = (44100, 48000, 96000)
# Design: a write that fails with less than this free on the recordings folder's disk is
# reported as a full disk (libsndfile only says "System error."); 1 MiB is under 4 s of
# 48 kHz stereo 24-bit audio.
FULL_DISK_BYTES = 1 << 20


def _free_bytes(folder: Path) -> int | None:
    for f in (folder, *folder.parents):
        if f.exists():
            try:
                return shutil.disk_usage(f).free
            except OSError:
                return None
    return None


def write_problem(folder: Path, error: Exception) -> str:
    """Why the recordings folder cannot be written, in words: a full disk named as such."""
    free = _free_bytes(Path(folder))
    if free is not None and free < FULL_DISK_BYTES:
        return f"the disk holding {folder} is full"
    return f"could not write to {folder} ({error})"


def recording_limit(sample_rate: int, channels: int, subtype: str) -> tuple[int, str]:
    """The most frames one recording may hold, and the sentence that says why it stopped
    there: the engine's longest sound (:data:`~engine.audio.io.MAX_DURATION_S`; not a frame
    over, or the import refuses it), or less where a WAV file would pass 4 GiB."""
    engine_frames = int(MAX_DURATION_S * sample_rate)
    wav_frames = WAV_MAX_BYTES // (channels * SAMPLE_BYTES.get(subtype, 4))
    if wav_frames < engine_frames:
        minutes = int(wav_frames / sample_rate // 60)
        return wav_frames, (f"Recordings at {sample_rate / 1000:g} kHz stop at "
                            f"{minutes // 60} h {minutes % 60} min: a WAV file holds 4 GB.")
    return engine_frames, f"Recordings stop at {MAX_DURATION_S / 3600:g} hours."


@dataclass(frozen=True)
class InputDevice:
    index: int
    name: str
    max_channels: int
    default_rate: float

    @property
    def label(self) -> str:
        kind = "stereo" if self.max_channels >= 2 else "mono"
        return f"{self.name} ({self.max_channels} ch, {kind})"


# What brings PortAudio (recording and playback) where it is missing.
PORTAUDIO_ADVICE = "install libportaudio2 and pip install 'spa2v-studio[gui]'"


def list_input_devices(*, rescan: bool = False) -> tuple[list[InputDevice], str | None]:
    """Input devices, and the reason when there are none (PortAudio missing, no devices).

    PortAudio lists devices once, when it starts; ``rescan`` restarts it so that a microphone
    plugged in since is found (only while no stream is open: a restart closes them).
    """
    try:
        import sounddevice as sd
    except (ImportError, OSError) as e:
        return [], f"Recording needs the sounddevice package and PortAudio ({e}); {PORTAUDIO_ADVICE}."
    try:
        if rescan:
            sd._terminate()
            sd._initialize()
        devices = sd.query_devices()
    except Exception as e:  # PortAudio errors are not ImportError
        return [], f"Could not list audio devices ({e})."
    out = [InputDevice(i, str(d["name"]), int(d["max_input_channels"]),
                       float(d["default_samplerate"]))
           for i, d in enumerate(devices) if int(d["max_input_channels"]) > 0]
    return out, None if out else "No audio input device was found. Plug in a microphone."


def channel_choices(max_channels: int) -> list[tuple[str, tuple[int, ...]]]:
    """(label, zero-based channels) a device offers: stereo pairs first, then single inputs."""
    pairs = [(f"{i + 1}+{i + 2} (stereo)", (i, i + 1)) for i in range(0, max_channels - 1, 2)]
    singles = [(f"{i + 1} (mono)", (i,)) for i in range(max_channels)]
    return pairs + singles


def new_recording_path(folder: str | Path) -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    folder = Path(folder)
    path = folder / f"recording-{stamp}.wav"
    k = 2
    while path.exists():
        path = folder / f"recording-{stamp}-{k}.wav"
        k += 1
    return path


# Beside each WAV being recorded: who records it and how the input records (the answers
# of the Record panel), removed when the recording stops. One left behind by a process that
# is gone marks a recording cut off by a crash, a kill or a power cut.
MARKER_SUFFIX = ".recording.json"


def marker_path(wav: Path) -> Path:
    return wav.with_name(wav.name + MARKER_SUFFIX)


@dataclass(frozen=True)
class CutOffRecording:
    """A recording whose app died before it stopped: the WAV holds what reached the last
    flush (a quarter of a second before the end at most)."""

    path: Path
    marker: Path
    frames: int
    sample_rate: int
    about: dict

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate else 0.0

    def forget(self) -> None:
        """Stop offering it (the WAV stays where it is)."""
        self.marker.unlink(missing_ok=True)


def forget_recording(wav: Path) -> None:
    """The recording is safe (its project holds it, or the user was told where it is): stop
    offering it at the next start. The WAV stays."""
    marker_path(Path(wav)).unlink(missing_ok=True)


def find_cut_off_recordings(folder: str | Path) -> list[CutOffRecording]:
    """Recordings in ``folder`` cut off by the end of the process that made them, newest
    first. Markers of a process still running (another studio recording now) are left alone;
    markers of a file that is gone or holds no sound are dropped."""
    import soundfile as sf
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = []
    for marker in folder.glob("*" + MARKER_SUFFIX):
        try:
            meta = read_json(marker, what="Recording marker")
        except (OSError, ValueError, SpA2VError):  # unreadable: the WAV is still offered
            meta = {}
        meta = meta if isinstance(meta, dict) else {}
        pid = meta.get("pid")
        if pid == os.getpid() or process_alive(pid):
            continue
        wav = marker.with_name(marker.name[: -len(MARKER_SUFFIX)])
        try:
            info = sf.info(str(wav))
        except (OSError, RuntimeError):
            info = None
        if info is None or info.frames <= 0:
            marker.unlink(missing_ok=True)
            continue
        about = meta.get("about") if isinstance(meta.get("about"), dict) else {}
        found.append(CutOffRecording(wav, marker, int(info.frames), int(info.samplerate),
                                     about))
    return sorted(found, key=lambda c: c.path.stat().st_mtime, reverse=True)


@dataclass(frozen=True)
class Levels:
    """Peak level per channel since the last poll (dBFS), and whether any sample clipped."""

    peak_db: tuple[float, ...]
    clipped: tuple[bool, ...]


def overflow_note(count: int) -> str:
    """What a device's overflow flags mean for the recording, in words."""
    times = "once" if count == 1 else f"{count} times"
    return (f"The input overflowed {times} (the computer fell behind and the device dropped "
            "audio): the recording has short gaps there. Close other programs or record at "
            "a lower rate.")


@dataclass(frozen=True)
class RecordingResult:
    path: Path
    frames: int
    sample_rate: int
    channels: int
    error: str | None = None
    overflows: int = 0  # blocks the device flagged (input overflow: audio dropped)

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate else 0.0


class Recorder:
    """One recording: ``start()`` opens the file and the stream, ``stop()`` closes both.

    Parameters
    ----------
    folder : where the WAV goes (created if needed).
    device : PortAudio device index, or None for the default input.
    channels : zero-based input channels to keep, ``(0, 1)`` = the first stereo pair.
    sample_rate : Hz.
    stream_factory : ``sounddevice.InputStream`` or a stand-in with the same signature (tests).
    about : how the input records (kept in the marker beside the WAV while it records, so a
        recording cut off by a crash is read the same way when it is offered back).
    """

    def __init__(self, folder: str | Path, *, device: int | None = None,
                 channels: tuple[int, ...] = (0, 1), sample_rate: int = 48000,
                 subtype: str = "PCM_24", stream_factory=None, blocksize: int = 1024,
                 about: dict | None = None):
        if not channels:
            raise ValueError("pick at least one input channel")
        self.folder = Path(folder)
        self.device = device
        self.channels = tuple(channels)
        self.sample_rate = int(sample_rate)
        self.subtype = subtype
        self.blocksize = blocksize
        self._stream_factory = stream_factory
        self.about = dict(about or {})
        self.path: Path | None = None
        self.marker: Path | None = None
        self.max_frames, self._limit_note = recording_limit(self.sample_rate,
                                                            len(self.channels), subtype)
        self.loudest = 0.0  # the highest peak since the start (linear)
        self.frames = 0  # received from the device
        self.written = 0  # in the file
        self.error: str | None = None
        self._queue: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self._peaks = np.zeros(len(self.channels))
        self._clipped = np.zeros(len(self.channels), bool)
        self._last_block = 0.0
        self._stopping = False
        self._running = False
        self._writer: threading.Thread | None = None
        self._file = None
        self._stream = None
        self.xruns = 0

    # -- control ------------------------------------------------------------------------------
    def start(self) -> Path:
        import soundfile as sf
        factory = self._stream_factory
        if factory is None:
            import sounddevice as sd
            factory = sd.InputStream
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.path = new_recording_path(self.folder)
            self._started_at = _dt.datetime.now().astimezone().isoformat()
            self._file = sf.SoundFile(str(self.path), "w", samplerate=self.sample_rate,
                                      channels=len(self.channels), format="WAV",
                                      subtype=self.subtype)
            self.marker = marker_path(self.path)
            self._write_marker(pid=os.getpid())
        except (OSError, RuntimeError, ValueError) as e:  # libsndfile's errors: RuntimeError
            if self._file is not None:
                self._file.close()
                self._file = None
            if self.path is not None:
                self.path.unlink(missing_ok=True)  # libsndfile leaves an empty file
            if self.marker is not None:
                self.marker.unlink(missing_ok=True)
            self.error = (f"Cannot record: {write_problem(self.folder, e)}. Free some space "
                          "or choose another recordings folder in Settings.")
            raise RuntimeError(self.error) from None
        self._writer = threading.Thread(target=self._write_loop, name="spa2v-recorder",
                                        daemon=True)
        self._writer.start()
        try:
            self._stream = factory(device=self.device, channels=max(self.channels) + 1,
                                   samplerate=self.sample_rate, dtype="float32",
                                   blocksize=self.blocksize, callback=self._callback,
                                   finished_callback=self._finished)
            self._last_block = time.monotonic()
            self._running = True
            self._stream.start()
        except Exception as e:
            self._running = False
            self.error = f"Could not open the input device ({e})."
            self._close_writer()
            self.path.unlink(missing_ok=True)
            self.marker.unlink(missing_ok=True)
            raise RuntimeError(self.error) from None
        return self.path

    def stop(self, *, then: str = "forget") -> RecordingResult:
        """Stop and close; safe to call after a device failure and more than once.

        ``then`` says what becomes of the marker beside the WAV: ``"forget"`` removes it;
        ``"hold"`` keeps it naming this process, for a caller that imports the recording and
        calls :func:`forget_recording` once its project holds it (a crash before that, in a
        long import say, and the next start offers it); ``"offer"`` leaves it naming no
        process, so the next start offers it (the app is closing and will not import it)."""
        if then not in ("forget", "hold", "offer"):
            raise ValueError(f"then={then!r}")
        self._stopping = True
        if self._stream is not None:
            stream, self._stream = self._stream, None
            for op in (stream.stop, stream.close):
                try:
                    op()
                except Exception as e:  # a dead device may fail to stop: the file still counts
                    self.error = self.error or f"The input device failed while stopping ({e})."
        self._running = False
        self._close_writer()
        if self.marker is not None and then == "forget":
            self.marker.unlink(missing_ok=True)
        elif self.marker is not None and then == "offer":
            try:
                self._write_marker(pid=None)
            except (OSError, ValueError):
                pass  # the marker names this process, gone by the next start: offered anyway
        frames = self.written
        if self.error and self.path is not None:
            # After a failed write the file's header is the truth (a block may be in part).
            import soundfile as sf
            try:
                frames = sf.info(str(self.path)).frames
            except (OSError, RuntimeError):
                pass
        return RecordingResult(self.path, frames, self.sample_rate, len(self.channels),
                               self.error, self.xruns)

    @property
    def running(self) -> bool:
        return self._running

    @property
    def elapsed_s(self) -> float:
        return self.frames / self.sample_rate

    def check(self) -> str | None:
        """Poll from the GUI: the error that ended the recording, if the device failed or went
        silent; the caller then calls :meth:`stop` (which keeps the file)."""
        if self._running and not self._stopping and self.error is None:
            if time.monotonic() - self._last_block > STALL_S:
                self.error = (f"The input device sent no audio for {STALL_S:.0f} s; the "
                              "recording was stopped.")
        if self.error is not None and self._running:
            self._running = False
        return self.error

    def silent_so_far(self) -> bool:
        """Nothing louder than the engine's silence (:data:`~engine.audio.io.SILENCE_DBFS`)
        since the start, after :data:`SILENT_WARN_S`: as it stands the take would be refused
        as silent at import."""
        return (self.elapsed_s >= SILENT_WARN_S
                and self.loudest <= 10 ** (SILENCE_DBFS / 20))

    def levels(self) -> Levels:
        with self._lock:
            peaks, clipped = self._peaks.copy(), self._clipped.copy()
            self._peaks[:] = 0.0
            self._clipped[:] = False
        db = tuple(float(20 * np.log10(max(p, 1e-6))) for p in peaks)
        return Levels(db, tuple(bool(c) for c in clipped))

    def set_about(self, about: dict) -> None:
        """The user answered again how the input records, mid-take: the marker follows, so a
        crash offers the recording read as the latest answer (what a stop would use)."""
        self.about = dict(about)
        if self._running and self.marker is not None:
            try:
                self._write_marker(pid=os.getpid())
            except (OSError, ValueError):
                pass  # the earlier answer stays: the recording is still offered

    def _write_marker(self, *, pid: int | None) -> None:
        write_json_atomic(self.marker, {
            "pid": pid, "started_at": self._started_at, "sample_rate": self.sample_rate,
            "channels": len(self.channels), "about": self.about})

    # -- threads ------------------------------------------------------------------------------
    def _callback(self, indata, frames, time_info, status) -> None:
        # PortAudio thread: copy and measure only; the disk is the writer thread's business.
        if status:  # PortAudio's input overflow/underflow: audio was dropped
            self.xruns += 1
        block = np.array(indata[:, list(self.channels)], dtype=np.float32, copy=True)
        block = block[: max(0, self.max_frames - self.frames)]  # not a frame over the limit
        self._queue.put(block)
        self._last_block = time.monotonic()
        peak = np.max(np.abs(block), axis=0) if len(block) else np.zeros(len(self.channels))
        with self._lock:
            np.maximum(self._peaks, peak, out=self._peaks)
            self._clipped |= peak >= 0.999
        if len(peak):
            self.loudest = max(self.loudest, float(np.max(peak)))
        self.frames += len(block)
        if self.frames >= self.max_frames:
            self.error = self._limit_note
            import sounddevice as sd
            raise sd.CallbackStop

    def _finished(self) -> None:
        if not self._stopping and self.error is None:
            self.error = "The input device stopped unexpectedly (unplugged or taken by another app)."
        self._running = False

    def _write_loop(self) -> None:
        last_flush = time.monotonic()
        while True:
            block = self._queue.get()
            if block is None:
                break
            try:
                self._file.write(block)
                self.written += len(block)
                if time.monotonic() - last_flush >= FLUSH_EVERY_S:
                    self._file.flush()  # rewrites the WAV header: the file is valid up to here
                    last_flush = time.monotonic()
            except Exception as e:  # disk full, folder removed: stop, keep what is there
                problem = write_problem(self.folder, e)
                self.error = f"The recording stopped: {problem}."
                self._running = False
                while self._queue.get() is not None:
                    pass
                break

    def _close_writer(self) -> None:
        if self._writer is not None:
            self._queue.put(None)
            self._writer.join(timeout=10)
            self._writer = None
        if self._file is not None:
            try:
                self._file.close()
            except Exception as e:
                self.error = self.error or f"Could not finish the recording file ({e})."
            self._file = None

"""Audio playback with a position the playhead can follow.

The position comes from the output stream itself (frames handed to the device, less its
latency), so the playhead is where the sound is. PySide6-Essentials, which the ``gui`` extra
installs, has no QtMultimedia (it is in the 170 MB PySide6-Addons wheel); sounddevice is
needed for recording anyway and gives a sample-accurate clock. Without an output device (a
headless machine, the tests) the player runs on a monotonic clock, so the playhead and the
GUI behave the same, silently.
"""

from __future__ import annotations

import threading
import time

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

TICK_MS = 33


class AudioPlayer(QObject):
    position_changed = Signal(float)  # seconds, about 30 times a second while playing
    playing_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None, *, use_device: bool = True):
        super().__init__(parent)
        self.samples: np.ndarray | None = None  # (n, channels) float32
        self.sample_rate = 48000
        self.use_device = use_device
        self.backend = "none"
        self.error: str | None = None
        self._stream = None
        self._frame = 0
        self._drained_at: float | None = None  # when the device was handed the last frame
        self._lock = threading.Lock()
        self._clock_start = 0.0
        self._clock_from = 0.0
        self._playing = False
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)

    @property
    def playing(self) -> bool:
        return self._playing

    @property
    def duration_s(self) -> float:
        return 0.0 if self.samples is None else len(self.samples) / self.sample_rate

    def set_audio(self, samples: np.ndarray | None, sample_rate: int) -> None:
        """``samples``: float32 ``(channels, n)`` as the engine loads them (or None)."""
        self.stop()
        self.samples = None if samples is None else np.ascontiguousarray(
            np.atleast_2d(samples).T, dtype=np.float32)
        self.sample_rate = int(sample_rate)

    def position(self) -> float:
        if not self._playing:
            return self._frame / self.sample_rate
        if self.backend == "device":
            latency = float(getattr(self._stream, "latency", 0.0) or 0.0)
            with self._lock:
                return max(0.0, self._frame / self.sample_rate - latency)
        return self._clock_from + (time.monotonic() - self._clock_start)

    def play(self, from_s: float | None = None) -> None:
        if self.samples is None:
            return
        self.stop()
        start = self.position() if from_s is None else from_s
        if start >= self.duration_s - 1e-3:
            start = 0.0
        self._frame = int(start * self.sample_rate)
        self._drained_at = None
        self._playing = True
        self.backend = "clock"
        if self.use_device and self._open_device():
            self.backend = "device"
        self._clock_start, self._clock_from = time.monotonic(), start
        self._timer.start()
        self.playing_changed.emit(True)

    def pause(self) -> None:
        if self._playing:
            pos = self.position()
            self.stop()
            self._frame = int(pos * self.sample_rate)
            self.position_changed.emit(pos)

    def toggle(self, from_s: float | None = None) -> None:
        self.pause() if self._playing else self.play(from_s)

    def seek(self, t: float) -> None:
        """Move the play position; playing goes on from there. The output stream is kept: a
        drag on the timeline seeks on every mouse move, and closing and reopening the device
        each time stuttered the sound and flickered the play button."""
        t = min(max(0.0, t), self.duration_s)
        with self._lock:
            self._frame = int(t * self.sample_rate)
            self._drained_at = None
        self._clock_start, self._clock_from = time.monotonic(), t

    def stop(self) -> None:
        was = self._playing
        self._playing = False
        self._timer.stop()
        if self._stream is not None:
            stream, self._stream = self._stream, None
            try:
                stream.stop()
                stream.close()
            except Exception:
                pass
        if was:
            self.playing_changed.emit(False)

    def _open_device(self) -> bool:
        try:
            import sounddevice as sd
            channels = min(2, self.samples.shape[1])
            self._stream = sd.OutputStream(samplerate=self.sample_rate, channels=channels,
                                           dtype="float32", callback=self._callback)
            self._stream.start()
            self.error = None
            return True
        except (ImportError, OSError) as e:  # PortAudio missing: say what brings it
            from .model.recording import PORTAUDIO_ADVICE
            self._stream = None
            self.error = (f"No audio output: playback needs the sounddevice package and PortAudio "
                          f"({e}); {PORTAUDIO_ADVICE}. Playing silently.")
            return False
        except Exception as e:  # no device: play on the clock instead
            self._stream = None
            self.error = f"No audio output ({e}); playing silently."
            return False

    def _callback(self, outdata, frames, time_info, status) -> None:
        with self._lock:
            start = self._frame
            chunk = self.samples[start:start + frames, : outdata.shape[1]]
            self._frame = start + len(chunk)
            if len(chunk) < frames and self._drained_at is None:
                self._drained_at = time.monotonic()
        outdata[: len(chunk)] = chunk
        outdata[len(chunk):] = 0

    def ended(self) -> bool:
        """Has the sound played to its end? On a device the position is what was handed
        over less the output latency, so it never reaches the end: the end is when the last
        frame was handed over a latency ago (the player ran on, showing Pause, for ever)."""
        if self.position() >= self.duration_s:
            return True
        if self.backend != "device":
            return False
        with self._lock:
            drained = self._drained_at
        latency = float(getattr(self._stream, "latency", 0.0) or 0.0)
        return drained is not None and time.monotonic() - drained >= latency

    def _tick(self) -> None:
        pos = self.position()
        if self.ended():
            self.stop()
            self._frame = 0
            self.position_changed.emit(self.duration_s)
            return
        self.position_changed.emit(pos)

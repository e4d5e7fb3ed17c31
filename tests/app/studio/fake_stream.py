"""A stand-in for ``sounddevice.InputStream`` that plays a known signal into the callback.

Used by the tests, the screenshot script and the GUI benchmark, so that none of them needs (or
ever opens) a real microphone. It has the same constructor keywords and start/stop/close
methods; ``fail_after_s`` makes the "device" die mid-way the way an unplugged one does (the
callback stops and the finished callback fires).
"""

from __future__ import annotations

import threading
import time

import numpy as np


class FakeFlags:
    def __bool__(self) -> bool:
        return False


class FakeInputStream:
    """Feeds a stereo signal (a tone panned from left to right, plus a little noise).

    Parameters beyond sounddevice's: ``signal`` (frames, channels) to play instead, ``speed``
    (how many times faster than real time to deliver blocks), ``fail_after_s``, and
    ``start_error`` (raise this from ``start()``, like a busy device).
    """

    instances: list["FakeInputStream"] = []

    def __init__(self, *, device=None, channels=2, samplerate=48000, dtype="float32",
                 blocksize=1024, callback=None, finished_callback=None, signal=None,
                 speed: float = 1.0, fail_after_s: float | None = None, start_error=None,
                 level: float = 0.3, **_):
        self.device, self.channels, self.samplerate = device, channels, samplerate
        self.blocksize = blocksize or 1024
        self.callback, self.finished_callback = callback, finished_callback
        self.signal = signal
        self.speed = speed
        self.fail_after_s = fail_after_s
        self.start_error = start_error
        self.level = level
        self.frames_sent = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.active = False
        FakeInputStream.instances.append(self)

    def start(self) -> None:
        if self.start_error is not None:
            raise self.start_error
        self.active = True
        self._thread = threading.Thread(target=self._run, daemon=True, name="fake-input")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self.active = False

    def close(self) -> None:
        self.stop()

    def block(self, start: int, n: int) -> np.ndarray:
        if self.signal is not None:
            sig = np.asarray(self.signal, np.float32)
            idx = (start + np.arange(n)) % len(sig)
            out = sig[idx]
            if out.shape[1] < self.channels:
                out = np.pad(out, ((0, 0), (0, self.channels - out.shape[1])))
            return out[:, : self.channels]
        t = (start + np.arange(n)) / self.samplerate
        pan = 0.5 + 0.5 * np.sin(2 * np.pi * 0.25 * t)  # 0 = left, 1 = right
        tone = self.level * np.sin(2 * np.pi * 330 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
        rng = np.random.default_rng(start)
        noise = 0.01 * rng.standard_normal(n)
        chans = [np.sqrt(1 - pan) * tone + noise, np.sqrt(pan) * tone + noise]
        while len(chans) < self.channels:
            chans.append(noise)
        return np.stack(chans[: self.channels], axis=1).astype(np.float32)

    def _run(self) -> None:
        period = self.blocksize / self.samplerate / self.speed
        next_t = time.monotonic()
        while not self._stop.is_set():
            if self.fail_after_s is not None and self.frames_sent >= self.fail_after_s * self.samplerate:
                break
            data = self.block(self.frames_sent, self.blocksize)
            try:
                self.callback(data, self.blocksize, None, FakeFlags())
            except Exception as e:  # sounddevice.CallbackStop / CallbackAbort end the stream
                if type(e).__name__ in ("CallbackStop", "CallbackAbort"):
                    break
                raise
            self.frames_sent += self.blocksize
            next_t += period
            delay = next_t - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
        self.active = False
        if self.finished_callback is not None:
            self.finished_callback()


def fake_stream_factory(**defaults):
    """A factory with fixed extra keywords, e.g. ``fake_stream_factory(fail_after_s=0.5)``."""

    def make(**kw):
        return FakeInputStream(**{**kw, **defaults})

    return make

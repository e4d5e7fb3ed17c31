"""MP4 export with PyAV: H.264 yuv420p video plus the original audio as AAC, in sync.

Frames may arrive at a lower rate than playback (16 diffusion frames over a clip): each is
held for its span (frame i at ``src_fps`` covers ``[i, i+1) / src_fps``). The picture is
whole frames that cover the whole duration, and the sound is cut or padded with silence to the
picture's end, so the two streams end together. The sound is
decoded and AAC-encoded on a thread of its own while frames are drawn (FFmpeg's coders run
without Python's lock), at most :data:`AUDIO_LEAD_S` ahead of the picture, and muxed as the
video reaches its time, so the two streams interleave and hour-long files stay in bounded
memory. The file appears at its path only when complete.

The encoder settings (:class:`EncoderSettings`) were chosen on measured speed, file size and
PSNR: ``benchmarks/render_encoder.py``, figures in docs/benchmarks.md ("Preview video").
"""

from __future__ import annotations

import os
import queue
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import BadInput
from ..fileio import atomic_path
from ..layout import video_frame_count

MAX_AUDIO_CHANNELS = 2
# Rates FFmpeg's AAC encoder takes; above 48 kHz only inaudible content would be added, so the
# audio is encoded at most at 48 kHz (a 20 kHz band fits under its 24 kHz Nyquist limit).
AAC_RATES = (7350, 8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200,
             96000)
MAX_AAC_RATE = 48_000
AAC_FRAME = 1024  # samples per AAC-LC frame
AUDIO_LEAD_S = 4.0  # how far the sound thread may encode ahead of the picture


@dataclass(frozen=True)
class EncoderSettings:
    """How the two streams are compressed (measured: docs/benchmarks.md, "Preview video").

    x264: veryfast with diamond motion search and one level of sub-pixel refinement (24-30 %
    less encoder CPU than veryfast's own search, files 8-20 % larger at the same crf); frame
    threads, which encode earlier frames while the next is drawn (PyAV's default, slice
    threads, makes every frame wait for its own encode; frame threads also took 10-14 % less
    CPU and gave 1-2 % smaller files at the same PSNR). Faster presets at the same PSNR cost
    21-174 % more bytes. AAC: FFmpeg's "fast" coder (its default from 2018, as the better one
    at high bit rates), 27-56 % less CPU than "twoloop" at 192 kb/s.
    """

    crf: int = 20
    preset: str = "veryfast"
    x264_params: str = "me=dia:subme=1"
    threads: str = "FRAME"      # x264 threading: "FRAME" or "SLICE"
    aac_coder: str = "fast"     # FFmpeg AAC coder: "fast" or "twoloop"
    audio_bit_rate: int = 192_000

    def x264_options(self) -> dict[str, str]:
        opts = {"crf": str(self.crf), "preset": self.preset}
        if self.x264_params:
            opts["x264-params"] = self.x264_params
        return opts


class Mp4Writer:
    """Write RGB frames and mux the audio of ``audio_path``.

    Use as a context manager; on an exception nothing is left at ``path``.

    Parameters
    ----------
    path : the .mp4 to create.
    fps : playback rate of the video stream.
    size : (width, height); both are rounded down to even numbers for yuv420p.
    audio_path : the audio to mux (the original recording), or None for a silent video.
    duration_s : the sound's length; the video gets enough frames to cover it
        (:func:`engine.layout.video_frame_count`), and the sound is cut or padded with silence
        to the picture's length.
    crf : x264's constant rate factor (lower: better and bigger); overrides ``encoder.crf``.
    encoder : codec settings (default :class:`EncoderSettings`).
    """

    def __init__(self, path: str | os.PathLike, *, fps: float, size: tuple[int, int],
                 audio_path: str | os.PathLike | None, duration_s: float,
                 crf: int | None = None, encoder: EncoderSettings | None = None):
        self.path = Path(path)
        if self.path.suffix.lower() not in (".mp4", ".m4v", ".mov"):
            raise BadInput(f"Output {self.path.name} must end in .mp4.")
        self.fps = float(fps)
        self.width, self.height = size[0] // 2 * 2, size[1] // 2 * 2
        self.audio_path = Path(audio_path) if audio_path else None
        self.duration_s = float(duration_s)
        self.total_frames = video_frame_count(self.duration_s, self.fps)
        self.encoder = encoder or EncoderSettings()
        self.crf = self.encoder.crf if crf is None else crf
        self.frames_written = 0
        self._atomic = None
        self._audio_thread: _AudioEncoder | None = None

    def __enter__(self) -> "Mp4Writer":
        import av
        self._atomic = atomic_path(self.path)
        tmp = self._atomic.__enter__()
        # From here the temporary file exists, and ``with`` calls __exit__ only once this
        # returns: anything raised before that (a bad stream, Ctrl+C or SIGTERM turned into
        # an exception while the encoders open) must undo it here, or the file is left.
        self._container = None
        try:
            self._open(av, tmp)
        except BaseException:
            exc = sys.exc_info()
            try:
                if self._audio_thread is not None:
                    self._audio_thread.stop()
                if self._container is not None:
                    self._container.close()
                if getattr(self, "_audio_in", None) is not None:
                    self._audio_in.close()
            finally:
                self._atomic.__exit__(*exc)
            raise
        return self

    def _open(self, av, tmp) -> None:
        self._container = av.open(str(tmp), mode="w", format="mp4",
                                  options={"movflags": "+faststart"})
        rate = Fraction(self.fps).limit_denominator(1001)
        self._video = self._container.add_stream("libx264", rate=rate)
        self._video.width, self._video.height = self.width, self.height
        self._video.pix_fmt = "yuv420p"
        # Say how the frames were converted (write(): BT.601 matrix, limited range). Untagged,
        # players guess from the size: BT.709 from 720 lines up, and shifted every colour
        # (a pure red played orange-red) in an HD export.
        from av.video.reformatter import ColorRange, Colorspace
        self._video.codec_context.colorspace = Colorspace.ITU601
        self._video.codec_context.color_range = ColorRange.MPEG
        self._video.codec_context.thread_type = self.encoder.threads
        self._video.options = {**self.encoder.x264_options(), "crf": str(self.crf)}
        self._audio_out = None
        self._audio_muxed_s = 0.0  # start time of the next sound packet to mux
        self._audio_next = None    # a packet taken from the thread, not yet due
        if self.audio_path is not None:
            self._open_audio(av)
            # Open both encoders and write the header here, before the sound thread starts
            # using its encoder (the first mux would otherwise open them, racing it).
            self._container.start_encoding()
            self._audio_thread = _AudioEncoder(self)  # named first, so a stop finds it
            self._audio_thread.start()

    def __exit__(self, exc_type, exc, tb) -> None:
        failed = exc_type is not None
        try:
            try:
                if not failed:
                    self._finish()
            finally:
                if self._audio_thread is not None:
                    self._audio_thread.stop()  # before the coders it uses are freed
                try:
                    # Closing writes the index (and, for faststart, moves the whole file
                    # behind it): a full disk often fails here, not earlier.
                    self._container.close()
                finally:
                    if getattr(self, "_audio_in", None) is not None:
                        self._audio_in.close()
        except BaseException as e:
            # A failed finish or close (no frames, a write error at the last flush or while
            # the index is written) is a failed export: the temporary file must not be
            # renamed over the output. An error already on its way (a cancel) stays the one
            # reported.
            if not failed:
                exc_type, exc, tb = type(e), e, e.__traceback__
                raise
        finally:
            self._atomic.__exit__(exc_type, exc, tb)

    # -- video --------------------------------------------------------------------------------
    def write(self, image: np.ndarray) -> None:
        """Append one playback frame (RGB uint8, any size: it is resized to the stream's)."""
        import av
        import cv2
        if self.frames_written >= self.total_frames:
            return
        if image.shape[1] != self.width or image.shape[0] != self.height:
            image = cv2.resize(image, (self.width, self.height), interpolation=cv2.INTER_AREA)
        # OpenCV's RGB -> I420 (BT.601, limited range, as libswscale's default) costs a tenth
        # of PyAV's conversion: 0.03 s instead of 0.35 s CPU for 240 frames of 512x512.
        yuv = cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_RGB2YUV_I420)
        frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        self._last_image = image
        frame.pts = self.frames_written
        for packet in self._video.encode(frame):
            self._container.mux(packet)
        self.frames_written += 1
        self._pump_audio(self.frames_written / self.fps)

    def write_held(self, image: np.ndarray, index: int, src_fps: float) -> None:
        """Write source frame ``index`` of a ``src_fps`` stream, repeated over its time span."""
        end = (index + 1) / src_fps
        if abs(src_fps - self.fps) < 1e-6:
            self.write(image)
            return
        while self.frames_written < self.total_frames and (self.frames_written + 0.5) / self.fps < end:
            self.write(image)

    def _finish(self) -> None:
        if self.frames_written == 0:
            raise BadInput("No video frames were rendered.")
        while self.frames_written < self.total_frames:  # hold the last frame to the end
            self.write(self._last_image)
        for packet in self._video.encode():
            self._container.mux(packet)
        self._pump_audio(float("inf"))

    # -- audio --------------------------------------------------------------------------------
    def _open_audio(self, av) -> None:
        try:
            self._audio_in = av.open(str(self.audio_path))
            stream = self._audio_in.streams.audio[0]
        except Exception as e:
            raise BadInput(f"Cannot read the audio to mux from {self.audio_path.name} ({e}).") from None
        channels = stream.codec_context.layout.nb_channels if stream.codec_context.layout else 2
        layout = "mono" if channels == 1 else "stereo"
        # More than two channels: the first two are left and right, as the analysis reads them
        # (engine.audio.io); a downmix would mix the other microphones into what was placed.
        self._first_two = channels > 2
        rate = aac_rate(int(stream.codec_context.sample_rate))
        self._audio_out = self._container.add_stream("aac", rate=rate)
        self._audio_out.layout = layout
        self._audio_out.bit_rate = self.encoder.audio_bit_rate
        self._audio_out.options = {"aac_coder": self.encoder.aac_coder}
        # The resampler also converts the rate when AAC cannot take the file's (192 kHz).
        self._resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
        self._audio_stream_in = stream
        self._audio_rate = rate
        self._audio_time_base = Fraction(1, rate)
        self._audio_samples_out = 0
        # The picture's length: a sound a fraction of a frame longer than the picture ran on
        # after it (an M4A's, whose encoder padding decodes as sound, by 12-20 ms).
        self._audio_limit = int(round(self.total_frames * rate / self.fps))

    def _pump_audio(self, until_s: float) -> None:
        """Mux the sound packets that start before ``until_s`` seconds (all of them at
        ``inf``), waiting for the sound thread where it has not got there yet."""
        if self._audio_thread is None:
            return
        while True:
            packet = self._audio_next
            if packet is None:
                packet = self._audio_thread.take()
                if packet is None:  # the sound is all muxed
                    self._audio_thread.stop()
                    self._audio_thread = None
                    return
            tb = packet.time_base
            start = packet.pts * tb.numerator / tb.denominator
            if start >= until_s:
                self._audio_next = packet
                return
            self._audio_next = None
            self._container.mux(packet)
            self._audio_muxed_s = start + (packet.duration or 0) * tb.numerator / tb.denominator

    def _decode_audio(self) -> Iterator:
        import av
        for frame in self._audio_in.decode(self._audio_stream_in):
            frame.pts = None
            if self._first_two:
                frame = _first_two_channels(frame, av)
            for out in self._resampler.resample(frame):
                yield _finite(out, av)
        for out in self._resampler.resample(None):
            yield _finite(out, av)

    def _encode_audio(self, put) -> None:
        """Decode, resample and encode the sound up to the video's end, handing each packet
        to ``put`` (False: stop). Runs on the sound thread (:class:`_AudioEncoder`)."""
        import av
        frame_size = self._audio_out.codec_context.frame_size or AAC_FRAME
        fifo = av.AudioFifo()
        frames = self._decode_audio()
        while self._audio_samples_out < self._audio_limit:
            while fifo.samples < frame_size:
                nxt = next(frames, None)
                if nxt is None:
                    break
                fifo.write(nxt)
            if fifo.samples < frame_size:  # the sound has ended: silence to the picture's end
                pad = min(frame_size, self._audio_limit - self._audio_samples_out) - fifo.samples
                if pad > 0:
                    fifo.write(self._silence(pad))
            take = min(frame_size, fifo.samples, self._audio_limit - self._audio_samples_out)
            if take <= 0:
                break
            chunk = fifo.read(take)
            # pts counts samples, so the time base must be one sample (the decoder's may be
            # 1/14112000 for MP3: the track then lasted 0.03 s).
            chunk.pts = self._audio_samples_out
            chunk.time_base = self._audio_time_base
            chunk.sample_rate = self._audio_rate
            for packet in self._audio_out.encode(chunk):
                if not put(packet):
                    return
            self._audio_samples_out += take
        for packet in self._audio_out.encode(None):
            if not put(packet):
                return


    def _silence(self, samples: int):
        import av
        channels = self._audio_out.layout.nb_channels
        frame = av.AudioFrame.from_ndarray(np.zeros((channels, samples), np.float32),
                                           format="fltp", layout=self._audio_out.layout.name)
        frame.sample_rate = self._audio_rate
        return frame


class _AudioEncoder(threading.Thread):
    """Decodes, resamples and AAC-encodes a writer's sound track, handing the packets over
    through a queue that holds at most :data:`AUDIO_LEAD_S` of sound. Only this thread uses
    the sound's decoder and encoder until it has stopped; the writer's thread muxes."""

    _END = object()

    def __init__(self, writer: Mp4Writer):
        super().__init__(name="mp4-audio", daemon=True)
        self.w = writer
        size = max(1, int(AUDIO_LEAD_S * writer._audio_rate / AAC_FRAME))
        self.packets: queue.Queue = queue.Queue(maxsize=size)
        self.error: BaseException | None = None
        self._stopping = threading.Event()

    def run(self) -> None:
        try:
            self.w._encode_audio(self._put)
        except BaseException as e:  # handed to the writer's thread, raised there
            self.error = e
        self._put(self._END)

    def take(self):
        """The next packet, or None at the end; raises what went wrong on the thread."""
        item = self.packets.get()
        if item is self._END:
            self.packets.put(item)  # a later take() sees the end too
            if self.error is not None:
                raise self.error
            return None
        return item

    def stop(self) -> None:
        """Ask the thread to finish and wait for it (a no-op after the end)."""
        self._stopping.set()
        while self.is_alive():
            try:
                self.packets.get_nowait()  # free a put() waiting for room
            except queue.Empty:
                pass
            self.join(timeout=0.05)

    def _put(self, item) -> bool:
        while not self._stopping.is_set():
            try:
                self.packets.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False


def aac_rate(rate: int) -> int:
    """The sample rate to encode AAC at for audio at ``rate`` Hz: the same where the encoder
    takes it, else the next rate it takes, at most :data:`MAX_AAC_RATE`."""
    if rate in AAC_RATES and rate <= MAX_AAC_RATE:
        return rate
    return min((r for r in AAC_RATES if rate <= r <= MAX_AAC_RATE), default=MAX_AAC_RATE)


def _first_two_channels(frame, av):
    """A frame of the first two channels of ``frame`` (any sample format), as stereo."""
    x = frame.to_ndarray()
    if not frame.format.is_planar:  # interleaved: (1, samples x channels)
        x = x.reshape(-1, len(frame.layout.channels)).T
    out = av.AudioFrame.from_ndarray(np.ascontiguousarray(x[:2]), format=frame.format.planar.name,
                                     layout="stereo")
    out.sample_rate = frame.sample_rate
    return out


def _finite(frame, av):
    """The frame, with NaN/inf samples set to silence (the analysis repairs the same samples;
    the AAC encoder would fail on them)."""
    x = frame.to_ndarray()
    if np.isfinite(x).all():
        return frame
    out = av.AudioFrame.from_ndarray(np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0),
                                     format=frame.format.name, layout=frame.layout.name)
    out.sample_rate = frame.sample_rate
    return out


def av_sync_gap_limit(fps: float, sample_rate: int) -> float:
    """Largest honest difference between the two streams' lengths: the video is whole frames
    long, the audio whole AAC frames plus the encoder's priming frame."""
    return 1.0 / max(fps, 1e-6) + 2 * AAC_FRAME / max(sample_rate, 1)


def check_av_sync(path: str | os.PathLike, *, slack_s: float = 0.0,
                  slack_fraction: float = 0.0) -> dict:
    """Raise :class:`BadInput` when a video's sound track and picture differ in length (a
    broken mux); return :func:`probe_mp4`'s answer otherwise.

    Our own MP4s must agree to :func:`av_sync_gap_limit`; ``slack_s`` / ``slack_fraction``
    (of the picture's length), whichever is larger, widen that for videos made elsewhere,
    whose sound may start a little late.
    """
    info = probe_mp4(path)
    video, audio = info["video"], info["audio"]
    if video is None or audio is None or video["duration_s"] is None:
        return info
    got = audio["duration_s"] or 0.0
    limit = av_sync_gap_limit(video["fps"] or 24.0, audio["sample_rate"] or 48000)
    limit = max(limit, slack_s, slack_fraction * video["duration_s"])
    if abs(got - video["duration_s"]) > limit:
        raise BadInput(f"{Path(path).name}: its sound track is {got:.1f} s long but its picture "
                       f"is {video['duration_s']:.1f} s; the file is damaged.",
                       hint="Render or export it again.")
    return info


def probe_mp4(path: str | os.PathLike) -> dict:
    """Streams and durations of an MP4 (for tests and the export dialog)."""
    import av
    out: dict = {"video": None, "audio": None}
    with av.open(str(path)) as c:
        for s in c.streams:
            if s.type not in ("video", "audio"):
                continue
            dur = float(s.duration * s.time_base) if s.duration is not None else None
            info = {"codec": s.codec_context.name, "duration_s": dur, "frames": s.frames}
            if s.type == "video":
                info.update(width=s.codec_context.width, height=s.codec_context.height,
                            pix_fmt=s.codec_context.pix_fmt, fps=float(s.average_rate or 0))
            else:
                info.update(sample_rate=s.codec_context.sample_rate,
                            channels=s.codec_context.layout.nb_channels)
            out[s.type] = info
    return out

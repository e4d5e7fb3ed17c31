"""Put new audio under a video: copy the video stream as it is, encode the audio as AAC.

Stream copy keeps every frame bit for bit and takes seconds on any length. When the video's
codec is not one MP4 players play (see :data:`COPY_CODECS`) or the MP4 muxer refuses it, the
frames are re-encoded as H.264 instead. Audio and video packets are interleaved by time, and the file appears at its path
only when complete.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import BadInput
from ..fileio import atomic_path
from ..jobs import CancelToken

AAC_BIT_RATE = 192_000
# Codecs copied as they are: those MP4 players play. Others (FFV1, VP8, FLV1...) are re-encoded
# even where FFmpeg's MP4 muxer would take them, since most players would then show nothing.
COPY_CODECS = {"h264", "hevc", "av1", "vp9", "mpeg4"}
AAC_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000)


def mux_audio(video_path: str | os.PathLike, audio: np.ndarray, sample_rate: int,
              out_path: str | os.PathLike, *, token: CancelToken | None = None) -> str:
    """Write ``out_path`` (.mp4): the video stream of ``video_path`` plus ``audio`` as AAC.

    Parameters
    ----------
    video_path : the source video; its own audio (if any) is dropped.
    audio : np.ndarray [shape=(channels, n)], float, 1 or 2 channels.
    sample_rate : Hz.
    out_path : the MP4 to write (atomically).

    Returns
    -------
    ``"copy"`` when the video stream was copied, ``"reencode"`` when it had to be re-encoded.
    """
    out_path = Path(out_path)
    if out_path.suffix.lower() not in (".mp4", ".m4v", ".mov"):
        raise BadInput(f"Output {out_path.name} must end in .mp4.")
    if Path(video_path).resolve() == out_path.resolve():
        raise BadInput("The output would overwrite the input video.", hint="Pick another name.")
    audio = np.atleast_2d(np.asarray(audio, dtype=np.float32))
    if audio.shape[0] not in (1, 2):
        raise BadInput(f"Audio to mux must have 1 or 2 channels, got {audio.shape[0]}.")
    if sample_rate not in AAC_RATES:
        import soxr
        audio = np.ascontiguousarray(soxr.resample(audio.T, sample_rate, 48000).T, np.float32)
        sample_rate = 48000
    try:
        with atomic_path(out_path) as tmp:
            _write(video_path, audio, sample_rate, tmp, copy=True, token=token)
        return "copy"
    except _CopyRefused:
        with atomic_path(out_path) as tmp:
            _write(video_path, audio, sample_rate, tmp, copy=False, token=token)
        return "reencode"


class _CopyRefused(Exception):
    pass


def _write(video_path, audio: np.ndarray, sr: int, tmp: Path, *, copy: bool,
           token: CancelToken | None) -> None:
    import av
    try:
        src = av.open(str(video_path))
    except Exception as e:
        raise BadInput(f"Cannot read the video {Path(video_path).name} ({type(e).__name__}).") from None
    with src:
        if not src.streams.video:
            raise BadInput(f"{Path(video_path).name} has no video stream to keep.")
        vin = src.streams.video[0]
        with av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as dst:
            if copy:
                if vin.codec_context.name not in COPY_CODECS:
                    raise _CopyRefused(vin.codec_context.name)
                try:
                    vout = dst.add_stream_from_template(vin)
                except Exception as e:
                    raise _CopyRefused(str(e)) from None
            rate = Fraction(vin.average_rate or 25)
            if not copy:
                vout = dst.add_stream("libx264", rate=rate)
                vout.width = vin.codec_context.width // 2 * 2
                vout.height = vin.codec_context.height // 2 * 2
                vout.pix_fmt = "yuv420p"
                vout.options = {"crf": "18", "preset": "veryfast"}
            aout = dst.add_stream("aac", rate=sr)
            aout.layout = "stereo" if audio.shape[0] == 2 else "mono"
            aout.bit_rate = AAC_BIT_RATE
            audio_packets = _encode_audio(aout, audio, sr)
            a = 0
            try:
                for k, (packet_time, packets) in enumerate(_video_packets(src, vin, vout, copy, rate)):
                    if token is not None and k % 64 == 0:
                        token.raise_if_cancelled()
                    # Interleave: audio up to this video packet's time goes first.
                    while a < len(audio_packets) and audio_packets[a][0] <= packet_time:
                        dst.mux(audio_packets[a][1])
                        a += 1
                    for p in packets:
                        dst.mux(p)
            except av.error.FFmpegError as e:
                if copy:
                    raise _CopyRefused(str(e)) from None
                raise
            for _, p in audio_packets[a:]:
                dst.mux(p)


def _video_packets(src, vin, vout, copy: bool, rate: Fraction):
    """(time_s, packets to mux) in decode order, either copied or re-encoded."""
    if copy:
        for packet in src.demux(vin):
            if packet.dts is None:  # the demuxer's flush packet
                continue
            t = float(packet.dts * packet.time_base) if packet.time_base else 0.0
            packet.stream = vout
            yield t, [packet]
        return
    index = 0
    for frame in src.decode(vin):
        t = float(frame.time or 0.0)
        frame = frame.reformat(width=vout.width, height=vout.height, format="yuv420p")
        frame.pts = index
        frame.time_base = 1 / rate
        index += 1
        yield t, list(vout.encode(frame))
    yield float("inf"), list(vout.encode())


def _encode_audio(stream, audio: np.ndarray, sr: int) -> list[tuple[float, object]]:
    """All AAC packets of ``audio`` with their times (AAC of a 10-minute clip is ~15 MB)."""
    import av
    layout = "stereo" if audio.shape[0] == 2 else "mono"
    frame_size = stream.codec_context.frame_size or 1024
    out = []
    for start in range(0, audio.shape[1], frame_size):
        chunk = np.ascontiguousarray(audio[:, start:start + frame_size])
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
        frame.sample_rate = sr
        frame.pts = start
        frame.time_base = Fraction(1, sr)
        for p in stream.encode(frame):
            out.append((float(p.pts * p.time_base) if p.pts is not None else start / sr, p))
    for p in stream.encode(None):
        out.append((float(p.pts * p.time_base) if p.pts is not None else audio.shape[1] / sr, p))
    return out

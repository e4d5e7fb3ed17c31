"""Audio loading, validation and resampling."""

from .io import (
    MAX_DURATION_S,
    Audio,
    AudioInfo,
    audio_info,
    load_audio,
    validate_samples,
    write_audio,
)

__all__ = ["MAX_DURATION_S", "Audio", "AudioInfo", "audio_info", "load_audio",
           "validate_samples", "write_audio"]

"""Without PortAudio (libportaudio2 not installed) the studio still opens and plays on its
clock; recording and playback both say what to install."""

from __future__ import annotations

import sys

import numpy as np


def test_without_portaudio_playback_and_recording_say_what_to_install(qapp, monkeypatch):
    from spa2v_app.studio.model.recording import list_input_devices
    from spa2v_app.studio.player import AudioPlayer

    monkeypatch.setitem(sys.modules, "sounddevice", None)  # as an import that found no PortAudio
    player = AudioPlayer()
    player.set_audio(np.zeros((2, 4800), dtype=np.float32), 48000)
    player.play()
    try:
        # Playback used to say only "No audio output (...); playing silently."
        assert player.playing and "libportaudio2" in player.error
    finally:
        player.stop()
    devices, why = list_input_devices()
    assert devices == [] and "libportaudio2" in why

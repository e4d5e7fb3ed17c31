"""The llama.cpp planner on a tiny random GGUF: the grammar alone makes noise into valid plans.

Tests marked ``llama`` need llama-cpp-python and are skipped without it; the rest check what
a user sees when the library or the model file is missing.
"""

import json

import numpy as np
import pytest

from engine.errors import Cancelled, ModelMissing, SpA2VError
from engine.jobs import CancelToken, Log, run_job
from engine.layout import PlannerInfo
from engine.planning.llm_prompt import build_messages, summarize_cues
from engine.planning.llm_schema import max_reply_chars, parse_reply, reply_schema
from engine.protocols import PlanRequest
from models.llama_planner import gpu_layers, missing_model_error, resolve_model_path
from models.registry import load_registry
from tests.engine.planning.cuekit import cues, dog_and_car, track

try:
    import llama_cpp  # noqa: F401
    HAVE_LLAMA = True
except ImportError:
    HAVE_LLAMA = False
needs_llama = pytest.mark.skipif(not HAVE_LLAMA, reason="llama-cpp-python is not installed")

SCENES = {
    "dog_and_car": dog_and_car(),
    "short_lateral": cues(track(1, (-60, 60), label="motorcycle", motion="left_to_right"),
                          duration_s=4.0),
    "mono": cues(track(1, 0, conf=0.0, label="cat", motion_confidence=0.0), mono=True,
                 duration_s=6.0),
    "three_sources": cues(track(1, -60, label="dog"), track(2, 0, label="person"),
                          track(3, (30, 80), label="car", motion="left_to_right"),
                          duration_s=8.0),
}


@pytest.fixture(scope="module")
def tiny_gguf(tmp_path_factory):
    """A 2-layer random llama with a byte-level BPE vocabulary (about 0.1 MB)."""
    pytest.importorskip("gguf")
    from tests.models.tiny_gguf import write_tiny_llama

    return write_tiny_llama(tmp_path_factory.mktemp("gguf") / "tiny-random-llama.gguf", seed=0)


# -- without llama.cpp: what the user is told ------------------------------------------------

def test_missing_model_names_the_file_the_repo_and_the_command(tmp_path, monkeypatch):
    monkeypatch.setenv("SPA2V_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    with pytest.raises(ModelMissing) as e:
        resolve_model_path(None, "planner-llm-default")
    text = str(e.value)
    entry = load_registry().get("planner-llm-default")
    assert text.startswith("No planner LLM is installed.")
    assert entry.files[0].path in text and entry.source.repo_id in text
    assert "spa2v models download planner-llm-default" in text
    assert "--planner heuristic" in text and e.value.exit_code == 2


def test_a_wrong_path_or_a_non_gguf_file_is_named(tmp_path):
    with pytest.raises(ModelMissing, match="No GGUF file at .*nope.gguf"):
        resolve_model_path(tmp_path / "nope.gguf", "planner-llm-default")
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"PK\x03\x04 not a gguf")
    with pytest.raises(ModelMissing, match="fake.gguf is not a GGUF file"):
        resolve_model_path(fake, "planner-llm-default")
    truncated = tmp_path / "cut.gguf"  # a download cut short: the magic, not the tensors
    from tests.models.tiny_gguf import write_tiny_llama
    truncated.write_bytes(write_tiny_llama(tmp_path / "whole.gguf", seed=0).read_bytes()[:3000])
    with pytest.raises(ModelMissing, match="cut.gguf is not a usable GGUF file") as e:
        resolve_model_path(truncated, "planner-llm-default")
    assert e.value.exit_code == 2  # refused up front, not a llama.cpp failure and a fallback
    quality = load_registry().get("planner-llm-quality")
    assert quality.files[-1].path in str(missing_model_error("planner-llm-quality", "x"))
    assert "registry name 'no-such-model'" in str(missing_model_error("no-such-model", "x"))


def test_an_installed_registry_model_is_found(tmp_path, monkeypatch):
    monkeypatch.setenv("SPA2V_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    entry = load_registry().get("planner-llm-default")
    path = tmp_path / "models" / entry.name / entry.files[0].path
    path.parent.mkdir(parents=True)
    from tests.models.tiny_gguf import write_tiny_llama
    write_tiny_llama(path, seed=0)  # a whole GGUF: the magic alone is refused
    assert resolve_model_path(None, "planner-llm-default") == path


def test_gpu_offload_is_detected():
    class Built:
        def __init__(self, gpu):
            self.gpu = gpu

        def llama_supports_gpu_offload(self):
            return self.gpu

    assert gpu_layers("auto", Built(True)) == -1
    assert gpu_layers("auto", Built(False)) == 0
    assert gpu_layers(12, Built(True)) == 12 and gpu_layers("8", Built(False)) == 8
    with pytest.raises(SpA2VError, match="n_gpu_layers"):
        gpu_layers("lots", Built(True))


# -- with llama.cpp and a tiny random model --------------------------------------------------

@pytest.fixture(scope="module")
def tiny_llm(tiny_gguf):
    if not HAVE_LLAMA:
        pytest.skip("llama-cpp-python is not installed")
    from llama_cpp import Llama

    llm = Llama(model_path=str(tiny_gguf), n_ctx=8192, n_threads=2, seed=0, verbose=False)
    yield llm
    llm.close()


@pytest.mark.llama
@needs_llama
@pytest.mark.parametrize("scene", sorted(SCENES))
@pytest.mark.parametrize("seed", [0, 1])
def test_grammar_makes_random_weights_write_valid_plans(tiny_llm, scene, seed):
    from models.llama_planner import LlamaChat

    summary = summarize_cues(SCENES[scene])
    schema = reply_schema(summary)
    chat = LlamaChat(tiny_llm, "tiny", temperature=1.0, seed=seed)
    reply = run_job(chat(build_messages(summary, None, []), schema={}, grammar_schema=schema,
                         max_tokens=max_reply_chars(schema), token=CancelToken()))
    text = reply.text
    assert len(text) <= max_reply_chars(schema)
    assert all(32 <= ord(c) < 127 for c in text)                 # no control characters
    data = json.loads(text)                                       # it closed its JSON
    assert set(data) == {"caption", "background", "objects"}
    plan = parse_reply(text, summary, planner=PlannerInfo("llama", "tiny"))
    layout = plan.layout.validate()                               # interpolated, valid
    assert layout.num_frames == summary.num_frames
    assert reply.output_tokens >= len(text) // 4 and reply.prompt_tokens > 0


@pytest.mark.llama
@needs_llama
def test_prompt_tokens_are_counted_as_the_model_sees_them(tiny_llm):
    from models.llama_planner import LlamaChat

    chat = LlamaChat(tiny_llm, "tiny")
    messages = build_messages(summarize_cues(dog_and_car()), "a dog", [])
    ids = chat.prompt_tokens(messages)
    assert chat.count_tokens(messages) == len(ids)
    text = tiny_llm.detokenize(ids, special=True).decode()
    assert text.startswith("<|im_start|>system\nYou plan a short video")
    assert text.endswith("Hint: a dog<|im_end|>\n<|im_start|>assistant\n")


@pytest.mark.llama
@needs_llama
def test_llama_planner_plans_and_unloads(tiny_gguf):
    from models.backends import make_planner

    planner = make_planner("llama", model_path=tiny_gguf, n_ctx=8192, n_threads=2, seed=3)
    assert planner.name == "llama" and planner.n_gpu_layers in (-1, 0) and not planner.loaded
    events = []
    layout = run_job(planner.plan(PlanRequest(dog_and_car()), CancelToken()), events.append)
    stats = planner.last_stats
    assert layout.planner == PlannerInfo("llama", "tiny-random-llama.gguf")
    assert not stats.fell_back and stats.attempts == 1
    assert stats.prompt_tokens[0] <= 8192 - 256 and stats.output_tokens[0] > 0
    # Whatever noise the model wrote, the guard kept both confident sources where heard.
    for sid, x0 in ((1, 0.25), (2, 0.86)):
        objs = [o for o in layout.objects if o.extra.get("source_id") == sid]
        assert objs, f"S{sid} is missing"
        xs = [0.5 * (o.boxes[0][0] + o.boxes[0][2]) for o in objs if o.boxes[0] is not None]
        assert not xs or abs(np.mean(xs) - x0) <= 0.12 + 0.03
    assert not planner.loaded                                     # memory back for rendering
    assert not any(isinstance(e, Log) and e.level == "warning" for e in events)


@pytest.mark.llama
@needs_llama
def test_keep_loaded_then_unload(tiny_gguf):
    from models.llama_planner import LlamaPlanner

    with LlamaPlanner(model_path=tiny_gguf, n_ctx=8192, n_threads=2,
                      keep_loaded=True) as planner:
        run_job(planner.plan(PlanRequest(dog_and_car()), CancelToken()))
        assert planner.loaded
    assert not planner.loaded


@pytest.mark.llama
@needs_llama
def test_cancel_during_generation(tiny_gguf):
    from models.llama_planner import LlamaPlanner

    planner = LlamaPlanner(model_path=tiny_gguf, n_ctx=8192, n_threads=2)
    token = CancelToken()
    job = planner.plan(PlanRequest(dog_and_car()), token)
    with pytest.raises(Cancelled):
        for event in job:
            if getattr(event, "detail", "").endswith("tokens"):    # generating
                token.cancel()
    assert not planner.loaded


@pytest.mark.llama
@needs_llama
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_source_heard_at_minus_60_degrees_stays_on_the_left_with_a_random_planner(
        tiny_gguf, seed):
    from models.llama_planner import LlamaPlanner

    c = cues(track(1, -60, label="dog", conf=0.4), duration_s=6.0)  # an unsure direction too
    planner = LlamaPlanner(model_path=tiny_gguf, n_ctx=8192, n_threads=2, seed=seed,
                           temperature=1.0)
    layout = run_job(planner.plan(PlanRequest(c), CancelToken()))
    heard = np.flatnonzero(c.sources[0].active)
    objs = [o for o in layout.objects if o.extra.get("source_id") == 1]
    assert objs, "the measured source is missing"
    left = 0
    for i in heard:
        xs = [0.5 * (o.boxes[i][0] + o.boxes[i][2]) for o in objs if o.boxes[i] is not None]
        left += bool(xs) and np.mean(xs) < 0.5
    assert left / heard.size >= 0.9
    assert all(o.motion == "static" for o in objs)


# -- a GGUF that llama.cpp cannot take: the app goes on with the built-in planner ------------

ABORTING_GGUF_SCRIPT = """
import sys
from pathlib import Path
from engine.jobs import CancelToken, Log, run_job
from engine.planning.fallback import plan_or_fall_back
from engine.protocols import PlanRequest
from models.llama_planner import LlamaPlanner
from tests.engine.planning.cuekit import dog_and_car
from tests.models.tiny_gguf import Shape, write_tiny_llama

path = write_tiny_llama(Path(sys.argv[1]) / "no-layers.gguf", shape=Shape(n_layer=0))
events = []
layout = run_job(plan_or_fall_back(LlamaPlanner(model_path=path, n_threads=1),
                                   PlanRequest(dog_and_car()), CancelToken()), events.append)
print("planner:", layout.planner.name)
print("\\n".join(e.message for e in events if isinstance(e, Log)))
"""


@pytest.mark.llama
@needs_llama
def test_a_gguf_that_aborts_llama_cpp_does_not_take_the_app_with_it(tmp_path):
    """A llama GGUF with no layers passes every header check, and llama.cpp aborts on
    loading it (GGML_ASSERT): in the app's own process that ended the studio, unsaved work
    and all. In the worker process it is a warning and the built-in plan."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", ABORTING_GGUF_SCRIPT, str(tmp_path)], cwd=root,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "planner: heuristic" in done.stdout
    assert "could not load no-layers.gguf (llama.cpp stopped while loading" in done.stdout
    assert "using the built-in planner" in done.stdout


@pytest.mark.llama
@needs_llama
@pytest.mark.parametrize("template", ["{% for m in messages %}{{ m['role'] }",   # bad syntax
                                      "{{ raise_exception('only user turns') }}"])  # raises
def test_a_gguf_whose_chat_template_fails_falls_back_and_says_so(tmp_path, template):
    """Real GGUFs carry chat templates jinja2 cannot compile or that refuse our messages:
    that was a traceback (exit 1); now the built-in plan, with a warning naming the template."""
    from engine.planning.fallback import plan_or_fall_back
    from models.llama_planner import LlamaPlanner
    from tests.models.tiny_gguf import byte_level_vocab, write_tiny_llama

    vocab = byte_level_vocab()
    vocab.chat_template = template
    path = write_tiny_llama(tmp_path / "odd-template.gguf", vocab)
    planner = LlamaPlanner(model_path=path, n_threads=1)
    events = []
    layout = run_job(plan_or_fall_back(planner, PlanRequest(dog_and_car()), CancelToken()),
                     events.append)
    assert layout.planner.name == "heuristic"
    warnings = [e.message for e in events if isinstance(e, Log) and e.level == "warning"]
    assert any("the chat template inside odd-template.gguf cannot be used" in w
               for w in warnings), warnings
    assert not planner.loaded


@pytest.mark.llama
@needs_llama
def test_a_model_that_does_not_answer_in_time_is_given_up(tiny_gguf):
    from models.llama_planner import LlamaPlanner

    planner = LlamaPlanner(model_path=tiny_gguf, n_threads=1, timeout_s=0.01)
    with pytest.raises(SpA2VError, match="no answer within"):
        run_job(planner.plan(PlanRequest(dog_and_car()), CancelToken()))
    assert not planner.loaded


def test_an_unreadable_models_folder_is_said_not_taken_for_a_missing_model(tmp_path,
                                                                           monkeypatch):
    """A broken imported.json made the llama planner say "No planner LLM is installed", and
    the user downloaded 2.5 GB again; the studio fell over instead of planning built in."""
    from models.backends import make_planner_or_built_in
    from models.registry import ModelsFolderError

    models = tmp_path / "models"
    models.mkdir()
    (models / "imported.json").write_text('{"schema": "spa2v.mo')  # cut short
    monkeypatch.setenv("SPA2V_MODELS_DIR", str(models))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    with pytest.raises(ModelsFolderError, match="Cannot read .*imported.json"):
        resolve_model_path(None, "planner-llm-default")
    planner, note = make_planner_or_built_in("llama")
    assert planner.name == "heuristic"
    assert "Cannot read" in note and "imported.json" in note and "not installed" not in note


def test_a_projector_given_as_the_planner_model_is_refused_with_what_it_is(tmp_path):
    """An mmproj (the listener's audio part) as --llm-model passed the format checks, and the
    plan fell back with llama.cpp's 'Failed to load model from file'."""
    pytest.importorskip("gguf")
    from tests.models.tiny_mmproj import write_tiny_audio_projector

    path = write_tiny_audio_projector(tmp_path / "mmproj-tiny.gguf", n_embd_text=64)
    with pytest.raises(ModelMissing, match=r"mmproj-tiny.gguf is a projector \(mmproj"):
        resolve_model_path(path, "planner-llm-default")


def test_a_planner_model_imported_from_a_drive_that_is_gone_says_so(tmp_path, monkeypatch):
    pytest.importorskip("gguf")
    from models.local_store import import_model
    from tests.models.tiny_gguf import write_tiny_llama

    monkeypatch.setenv("SPA2V_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    stick = tmp_path / "usb"
    stick.mkdir()
    import_model(write_tiny_llama(stick / "my-llm.gguf"), as_name="planner-llm-default")
    (stick / "my-llm.gguf").rename(tmp_path / "elsewhere.gguf")
    stick.rmdir()
    with pytest.raises(ModelMissing) as e:
        resolve_model_path(None, "planner-llm-default")
    assert str(e.value).startswith(f"The planner LLM was imported from {stick / 'my-llm.gguf'}, "
                                   "which is not there now")


def test_a_llama_cpp_that_cannot_load_its_library_is_one_clear_line(monkeypatch, tmp_path):
    """A CUDA build of llama-cpp-python on a machine without CUDA raises RuntimeError("Failed
    to load shared library ...") on import: a traceback, and the studio's Plan failed."""
    import sys

    from models.backends import make_planner_or_built_in

    class BrokenBuild:
        def find_spec(self, name, path=None, target=None):
            if name == "llama_cpp":
                raise RuntimeError("Failed to load shared library 'libllama.so': libcudart.so.12:"
                                   " cannot open shared object file: No such file or directory")
            return None

    monkeypatch.delitem(sys.modules, "llama_cpp", raising=False)
    monkeypatch.setattr(sys, "meta_path", [BrokenBuild(), *sys.meta_path])
    from models.llama_planner import LlamaPlanner

    with pytest.raises(ModelMissing) as e:
        LlamaPlanner(model_path=tmp_path / "any.gguf")
    assert str(e.value).startswith("llama-cpp-python is installed but cannot be loaded on this "
                                   "machine (Failed to load shared library 'libllama.so'")
    assert "pip install --force-reinstall" in str(e.value)
    planner, note = make_planner_or_built_in("llama")
    assert planner.name == "heuristic" and "cannot be loaded on this machine" in note


@pytest.mark.llama
@needs_llama
def test_a_worker_that_cannot_be_started_is_a_planner_failure(tiny_gguf, monkeypatch):
    import multiprocessing.context

    from engine.planning.fallback import plan_or_fall_back
    from models.llama_planner import LlamaPlanner

    def no_fork(self):
        raise OSError(11, "Resource temporarily unavailable")
    monkeypatch.setattr(multiprocessing.context.SpawnProcess, "start", no_fork)
    events = []
    layout = run_job(plan_or_fall_back(LlamaPlanner(model_path=tiny_gguf), PlanRequest(dog_and_car()),
                                       CancelToken()), events.append)
    assert layout.planner.name == "heuristic"
    assert any("Could not start llama.cpp's worker process" in e.message for e in events
               if isinstance(e, Log))

"""The audio listener through llama.cpp's libmtmd, end to end on tiny random models.

A tiny random llama (tests/models/tiny_gguf.py) and a tiny random ``qwen2a`` audio projector
(tests/models/tiny_mmproj.py) are written at test time; the listener loads them in its worker
process, encodes a WAV's excerpts with the projector, decodes under the grammar, and the
answer must parse. The answers are noise, which is the point: only the grammar makes them
valid. This is also the canary for format changes in llama.cpp's projector files.
Tests marked ``llama`` need llama-cpp-python and are skipped without it.
"""

import numpy as np
import pytest

from engine.audio.io import Audio, write_audio
from engine.binaural import render_binaural
from engine.errors import Cancelled, ModelMissing, SpA2VError
from engine.jobs import CancelToken, run_job
from engine.naming.listening import listen_request
from engine.planning.llm_planner import BackendError
from models.audio_listener import AudioListener, resolve_files
from tests.engine.planning.cuekit import cues, track

try:
    import llama_cpp  # noqa: F401
    import llama_cpp.mtmd_cpp  # noqa: F401
    HAVE_MTMD = True
except ImportError:
    HAVE_MTMD = False
needs_mtmd = pytest.mark.skipif(not HAVE_MTMD, reason="llama-cpp-python (with mtmd) is not installed")

SR = 44100
TEXT_WIDTH = 64  # tiny_gguf.Shape().n_embd: the projector must project into it


@pytest.fixture(scope="module")
def tiny_pair(tmp_path_factory):
    pytest.importorskip("gguf")
    from tests.models.tiny_gguf import write_tiny_llama
    from tests.models.tiny_mmproj import write_tiny_audio_projector

    d = tmp_path_factory.mktemp("listener")
    return (write_tiny_llama(d / "tiny-llama.gguf", seed=0),
            write_tiny_audio_projector(d / "tiny-mmproj.gguf", n_embd_text=TEXT_WIDTH, seed=0))


def _two_sources(seconds=4.0):
    rng = np.random.default_rng(0)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    y = render_binaural(0.1 * np.sin(2 * np.pi * 330 * t), SR, azimuth_deg=np.array([-60, -60]),
                        distance_m=np.array([2.0, 2.0]), times_s=np.array([0, seconds]))
    y = y + render_binaural(0.05 * rng.standard_normal(n), SR, azimuth_deg=np.array([50, 50]),
                            distance_m=np.array([2.0, 2.0]), times_s=np.array([0, seconds]))
    return Audio(y.astype(np.float32), SR), cues(track(1, -60, label="dog"),
                                                 track(2, 50, label="rain"), duration_s=seconds)


# -- without llama.cpp: what the user is told ------------------------------------------------

def test_missing_files_are_named_with_how_to_get_them(tmp_path, model_env, monkeypatch):
    monkeypatch.delenv("SPA2V_REGISTRY", raising=False)  # the shipped registry, empty folders
    with pytest.raises(ModelMissing, match="listener-audio-default") as e:
        resolve_files(None, None)
    assert "Qwen2.5-Omni-7B" in str(e.value) and "--listener tagger" in e.value.hint
    with pytest.raises(SpA2VError, match="both"):
        resolve_files(tmp_path / "a.gguf", None)
    not_gguf = tmp_path / "x.gguf"
    not_gguf.write_bytes(b"PK\x03\x04 not a gguf")
    with pytest.raises(ModelMissing, match="not a GGUF"):
        resolve_files(not_gguf, not_gguf)
    from tests.models.tiny_gguf import write_tiny_llama
    from tests.models.tiny_mmproj import write_tiny_audio_projector
    text = write_tiny_llama(tmp_path / "text.gguf", seed=0)
    mmproj = write_tiny_audio_projector(tmp_path / "mmproj.gguf", n_embd_text=TEXT_WIDTH, seed=0)
    cut = tmp_path / "cut.gguf"  # a download cut short keeps the magic
    cut.write_bytes(mmproj.read_bytes()[:-1000])
    with pytest.raises(ModelMissing, match="cut.gguf is not a usable GGUF file"):
        resolve_files(text, cut)
    assert resolve_files(text, mmproj) == (text, mmproj)


# -- with llama.cpp and tiny random models ---------------------------------------------------

@pytest.mark.llama
@needs_mtmd
def test_the_whole_path_on_a_wav_gives_grammar_valid_answers(tiny_pair, tmp_path):
    from engine.audio.io import load_audio

    audio, c = _two_sources()
    clip = tmp_path / "two.wav"
    write_audio(clip, audio.samples, SR)
    audio = load_audio(clip)
    model, mmproj = tiny_pair
    listener = AudioListener(model_path=model, mmproj_path=mmproj, n_ctx=8192, n_threads=2,
                             temperature=1.0, timeout_s=300)
    events = []
    result = run_job(listener.listen(listen_request(audio, c), CancelToken()), events.append)
    assert [s.source_id for s in result.sources] == [1, 2]       # one answer per source
    for s in result.sources:
        assert s.label and s.label == s.label.lower() and len(s.label) <= 24
        assert s.description and 0.0 <= s.confidence <= 1.0
    assert result.caption and result.background and result.model == "tiny-llama.gguf"
    assert any(getattr(e, "detail", "") == "listening" for e in events)   # audio was encoded


@pytest.mark.llama
@needs_mtmd
def test_a_broken_projector_is_a_clear_error_and_the_app_survives(tiny_pair, tmp_path, monkeypatch):
    model, mmproj = tiny_pair
    broken = tmp_path / "broken-mmproj.gguf"
    data = mmproj.read_bytes()
    broken.write_bytes(data[: len(data) // 3])                     # cut short: tensors missing
    with pytest.raises(ModelMissing, match="not a usable GGUF"):  # refused before llama.cpp
        AudioListener(model_path=model, mmproj_path=broken)
    # a file that passes that check and still breaks llama.cpp: the worker's error is clear
    monkeypatch.setattr("models.audio_listener.gguf_refusal", lambda path, kind=None: None)
    audio, c = _two_sources(2.0)
    listener = AudioListener(model_path=model, mmproj_path=broken, n_threads=2, timeout_s=120)
    with pytest.raises(BackendError, match="audio listener|llama.cpp"):
        run_job(listener.listen(listen_request(audio, c), CancelToken()))


@pytest.mark.llama
@needs_mtmd
def test_cancel_ends_the_worker(tiny_pair):
    model, mmproj = tiny_pair
    audio, c = _two_sources(2.0)
    listener = AudioListener(model_path=model, mmproj_path=mmproj, n_threads=2, timeout_s=300)
    token = CancelToken()
    job = listener.listen(listen_request(audio, c), token)
    with pytest.raises(Cancelled):
        for event in job:
            token.cancel()                                          # at the first event


def test_an_unreadable_models_folder_is_named_in_the_listener_note(tmp_path, monkeypatch):
    """Not "no audio listener model is installed" (the user had imported one)."""
    pytest.importorskip("llama_cpp")
    from models.audio_listener import default_listener

    models = tmp_path / "models"
    models.mkdir()
    (models / "imported.json").write_text("{")
    monkeypatch.setenv("SPA2V_MODELS_DIR", str(models))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    listener, note = default_listener()
    assert listener is None
    assert "the audio listener cannot be used: Cannot read" in note and "imported.json" in note
    assert "installed" not in note


def test_swapped_model_and_projector_are_said_before_llama_cpp_sees_them(tiny_pair):
    """The two files look alike by name; swapped, llama.cpp's "could not load the projector"
    said nothing of why."""
    model, mmproj = tiny_pair
    with pytest.raises(ModelMissing, match=r"is a projector \(mmproj"):
        resolve_files(mmproj, model)
    with pytest.raises(ModelMissing, match=r"is a language model \(llama\), not an audio projector"):
        resolve_files(model, model)


@pytest.mark.llama
@needs_mtmd
def test_a_projector_for_another_model_is_said_once_and_plainly(tiny_pair, tmp_path):
    """The warning read "The audio listener failed (the audio listener failed: RuntimeError:
    llama.cpp could not load the projector ...)"."""
    from engine.pipeline import _listen
    from engine.jobs import Log
    from tests.models.tiny_mmproj import write_tiny_audio_projector

    model, _ = tiny_pair
    other = write_tiny_audio_projector(tmp_path / "mmproj-wider.gguf", n_embd_text=2 * TEXT_WIDTH)
    listener = AudioListener(model_path=model, mmproj_path=other, n_threads=2, timeout_s=120)
    audio, c = _two_sources(2.0)
    events = []
    assert run_job(_listen(listener, audio, c, CancelToken()), events.append) is None
    [warning] = [e.message for e in events if isinstance(e, Log) and e.level == "warning"]
    assert warning.startswith("The audio listener failed (llama.cpp could not load the "
                              "projector"), warning
    assert "RuntimeError" not in warning and warning.count("failed") == 1


def test_a_listener_worker_that_cannot_be_started_leaves_the_taggers_names(tiny_pair,
                                                                            monkeypatch):
    import multiprocessing.context

    from engine.jobs import Log
    from engine.pipeline import _listen

    def no_fork(self):
        raise OSError(11, "Resource temporarily unavailable")
    monkeypatch.setattr(multiprocessing.context.SpawnProcess, "start", no_fork)
    model, mmproj = tiny_pair
    listener = AudioListener(model_path=model, mmproj_path=mmproj)
    audio, c = _two_sources(1.0)
    events = []
    assert run_job(_listen(listener, audio, c, CancelToken()), events.append) is None
    assert any("could not start llama.cpp's worker process" in e.message for e in events
               if isinstance(e, Log) and e.level == "warning")


def test_a_projector_without_audio_is_said_before_llama_cpp_sees_it(tiny_pair, tmp_path,
                                                                    monkeypatch):
    """An image mmproj in the listener's place failed in the worker with llama.cpp's 'could not
    load the projector', which says nothing of why."""
    pytest.importorskip("gguf")
    from gguf import GGUFWriter

    from tests.models.tiny_mmproj import write_tiny_audio_projector

    real = GGUFWriter.add_bool
    monkeypatch.setattr(GGUFWriter, "add_bool", lambda self, key, val: real(
        self, key, {"clip.has_audio_encoder": False, "clip.has_vision_encoder": True}.get(key, val)))
    image = write_tiny_audio_projector(tmp_path / "mmproj-vision.gguf", n_embd_text=TEXT_WIDTH)
    model, _ = tiny_pair
    with pytest.raises(ModelMissing, match=r"mmproj-vision.gguf is a projector with no audio "
                                           r"encoder \(an image one\?\)"):
        resolve_files(model, image)

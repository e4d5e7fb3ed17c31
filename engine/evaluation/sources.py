"""The development sound sources (``shared/data/sources``): catalogue and clip extension.

Each recording is a few seconds long; benchmark scenes and demo clips need 6-10 s. A
``loop`` source (an engine, rain) is repeated with crossfades from a random start; an
``events`` source (a bark, a horn) is repeated as separate events with gaps, as such sounds
occur in life.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import BadInput

SOURCES_REL = Path("shared") / "data" / "sources"
# Recordings fetched from Debian packages by benchmarks/hearing_fetch_sounds.py.
SOUNDS_CACHE = Path.home() / ".cache" / "spa2v" / "sounds"
FETCHED_CATALOGUE = "catalogue.json"


@dataclass(frozen=True)
class SourceInfo:
    """One catalogue row: ``id`` (file stem), ``cls`` (a short noun), ``mode``, ``licence``;
    fetched recordings also carry their AudioSet-style ``label``, ``category`` and origin
    (``package``, ``version``, ``inner_path``)."""

    id: str
    cls: str
    mode: str
    licence: str
    credit: str
    path: Path
    label: str = ""
    category: str = ""
    package: str = ""
    version: str = ""
    inner_path: str = ""


def find_sources_dir(start: Path) -> Path | None:
    """``shared/data/sources`` in the nearest parent of ``start`` that has one."""
    for parent in [start, *start.parents]:
        if (parent / SOURCES_REL / "sources.json").exists():
            return parent / SOURCES_REL
    return None


def default_sources_dir(repo: Path) -> Path:
    """Where a bench run from ``repo`` looks for the development recordings when not told:
    the nearest ``shared/data/sources`` at or above it, else ``../shared`` beside the
    repository (SPEC's layout; then loading says what is missing)."""
    return find_sources_dir(repo) or repo.parent / SOURCES_REL


def load_catalogue(directory: str | Path) -> list[SourceInfo]:
    directory = Path(directory)
    meta = directory / "sources.json"
    if not meta.exists():
        raise BadInput(f"No sources.json in {directory}.",
                       hint="Point --sources at shared/data/sources (it holds sources.json).")
    rows = json.loads(meta.read_text(encoding="utf-8"))
    out = []
    for r in rows:
        path = directory / f"{r['id']}.flac"
        if path.exists():
            out.append(SourceInfo(r["id"], r["cls"], r.get("mode", "loop"), r.get("licence", ""),
                                  r.get("credit", ""), path))
    if not out:
        raise BadInput(f"{directory} lists no recordings that exist on disk.")
    return out


def load_fetched_catalogue(cache: str | Path = SOUNDS_CACHE) -> list[SourceInfo]:
    """The recordings ``benchmarks/hearing_fetch_sounds.py`` fetched (``[]`` if none)."""
    cache = Path(cache)
    meta = cache / FETCHED_CATALOGUE
    if not meta.exists():
        return []
    out = []
    for r in json.loads(meta.read_text(encoding="utf-8")):
        path = cache / r["file"]
        if path.exists():
            out.append(SourceInfo(r["id"], r["noun"], r.get("mode", "events"),
                                  r.get("licence", ""), f"{r['package']} {r.get('version', '')}",
                                  path, r.get("label", ""), r.get("category", ""),
                                  r["package"], r.get("version", ""), r["path"]))
    return out


def load_source(info: SourceInfo, sample_rate: int = 44100) -> np.ndarray:
    """The recording as mono float ``(n,)`` at ``sample_rate``, peak-safe and DC-free."""
    import soundfile as sf
    x, sr = sf.read(str(info.path), dtype="float64", always_2d=True)
    x = x.mean(axis=1)
    if sr != sample_rate:
        import soxr
        x = soxr.resample(x, sr, sample_rate)
    return x - x.mean()


def active_rms(x: np.ndarray, sample_rate: int) -> float:
    """RMS over the louder half of 50 ms frames (gaps in event sounds do not count)."""
    hop = max(1, int(0.05 * sample_rate))
    n = len(x) // hop
    if n == 0:
        return float(np.sqrt(np.mean(x ** 2)) + 1e-12)
    e = np.mean(x[:n * hop].reshape(n, hop) ** 2, axis=1)
    return float(np.sqrt(np.mean(np.sort(e)[n // 2:])) + 1e-12)


def extend_source(x: np.ndarray, sample_rate: int, duration_s: float, mode: str,
                  rng: np.random.Generator) -> np.ndarray:
    """A ``duration_s`` clip built from recording ``x`` (see module docstring), ``(n,)``."""
    n = int(round(duration_s * sample_rate))
    if mode == "events":
        return _events(_trim(x, sample_rate), sample_rate, n, rng)
    return _loop(x, sample_rate, n, rng)


def _trim(x: np.ndarray, sr: int) -> np.ndarray:
    """Cut leading/trailing parts quieter than -50 dB re the peak."""
    env = np.abs(x)
    idx = np.nonzero(env > env.max() * 10 ** (-50 / 20))[0]
    return x[idx[0]: idx[-1] + 1] if idx.size else x


def _loop(x: np.ndarray, sr: int, n: int, rng: np.random.Generator) -> np.ndarray:
    fade = min(int(0.08 * sr), len(x) // 4)
    ramp = np.linspace(0.0, 1.0, fade) if fade else np.zeros(0)
    out = np.zeros(n + len(x))
    start = int(rng.integers(0, max(1, len(x) // 2)))
    piece = x[start:]
    pos = 0
    while pos < n:
        seg = piece.copy()
        if fade and pos > 0:
            seg[:fade] *= ramp
        if fade and len(seg) > 2 * fade:
            seg[-fade:] *= ramp[::-1]
        out[pos:pos + len(seg)] += seg
        pos += max(1, len(seg) - fade)
        piece = x
    return out[:n]


def _events(x: np.ndarray, sr: int, n: int, rng: np.random.Generator) -> np.ndarray:
    out = np.zeros(n + len(x))
    pos = int(rng.uniform(0.0, 0.3) * sr)
    while pos < n:
        gain = 10 ** (rng.uniform(-1.5, 1.5) / 20)  # takes differ a little, as in life
        out[pos:pos + len(x)] += gain * x
        pos += len(x) + int(rng.uniform(0.25, 0.8) * sr)
    return out[:n]

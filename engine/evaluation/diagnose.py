"""What the hearing diagnostics of ``benchmarks/`` share (``phantom_origins.py``,
``pair_origins.py``, ``pair_losses.py``): the world bench runs' reports, and one clip's mix
heard as ``spa2v`` hears it up to the counting stages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from ..audio import load_audio
from ..cues.analysis import StepCues, analyse_mix_job
from ..cues.frames import activity_mask
from ..cues.spatial import AnalysisGrid
from ..cues.stereo import StereoDecision, calibration_for, model_for, resolve_stereo
from ..jobs import run_job


@dataclass
class HeardMix:
    """A clip's mix as the pipeline reads it before counting (``extract_cues_job``'s first
    stages): the kind of stereo, its calibration and finding model, the per-step cues."""

    stereo: np.ndarray
    sample_rate: int
    grid: AnalysisGrid
    decision: StereoDecision
    cal: object
    model: object
    steps: StepCues
    active: np.ndarray

    def mask_model(self):
        """The kind's model for the sources' masks (the second pass's)."""
        return model_for(self.decision.kind, self.grid, for_masks=True,
                         **self.decision.tables)


def hear_mix(path: Path, stereo: str = "auto") -> HeardMix:
    """Hear the clip at ``path`` (``stereo``: a ``--stereo`` choice) up to the counting."""
    audio = load_audio(path)
    sr = int(audio.sample_rate)
    samples = audio.stereo()
    grid = AnalysisGrid.for_rate(sr)
    decision = resolve_stereo(stereo, samples, sr)
    cal = calibration_for(decision.kind, **decision.tables)
    model = model_for(decision.kind, grid, **decision.tables)
    steps = run_job(analyse_mix_job(samples, sr, cal, model))
    return HeardMix(samples, sr, grid, decision, cal, model, steps, activity_mask(steps.power))


def world_reports(runs: Iterable[Path], parts: Iterable[str]) -> Iterator[tuple[Path, str, int, dict]]:
    """``(run folder, part, scene seed, report)`` for each ``hearing_world.py --out`` folder
    and part whose report exists."""
    parts = list(parts)
    for run in runs:
        for part in parts:
            report = Path(run) / part / f"world_{part}.json"
            if report.exists():
                doc = json.loads(report.read_text())
                yield Path(run), part, int(doc["settings"].get("seed", 0)), doc

"""What a `spa2v render --plan` process imports: only what drawing and encoding need (issue 17:
the stereo cue models behind the listener cost 0.4 s of scipy.ndimage at every start)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from engine.layout import Layout, LayoutObject, save_layout
from tests.synth import write_wav

ROOT = Path(__file__).resolve().parents[3]
NOT_NEEDED = ("scipy", "importlib.metadata", "engine.naming.listening", "engine.cues.stereo",
              "torch", "PySide6")


def test_render_from_a_plan_imports_neither_the_cue_models_nor_scipy(tmp_path):
    sr = 16000
    audio = write_wav(tmp_path / "a.wav", 0.1 * np.random.default_rng(0).standard_normal(
        (2, sr)).astype(np.float32), sr)
    obj = LayoutObject(1, "dog", "a dog", "static", 0.9, [(0.3, 0.4, 0.6, 0.8)] * 4)
    save_layout(Layout(duration_s=1.0, num_frames=4, fps=4.0, caption="", background="",
                       objects=[obj]), tmp_path / "plan.json")
    out = tmp_path / "out.mp4"
    code = ("import sys, json; from spa2v_app.cli import main; rc = main(sys.argv[1:]); "
            f"print(json.dumps([m for m in {NOT_NEEDED!r} if m in sys.modules])); sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code, "-q", "render", str(audio), "--plan",
                           str(tmp_path / "plan.json"), "-o", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_size > 0  # it did render
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []

"""Chunked analysis of long files agrees with whole-file analysis."""

import numpy as np
import pytest

from engine.audio import load_audio
from engine.cues.extract import extract_cues
from engine.cues.longform import extract_cues_chunked
from engine.errors import BadInput
from engine.jobs import CancelToken, run_job
from tests.synth import panned_noise, write_wav


def test_chunked_matches_whole_file(tmp_path):
    x = panned_noise((-60, 60), duration_s=12.0, sr=16000)
    path = write_wav(tmp_path / "sweep.wav", x, sr=16000)
    whole = extract_cues(load_audio(path), num_frames=6)
    chunked = run_job(extract_cues_chunked(path, num_frames=6, tagger=None, token=CancelToken(),
                                           chunk_s=2.5))
    assert chunked.num_frames == 6 and len(chunked.sources) == 1
    a, b = whole.sources[0].azimuth_deg, chunked.sources[0].azimuth_deg
    assert np.max(np.abs(a - b)) < 8.0
    assert np.all(np.diff(b) > 0)  # still sweeping left to right
    assert chunked.duration_s == pytest.approx(12.0, abs=1e-3)


def test_chunked_silence_is_refused(tmp_path):
    path = write_wav(tmp_path / "quiet.wav", np.zeros((2, 16000 * 6), np.float32), sr=16000)
    with pytest.raises(BadInput, match="silent"):
        run_job(extract_cues_chunked(path, num_frames=4, tagger=None, token=CancelToken(),
                                     chunk_s=2.0))


def test_pipeline_switches_to_chunks_for_long_files(tmp_path, monkeypatch):
    import engine.cues.longform as longform
    import engine.pipeline as pipeline
    from engine.planning.heuristic import HeuristicPlanner
    monkeypatch.setattr(longform, "LONG_INPUT_S", 5.0)
    monkeypatch.setattr(longform, "CHUNK_S", 2.0)
    path = write_wav(tmp_path / "long.wav", panned_noise(50, duration_s=8.0, sr=16000), sr=16000)
    events = []
    layout, cues = run_job(pipeline.plan_job(path, pipeline.PlanSettings(num_frames=8),
                                             planner=HeuristicPlanner(), tagger=None,
                                             token=CancelToken()), events.append)
    assert "chunked" in cues.extractor
    assert any("chunks" in getattr(e, "message", "") for e in events)
    xs = [0.5 * (b[0] + b[2]) for b in layout.objects[0].boxes]
    assert np.mean(xs) > 0.65  # right of centre, as placed


def test_a_chunk_of_dc_offset_alone_is_quiet_not_a_crash(tmp_path):
    # A converter's pause: the first chunk is a constant offset, no sound (cliaudit's case:
    # 60 s of 0.01 before an 11-minute recording crashed the step levels' split). It must be
    # heard exactly as a silent pause is.
    sr = 16000
    heard = {}
    for lead in (0.0, 0.01):
        x = panned_noise(-50, duration_s=6.0, sr=sr)
        x[:, : 2 * sr] = lead
        path = write_wav(tmp_path / f"pause{lead}.wav", x, sr=sr)
        heard[lead] = run_job(extract_cues_chunked(path, num_frames=6, tagger=None,
                                                   token=CancelToken(), chunk_s=2.0))
    silent, offset = heard[0.0], heard[0.01]
    assert len(offset.sources) == len(silent.sources)
    for a, b in zip(silent.sources, offset.sources):
        assert np.array_equal(a.active, b.active)
        assert np.allclose(a.azimuth_deg, b.azimuth_deg, equal_nan=True)
    sounding = [s for s in offset.sources if s.active.any()]
    assert len(sounding) == 1 and not sounding[0].active[:2].any()
    assert np.mean(sounding[0].azimuth_deg[sounding[0].active]) < -30   # the noise, left


def test_dc_offset_only_in_a_chunk_is_refused_as_silent(tmp_path):
    path = write_wav(tmp_path / "dc.wav", np.full((2, 16000 * 6), 0.01, np.float32), sr=16000)
    with pytest.raises(BadInput, match="silent"):
        run_job(extract_cues_chunked(path, num_frames=4, tagger=None, token=CancelToken(),
                                     chunk_s=2.0))


def test_a_constant_step_level_is_one_group_not_a_crash():
    # Step levels a few float steps apart (a DC offset, a synthetic steady tone) have no 64
    # finite histogram bins; numpy raised "Too many bins for data range" from the split.
    from engine.cues.frames import activity_mask
    for k in range(1, 40):   # power a few parts in 1e16 apart: a handful of float steps in dB
        power = np.full(200, 1e-4)
        power[::2] = 1e-4 * (1 + k * 1e-16)
        assert activity_mask(power).all()

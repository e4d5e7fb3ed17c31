"""The cue extractor's public functions (``extract_cues``, ``extract_cues_job``): argument
checks, what the returned Cues hold per frame, what the sound tagger is handed, and the job's
events. Signals are synthetic with a known answer (seeded pink noise through the HRTF
renderer, or plain level steps)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.audio.io import Audio
from engine.binaural import render_binaural
from engine.cues.calibration import pink_noise
from engine.cues.extract import EXTRACTOR, TAG_MAX_S, extract_cues, extract_cues_job
from engine.cues.types import Tag
from engine.errors import BadInput
from engine.jobs import Progress, run_job
from tests.synth import two_binaural_sources

SR = 16000


def noise(seconds, seed=0, level=0.1):
    return level * pink_noise(int(seconds * SR), np.random.default_rng(seed))


def stereo(x, az=30.0):
    return Audio(render_binaural(x, SR, azimuth_deg=az, distance_m=2.0).astype(np.float32), SR)


class Recorder:
    """A tagger that records what it is handed and names it by a fixed label."""

    name = "recorder"

    def __init__(self, label="thing", fail=None):
        self.label, self.fail = label, fail
        self.calls = []

    def tag(self, mono, sample_rate, *, top_k=5):
        self.calls.append((np.array(mono), sample_rate, top_k))
        if self.fail:
            raise self.fail
        return [Tag(self.label, 0.9), Tag("other", 0.1)]


@pytest.mark.parametrize("kw, words", [
    (dict(num_frames=0), "num_frames must be at least 1, got 0"),
    (dict(num_frames=4, max_sources=0), "max_sources must be 1, 2 or 3, got 0"),
    (dict(num_frames=4, max_sources=4), "max_sources must be 1, 2 or 3, got 4"),
])
def test_arguments_are_checked(kw, words):
    with pytest.raises(BadInput, match=words):
        extract_cues(stereo(noise(0.5)), **kw)


def test_a_tenth_of_a_second_is_the_shortest_clip():
    short = Audio(np.full((2, int(0.1 * SR) - 1), 0.1, np.float32), SR)
    with pytest.raises(BadInput, match="needs at least 0.1 s"):
        extract_cues(short, num_frames=1)
    ok = extract_cues(stereo(noise(0.1)), num_frames=1, max_sources=1)
    assert ok.num_frames == 1 and ok.duration_s == pytest.approx(0.1)


def test_the_cues_describe_the_clip_frame_by_frame():
    x = noise(2.0)
    x[SR:] *= 10.0  # the second second is 20 dB louder
    audio = stereo(x, az=-40.0)
    audio.notes.append("a note from the loader")
    c = extract_cues(audio, num_frames=4, max_sources=1)
    assert (c.num_frames, c.sample_rate, c.mono, c.extractor) == (4, SR, False, EXTRACTOR)
    assert c.duration_s == pytest.approx(audio.duration_s)
    assert c.notes[0] == "a note from the loader"
    for arr in (c.loudness_db, c.centroid_hz, c.pitch_drift_st):
        assert np.shape(arr) == (4,) and np.all(np.isfinite(arr))
    # frames 0-1 cover the quiet second, 2-3 the loud one: 20 dB apart (measured 19.7)
    assert c.loudness_db[3] - c.loudness_db[0] == pytest.approx(20.0, abs=0.5)
    assert c.pitch_drift_st[0] == 0.0  # drift is counted from the first frame
    (src,) = c.sources
    assert src.id == 1 and src.mean_azimuth() == pytest.approx(-40, abs=8)
    assert src.active.all() and np.all(src.confidence[2:] > 0.3)  # the loud half
    assert src.loudness_db[3] - src.loudness_db[0] == pytest.approx(20.0, abs=0.5)


def test_centroid_follows_the_spectrum():
    t = np.arange(2 * SR) / SR
    x = np.where(t < 1.0, np.sin(2 * np.pi * 300 * t), np.sin(2 * np.pi * 3000 * t)) * 0.1
    x = x + 0.001 * np.random.default_rng(0).standard_normal(t.size)
    c = extract_cues(stereo(x, az=0.0), num_frames=4, max_sources=1)
    assert c.centroid_hz[0] == pytest.approx(300, rel=0.3)
    assert c.centroid_hz[3] == pytest.approx(3000, rel=0.3)


def test_one_source_gets_the_mix_tags_and_the_tagger_is_asked_once():
    tagger = Recorder("engine")
    c = extract_cues(stereo(noise(1.5)), num_frames=4, tagger=tagger)
    assert len(tagger.calls) == 1
    mono, rate, top_k = tagger.calls[0]
    assert rate == SR and top_k == 5 and mono.dtype == np.float32
    assert [t.label for t in c.tags] == ["engine", "other"]
    assert c.sources[0].tags == c.tags and c.sources[0].label == "engine"


def test_the_tagger_hears_a_quiet_clip_at_a_working_level():
    tagger = Recorder()
    extract_cues(stereo(noise(1.5, level=0.003)), num_frames=2, tagger=tagger)
    mono = tagger.calls[0][0]
    hop = int(0.05 * SR)
    e = np.sort(np.mean(mono[:mono.size // hop * hop].reshape(-1, hop) ** 2, axis=1))
    louder_half_db = 10 * np.log10(np.mean(e[e.size // 2:]))
    assert louder_half_db == pytest.approx(-20.0, abs=0.5)
    assert np.max(np.abs(mono)) < 1.0


def test_a_loud_peak_is_never_pushed_past_full_scale():
    x = noise(1.5, level=0.01)
    x[SR // 2:SR // 2 + 40] = 0.5  # a click far above the rest
    tagger = Recorder()
    extract_cues(stereo(x), num_frames=2, tagger=tagger)
    assert np.max(np.abs(tagger.calls[0][0])) <= 0.99 + 1e-6


def test_a_long_clip_is_tagged_on_its_loudest_ten_seconds():
    seconds = 14.0
    x = noise(seconds, level=0.002)
    burst = slice(int(11.0 * SR), int(12.5 * SR))
    x[burst] = noise(1.5, seed=5, level=0.2)
    tagger = Recorder()
    extract_cues(stereo(x), num_frames=2, tagger=tagger, max_sources=1)
    mono = tagger.calls[0][0]
    assert mono.size == int(TAG_MAX_S * SR)
    # the burst (the loudest second and a half) is inside what the tagger heard
    level = np.sqrt(np.mean(mono[:mono.size // SR * SR].reshape(-1, SR) ** 2, axis=1))
    assert np.sum(level > 5 * np.median(level)) >= 1


def test_a_failing_tagger_costs_the_names_not_the_cues():
    tagger = Recorder(fail=RuntimeError("model file truncated"))
    c = extract_cues(stereo(noise(1.0)), num_frames=2, tagger=tagger)
    assert c.tags == [] and c.sources[0].tags == []
    assert "The sound tagger failed (RuntimeError: model file truncated); sources are unnamed." \
        in c.notes
    assert np.isfinite(c.sources[0].azimuth_deg).all()


def test_mono_is_one_source_of_unknown_direction():
    audio = Audio(noise(1.0)[None].astype(np.float32), SR)
    tagger = Recorder("dog")
    c = extract_cues(audio, num_frames=4, tagger=tagger)
    assert c.mono and len(c.sources) == 1
    (src,) = c.sources
    assert src.id == 1 and src.motion == "static" and src.motion_confidence == 0.0
    assert np.isnan(src.azimuth_deg).all() and np.all(src.confidence == 0.0)
    assert src.active.all() and np.all((src.proximity >= 0) & (src.proximity <= 1))
    assert src.label == "dog"


def test_the_job_reports_progress_up_to_one_and_names_its_stages():
    events = []
    c = run_job(extract_cues_job(stereo(noise(1.0)), num_frames=2, tagger=Recorder()),
                events.append)
    progress = [e for e in events if isinstance(e, Progress)]
    fractions = [e.fraction for e in progress]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    assert [e.detail for e in progress if e.fraction == pytest.approx(0.92)] == ["naming sounds"]
    assert progress[-1].detail == "1 source(s)" and len(c.sources) == 1
    events = []
    run_job(extract_cues_job(stereo(noise(1.0)), num_frames=2), events.append)
    assert not any("naming" in e.detail for e in events if isinstance(e, Progress))


def two_sources() -> Audio:
    return Audio(two_binaural_sources(SR).astype(np.float32), SR)


def test_two_sources_are_numbered_and_said():
    audio = two_sources()
    tagger = Recorder()
    c = extract_cues(audio, num_frames=8, tagger=tagger)
    assert [s.id for s in c.sources] == [1, 2]
    assert ("Heard 2 sources at once; each is tracked on its own time-frequency mask."
            in c.notes)
    assert len(tagger.calls) == 3  # the mix once, then each source on its own
    one = extract_cues(audio, num_frames=8, max_sources=1)
    assert len(one.sources) == 1 and not any(n.startswith("Heard") for n in one.notes)


def test_the_separation_pass_reports_its_progress_within_its_share():
    events = []
    run_job(extract_cues_job(two_sources(), num_frames=8), events.append)
    progress = [e for e in events if isinstance(e, Progress)]
    fractions = [e.fraction for e in progress]
    assert fractions == sorted(fractions) and 0.0 <= fractions[0] and fractions[-1] == 1.0
    separating = [e for e in progress if e.detail.startswith("separating: ")]
    assert separating  # the second pass is seen, between listening (0-0.6) and naming
    assert all(0.6 <= e.fraction <= 0.9 + 1e-9 for e in separating)


def test_no_tagger_means_no_tags():
    c = extract_cues(stereo(noise(1.0)), num_frames=2)
    assert c.tags == [] and c.sources[0].tags == []


@pytest.mark.parametrize("stage", ["listening", "separating"])
def test_cancel_stops_the_pass_it_is_in(stage, monkeypatch):
    from engine.cues import analysis
    from engine.errors import Cancelled
    from engine.jobs import CancelToken

    monkeypatch.setattr(analysis, "CHUNK_S", 1.0)  # five chunks per pass for 4 s
    monkeypatch.setattr(analysis, "MARGIN_S", 0.5)
    token = CancelToken()
    seen = []
    job = extract_cues_job(two_sources(), num_frames=8, token=token)
    with pytest.raises(Cancelled):
        while True:
            e = next(job)
            if isinstance(e, Progress):
                seen.append(e.detail)
                if e.detail.startswith(stage) and not token.cancelled:
                    token.cancel()
                    at = len(seen)
    # the pass stops at its next chunk: no further report of it after the cancel
    assert at == 1 if stage == "listening" else at == 6
    assert not any(d.startswith(stage) for d in seen[at:])


def test_extract_cues_passes_the_cancel_on():
    from engine.errors import Cancelled
    from engine.jobs import CancelToken

    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        extract_cues(stereo(noise(0.5)), num_frames=2, token=token)

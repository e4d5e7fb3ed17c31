"""The calibrated cue extractor on sources put through the KEMAR renderer at known places.

Tolerances are stated per test; everything is seeded and uses the shipped tables only.
"""

import numpy as np
import pytest

from engine.audio.io import Audio
from engine.binaural import render_binaural
from engine.cues import analysis
from engine.cues.blocks import blocks
from engine.cues.calibration import default_calibration, pink_noise
from engine.cues.extract import extract_cues
from engine.cues.spatial import AnalysisGrid, step_spectra, steered_gcc, stft
from engine.cues.tracking import track_azimuth
from engine.errors import BadInput, Cancelled
from engine.jobs import CancelToken
from tests.synth import two_binaural_sources

SR = 16000  # the shipped 44.1 kHz HRIRs resampled: keeps the tests fast


def source(seconds=3.0, seed=0, sr=SR):
    return 0.1 * pink_noise(int(seconds * sr), np.random.default_rng(seed))


def cues_for(stereo, frames=8, **kw):
    return extract_cues(Audio(np.asarray(stereo, np.float32), SR), num_frames=frames, **kw)


def test_calibration_signs_and_monotonic_itd():
    cal = default_calibration()
    assert cal.azimuth_deg[0] == -90 and cal.azimuth_deg[-1] == 90
    assert np.all(np.diff(cal.itd_s) > 0)  # monotonic: right = later left ear = positive
    assert 600e-6 < cal.itd_s[-1] < 850e-6 and cal.itd_s[-1] == pytest.approx(-cal.itd_s[0], rel=0.05)
    right = cal.ild_db[cal.azimuth_deg == 60][0]
    assert np.all(right[3:] > 3.0)  # a source on the right is louder in the right ear


def test_gcc_phat_reads_a_plain_delay():
    x = source(1.0)
    d = 5  # samples: the left channel is late, so the sound is on the right
    stereo = np.stack([np.concatenate([np.zeros(d), x[:-d]]), x])
    grid = AnalysisGrid.for_rate(SR)
    st = step_spectra(stft(stereo, grid))
    lags = np.arange(-1e-3, 1e-3, 1e-5)
    gcc = steered_gcc(st, st.msc, grid, lags)
    assert np.median(lags[np.argmax(gcc, axis=1)]) == pytest.approx(d / SR, abs=2e-5)


@pytest.mark.parametrize("az", [-75, -45, -20, 0, 15, 40, 70])
def test_static_source_azimuth_within_3_degrees(az):
    y = render_binaural(source(), SR, azimuth_deg=az, distance_m=2.0)
    c = cues_for(y)
    (src,) = c.sources
    assert src.mean_azimuth() == pytest.approx(az, abs=3.0)
    assert np.sign(np.round(src.mean_azimuth())) == np.sign(az)  # left is left
    assert src.motion == "static"
    assert np.all(src.confidence[src.active] > 0.3)


@pytest.mark.parametrize("path, motion", [((-70, 70), "left_to_right"),
                                          ((70, -70), "right_to_left")])
def test_sweeps_follow_the_path(path, motion):
    seconds = 4.0
    y = render_binaural(source(seconds), SR, azimuth_deg=list(path), times_s=[0, seconds],
                        distance_m=2.0)
    c = cues_for(y, frames=8)
    (src,) = c.sources
    assert src.motion == motion
    truth = np.interp((np.arange(8) + 0.5) / 8, [0, 1], path)
    assert np.max(np.abs(src.azimuth_deg - truth)) < 6.0  # per frame, degrees


@pytest.mark.parametrize("r0, r1, motion", [(6.0, 1.5, "approaching"), (1.5, 6.0, "receding")])
def test_distance_changes_are_labelled(r0, r1, motion):
    y = render_binaural(source(4.0), SR, azimuth_deg=25, distance_m=[r0, r1], times_s=[0, 4.0])
    (src,) = cues_for(y).sources
    assert src.motion == motion
    assert (src.proximity[-1] > src.proximity[0]) == (motion == "approaching")


def test_a_sound_that_decays_by_itself_is_not_receding():
    t = np.arange(int(3.0 * SR)) / SR
    burst = source(3.0) * np.exp(-t / 0.35)  # 25 dB/s, a struck or exploding sound
    burst[: int(0.3 * SR)] = 0.0
    y = render_binaural(burst, SR, azimuth_deg=-30, distance_m=2.0)
    (src,) = cues_for(y).sources
    assert src.motion == "static"


def test_mono_has_unknown_direction_and_a_note():
    c = extract_cues(Audio(source(1.0)[None].astype(np.float32), SR), num_frames=4)
    (src,) = c.sources
    assert c.mono and np.all(np.isnan(src.azimuth_deg)) and np.all(src.confidence == 0)


class SpectralTagger:
    """Test plumbing only (not a claim of tagging): names its input by its spectral centroid,
    so each separated source's masked signal can be told apart."""

    name = "spectral-test"

    def tag(self, mono, sample_rate, *, top_k=5):
        from engine.cues.types import Tag
        spec = np.abs(np.fft.rfft(mono))
        f = np.fft.rfftfreq(mono.size, 1 / sample_rate)
        centroid = float(np.sum(f * spec) / np.sum(spec))
        return [Tag("low" if centroid < 1500 else "high", 0.9)]


def test_two_sources_are_separated_placed_and_tagged_on_their_own():
    y = two_binaural_sources(SR)
    c = cues_for(y, tagger=SpectralTagger())
    assert len(c.sources) == 2
    by_side = sorted(c.sources, key=lambda s: s.mean_azimuth())
    assert by_side[0].mean_azimuth() == pytest.approx(-50, abs=8)
    assert by_side[1].mean_azimuth() == pytest.approx(40, abs=8)
    assert [s.label for s in by_side] == ["low", "high"]


def test_one_source_in_a_room_is_one_source():
    from engine.binaural import Room
    y = render_binaural(source(4.0), SR, azimuth_deg=35, distance_m=2.0, room=Room(rt60_s=0.5))
    c = cues_for(y)
    assert len(c.sources) == 1
    assert c.sources[0].mean_azimuth() == pytest.approx(35, abs=8)


def test_chunked_analysis_agrees_with_one_piece(monkeypatch):
    seconds = 9.0
    y = render_binaural(source(seconds), SR, azimuth_deg=[-60, 60], times_s=[0, seconds],
                        distance_m=2.0)
    whole = cues_for(y, frames=9).sources[0].azimuth_deg
    monkeypatch.setattr(analysis, "CHUNK_S", 2.0)
    monkeypatch.setattr(analysis, "MARGIN_S", 1.0)
    assert len(analysis.chunk_spans(y.shape[1], SR, AnalysisGrid.for_rate(SR))) > 3
    chunked = cues_for(y, frames=9).sources[0].azimuth_deg
    assert np.max(np.abs(whole - chunked)) < 3.0


def test_tracker_smooths_jitter_and_follows_motion():
    grid = np.arange(-90.0, 91.0)
    rng = np.random.default_rng(0)
    truth = np.linspace(-40, 40, 200)
    noisy = truth + rng.normal(0, 8, truth.size)
    loglik = -0.5 * ((grid[None, :] - noisy[:, None]) / 8.0) ** 2
    tr = track_azimuth(loglik, np.ones(truth.size), grid, step_s=0.05)
    assert np.mean(np.abs(tr.azimuth_deg - truth)) < 0.5 * np.mean(np.abs(noisy - truth))


def _textbook_posterior(loglik, weight, grid, step_s):
    """Forward-backward with both messages normalised at every step."""
    from engine.cues.tracking import JUMP_PROB, MAX_SPEED_DEG_S, _transition
    trans = _transition(len(grid), step_s, float(grid[1] - grid[0]), MAX_SPEED_DEG_S, JUMP_PROB)
    emis = np.exp(weight[:, None] * (loglik - loglik.max(axis=1, keepdims=True)))
    alpha = np.empty_like(emis)
    alpha[0] = emis[0] / emis[0].sum()
    for s in range(1, len(emis)):
        a = (alpha[s - 1] @ trans) * emis[s]
        alpha[s] = a / a.sum()
    post = np.empty_like(alpha)
    b = np.ones(len(grid))
    post[-1] = alpha[-1]
    for s in range(len(emis) - 2, -1, -1):
        b = trans @ (emis[s + 1] * b)
        b /= b.max()
        post[s] = alpha[s] * b / np.sum(alpha[s] * b)
    return post


def test_tracker_rescaled_messages_equal_per_step_normalisation():
    # Sharp evidence that jumps across the whole grid (every step for a while: each jump
    # shrinks the messages by the jump probability), and stretches with none: the unscaled
    # steps must neither underflow nor drift.
    grid = np.arange(-90.0, 91.0, 2.0)
    steps = np.arange(400)
    truth = np.where(np.where(steps < 200, steps, steps // 40) % 2, 80.0, -80.0)
    loglik = -0.5 * ((grid[None, :] - truth[:, None]) / 2.0) ** 2 * 20.0
    weight = np.where((steps // 25) % 4 == 3, 0.0, 1.0)
    tr = track_azimuth(loglik, weight, grid, step_s=0.05)
    post = _textbook_posterior(loglik, weight, grid, 0.05)
    assert np.all(np.isfinite(tr.posterior))
    assert np.allclose(tr.posterior, post, rtol=1e-9, atol=1e-12)


def test_cues_round_trip_and_bad_input():
    y = render_binaural(source(1.0), SR, azimuth_deg=30, distance_m=2.0)
    c = cues_for(y, frames=4)
    from engine.cues.types import Cues
    back = Cues.from_dict(c.to_dict())
    assert back.sources[0].evidence.keys() == c.sources[0].evidence.keys()
    with pytest.raises(BadInput):
        cues_for(y, frames=0)
    with pytest.raises(BadInput):
        cues_for(y, max_sources=4)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        cues_for(y, token=token)


def test_a_pass_by_drops_in_pitch():
    sr = 16000
    t = np.arange(int(4.0 * sr)) / sr
    # A harmonic engine-like tone passing at 25 m/s, 4 m away: about 2.5 semitones down.
    tone = sum(np.sin(2 * np.pi * k * 220 * t) / k for k in range(1, 8)) * 0.05
    times = np.linspace(0, 4.0, 81)
    x = 25.0 * (times - 2.0)
    y = render_binaural(tone, sr, azimuth_deg=np.rad2deg(np.arctan2(x, 4.0)),
                        distance_m=np.hypot(x, 4.0), times_s=times, doppler=True)
    c = extract_cues(Audio(y.astype(np.float32), sr), num_frames=8)
    assert c.pitch_drift_st[-1] - c.pitch_drift_st[0] < -1.5
    assert c.sources[0].motion == "left_to_right"


def _block_fit(y, diffuse=False):
    from engine.cues.pairfit import BIN_STRIDE, pair_fit, step_covariances
    from engine.cues.binmodel import bin_model
    from engine.cues.calibration import default_calibration
    from engine.cues.diffuse import diffuse_coherence
    grid = AnalysisGrid.for_rate(SR)
    model = bin_model(grid)
    raw = step_spectra(stft(y, grid))
    cov = blocks(step_covariances(raw.p_l, raw.p_r, raw.s_lr, model))
    freqs = grid.freqs[model.sel][::BIN_STRIDE]
    gamma = diffuse_coherence(default_calibration(), freqs) if diffuse else None
    return pair_fit(cov, model, freqs, diffuse=gamma)


def test_pair_fit_finds_both_of_two_sources_sharing_every_bin():
    # two independent pink noises (same spectrum, both all the time): every bin is a mixture
    y = (render_binaural(source(3.0, seed=11), SR, azimuth_deg=-35, distance_m=2.0)
         + render_binaural(source(3.0, seed=12), SR, azimuth_deg=50, distance_m=2.0))
    fit = _block_fit(y)
    pair = np.sort(np.stack([fit.a_deg, fit.b_deg]), axis=0)
    assert np.median(np.abs(pair[0] + 35)) <= 6 and np.median(np.abs(pair[1] - 50)) <= 6
    # two directions explain the blocks far better than one
    assert np.median(fit.r2) <= 0.2 * np.median(fit.r1)


def test_pair_fit_of_one_source_needs_no_partner():
    fit = _block_fit(render_binaural(source(3.0, seed=13), SR, azimuth_deg=30, distance_m=2.0))
    assert np.median(np.abs(fit.a_deg - 30)) <= 4
    assert np.median(fit.r1) < 0.01  # one direction explains it: no two-source search
    assert np.all(fit.r2 <= fit.r1 + 1e-9)


def test_two_steady_broadband_sources_are_two_objects():
    # the case per-bin histograms miss: they see a smear between two sounds sharing every bin
    y = (render_binaural(source(4.0, seed=21), SR, azimuth_deg=-40, distance_m=2.0)
         + render_binaural(0.8 * source(4.0, seed=22), SR, azimuth_deg=45, distance_m=2.0))
    c = cues_for(y)
    assert len(c.sources) == 2
    got = sorted(float(np.median(s.azimuth_deg)) for s in c.sources)
    assert abs(got[0] + 40) <= 8 and abs(got[1] - 45) <= 8


@pytest.mark.parametrize("rate", [0.0, 12.0])
def test_path_is_fitted_through_scattered_points(rate):
    from engine.cues.separation import _fit_path
    rng = np.random.default_rng(0)
    t = np.sort(rng.uniform(0, 6, 40))
    truth = 30.0 + rate * (t - 3.0)
    on = rng.random(40) < 0.6  # 60 % on the path, the rest anywhere
    az = np.where(on, truth + rng.normal(0, 2, 40), rng.uniform(-90, 90, 40))
    count, path = _fit_path(t, az, 3.0, np.array([0.5, 3.0, 5.5]), tolerance_deg=8.0)
    assert count >= on.sum()
    assert np.max(np.abs(path - (30.0 + rate * (np.array([0.5, 3.0, 5.5]) - 3.0)))) <= 4.0


def test_a_low_rumble_beside_a_broadband_sound_in_a_room_is_a_second_source():
    # An engine's rumble (below 300 Hz) and a hiss (above 1.5 kHz) of equal power in a
    # reverberant room: above 500 Hz the rumble is absent, so only the low band hears it.
    from scipy.signal import butter, sosfilt
    from engine.binaural import Room
    rng = np.random.default_rng(5)
    n = int(5.0 * SR)
    t = np.arange(n) / SR
    low = sosfilt(butter(4, 300, "lowpass", fs=SR, output="sos"), rng.standard_normal(n))
    low *= 1.2 + np.sin(2 * np.pi * 0.7 * t)
    high = sosfilt(butter(4, 1500, "highpass", fs=SR, output="sos"), rng.standard_normal(n))
    room = Room(rt60_s=0.5)
    y_low = render_binaural(low, SR, azimuth_deg=-45, distance_m=2.0, room=room)
    y_high = render_binaural(high, SR, azimuth_deg=40, distance_m=2.0, room=room)
    y_low *= np.sqrt(np.mean(y_high ** 2) / np.mean(y_low ** 2))
    c = cues_for(y_low + y_high)
    assert len(c.sources) == 2
    got = sorted(float(np.median(s.azimuth_deg)) for s in c.sources)
    # the hiss is placed exactly; the rumble on its side, pulled toward the centre
    # by the room (low-band interaural delays shrink where room sound dominates)
    assert abs(got[1] - 40) <= 8
    assert -70 <= got[0] <= -20


def _block_pairs(other, ratio, main=0.0, hit_ratio=0.5):
    from engine.cues.separation import _BlockPairs
    k = len(other)
    other = np.asarray(other, float)
    return _BlockPairs(np.ones(k, bool), np.full(k, main), other,
                       np.abs(other - main) >= 24, np.asarray(ratio, float), hit_ratio, 0.35)


def _candidate(block_az, prominence=0.2, comodulation=0.5):
    from engine.cues.separation import _Candidate
    blocks = np.arange(len(block_az))
    step_az = np.repeat(np.asarray(block_az, float), 5)
    return _Candidate(step_az, np.ones(step_az.size, bool), blocks, np.asarray(block_az, float),
                      1.0, 0.5, lambda: comodulation, lambda: prominence)


def test_a_histogram_track_counts_where_the_pair_fits_place_it_too():
    from engine.cues.separation import _corroborated_source
    k = 20
    track = _candidate(np.full(k, 50.0))  # quiet, no GCC peak of its own, comodulated
    # the pair fits put a second direction on the track in 5 blocks, clearly (ratio 0.3)
    other = np.where(np.arange(k) % 4 == 0, 52.0, 0.0)
    found = _corroborated_source(_block_pairs(other, np.full(k, 0.3)), [track])
    assert found is not None and found.origin == "corroborated"
    assert np.median(found.step_az) == pytest.approx(50.0)
    # elsewhere than the track, or nowhere (a reflection or model mismatch): no source
    assert _corroborated_source(_block_pairs(np.where(other, -60.0, 0.0), np.full(k, 0.3)),
                                [track]) is None
    assert _corroborated_source(_block_pairs(np.zeros(k), np.full(k, 0.3)), [track]) is None
    # weakly (the fits only explain 25 % more with two): only a clean track counts
    weak = _block_pairs(other, np.full(k, 0.75))
    assert _corroborated_source(weak, [track]) is None
    clean = _candidate(np.full(k, 50.0), prominence=0.6, comodulation=0.0)
    found = _corroborated_source(weak, [clean])
    assert found is not None and found.origin == "corroborated"
    assert np.median(found.step_az) == pytest.approx(50.0)


def test_only_leftovers_are_dropped_for_being_quiet():
    from types import SimpleNamespace
    from engine.cues.extract import _distinct
    from engine.cues.separation import SourceSpec
    n = 100
    def sep(level_db, az):
        return SimpleNamespace(power=np.full(n, 10 ** (level_db / 10)), azimuth_deg=np.full(n, az))
    def spec(origin):
        return SourceSpec(np.zeros(n), np.ones(n, bool), 1.0, origin=origin)
    # the mix's own track, 17 dB below a source the histograms found, stays
    kept = _distinct([sep(-37, -20), sep(-20, 70)], [spec("mix"), spec("histogram")])
    assert len(kept) == 2
    # a histogram-only source 17 dB below the others is a leftover of their masks
    kept = _distinct([sep(-20, -20), sep(-37, 70)], [spec("mix"), spec("histogram")])
    assert len(kept) == 1 and kept[0].azimuth_deg[0] == -20


def _low_band_steps(peak_deg, main_deg, low_db, high_db):
    from types import SimpleNamespace
    n = len(low_db)
    az = np.arange(-90.0, 91.0, 2.0)
    g = np.cos(np.deg2rad(az - peak_deg))[None, :] ** 8 * np.ones((n, 1))
    power = 10 ** (np.maximum(low_db, high_db) / 10)
    return SimpleNamespace(low_gcc=g, low_weight=np.ones(n), step_s=0.0464, power=power,
                           band_power=10 ** (np.stack([low_db, high_db], axis=1) / 10))


def test_a_low_band_path_away_from_the_main_sound_is_a_source_unless_it_moves_with_it():
    from engine.cues.separation import SourceSpec, _low_band_source
    n = 130
    rng = np.random.default_rng(0)
    main = SourceSpec(np.full(n, 40.0), np.ones(n, bool), 1.0, origin="mix")
    swell = np.repeat(rng.normal(0, 3, n // 5), 5)
    own = np.repeat(rng.normal(0, 3, n // 5), 5)
    # a rumble at -40 degrees with its own level changes beside a sound at +40
    found = _low_band_source(_low_band_steps(-40, 40, -30 + own, -20 + swell), main,
                             np.ones(n, bool))
    assert found is not None and found.origin == "low band"
    assert np.median(found.step_az) == pytest.approx(-40, abs=2)
    # the same low band, rising and falling with the rest: the main sound's own low end
    assert _low_band_source(_low_band_steps(-40, 40, -30 + swell, -20 + swell), main,
                            np.ones(n, bool)) is None
    # a low band pulled toward the centre (room sound) is the main sound too
    assert _low_band_source(_low_band_steps(15, 40, -30 + own, -20 + swell), main,
                            np.ones(n, bool)) is None


def test_tracks_smoothed_together_equal_tracks_smoothed_alone():
    grid = np.arange(-90.0, 91.0, 2.0)
    rng = np.random.default_rng(1)
    truths = [np.linspace(-40, 40, 120), np.full(120, 25.0)]
    lls = np.stack([-0.5 * ((grid[None, :] - (t + rng.normal(0, 8, t.size))[:, None]) / 8.0) ** 2
                    for t in truths])
    weights = rng.uniform(0.2, 1.0, (2, 120))
    together = track_azimuth(lls, weights, grid, step_s=0.05)
    for p in range(2):
        alone = track_azimuth(lls[p], weights[p], grid, step_s=0.05)
        assert np.allclose(together.azimuth_deg[p], alone.azimuth_deg, atol=1e-9)
        assert np.allclose(together.spread_deg[p], alone.spread_deg, atol=1e-9)


def test_second_pass_from_kept_spectra_equals_recomputed(monkeypatch):
    y = (render_binaural(source(4.0, seed=21), SR, azimuth_deg=-40, distance_m=2.0)
         + render_binaural(0.8 * source(4.0, seed=22), SR, azimuth_deg=45, distance_m=2.0))
    kept = cues_for(y)
    monkeypatch.setattr(analysis, "SPECTRA_CACHE_BYTES", 0)
    again = cues_for(y)
    assert len(kept.sources) == len(again.sources) == 2
    for a, b in zip(kept.sources, again.sources):
        assert np.allclose(a.azimuth_deg, b.azimuth_deg, atol=1e-6)
        assert np.allclose(a.loudness_db, b.loudness_db, atol=1e-6)

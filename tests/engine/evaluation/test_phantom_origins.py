"""benchmarks/phantom_origins.py: the comb measurement of a further source's bins."""

import numpy as np
import pytest

from tests.benchscripts import benchmark_module


@pytest.fixture(scope="module")
def phantom_origins():
    with benchmark_module("phantom_origins") as mod:
        yield mod


def test_comb_stats_tells_a_fixed_comb_from_a_source_taking_turns(phantom_origins):
    steps, bins, step_s = 60, 64, 0.05
    freqs = 200.0 + 31.25 * np.arange(bins)
    a, b = np.full(steps, 30.0), np.full(steps, -50.0)
    w = np.ones((steps, bins))
    # A room's comb: every fourth bin reads B in every step, the others A.
    comb = np.where(np.arange(bins) % 4 == 0, -50.0, 30.0)[None, :].repeat(steps, 0)
    c = phantom_origins.comb_stats(comb, w, freqs, step_s, a, b)
    assert c["stab"] == pytest.approx(1.0) and c["b_run"] == pytest.approx(1.0)
    assert c["short_hz"] == pytest.approx(1.0) and c["next_to_a"] == pytest.approx(1.0)
    # A second source owning a band in the steps it sounds (half of them, at random).
    rng = np.random.default_rng(0)
    band = (np.arange(bins) >= 20) & (np.arange(bins) < 50)
    turns = np.where(rng.random(steps)[:, None] < 0.5, -50.0, 30.0)
    two = np.where(band[None, :], turns, 30.0)
    t = phantom_origins.comb_stats(two, w, freqs, step_s, a, b)
    assert t["stab"] < 0.7 and t["b_run"] == pytest.approx(30.0)
    assert t["short_hz"] == 0.0 and t["middle"] > 0.9
    # Bins read too weakly are no readings.
    none = phantom_origins.comb_stats(comb, 0.1 * w, freqs, step_s, a, b)
    assert none["b_reads"] == 0 and "stab" not in none

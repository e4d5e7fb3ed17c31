"""A step in which a separated source owns no bin of one band has no high/mid balance.

Hard masks can leave a source without a single bin of 0.5-2 kHz or of 4-12 kHz in some steps;
the balance there must be unknown (NaN), not +-200 dB, and the motion fit must skip those
steps: a static source whose bands come and go stays static.
"""

import numpy as np

from engine.cues import spectral
from engine.cues.motion import classify_motion
from engine.cues.spatial import AnalysisGrid


def _grid():
    return AnalysisGrid.for_rate(16000)


def test_empty_band_gives_no_balance():
    grid = _grid()
    f = grid.freqs
    spec = np.ones((3, f.size))
    spec[1, (f >= spectral.HF_BAND_HZ[0]) & (f < spectral.HF_BAND_HZ[1])] = 0.0
    spec[2, (f >= spectral.MID_BAND_HZ[0]) & (f < spectral.MID_BAND_HZ[1])] = 0.0
    bal = spectral.hf_balance_db(spec, grid)
    assert np.isfinite(bal[0])
    assert np.isnan(bal[1]) and np.isnan(bal[2])


def test_balance_keeps_its_value_where_both_bands_sound():
    grid = _grid()
    f = grid.freqs
    spec = np.ones((1, f.size))
    spec[0, (f >= spectral.HF_BAND_HZ[0]) & (f < spectral.HF_BAND_HZ[1])] = 0.1
    hf = ((f >= spectral.HF_BAND_HZ[0]) & (f < spectral.HF_BAND_HZ[1])).sum() * 0.1
    mid = ((f >= spectral.MID_BAND_HZ[0]) & (f < spectral.MID_BAND_HZ[1])).sum()
    assert spectral.hf_balance_db(spec, grid)[0] == np.float64(10 * np.log10(hf / mid))


def test_static_source_with_missing_bands_stays_static():
    rng = np.random.default_rng(3)
    n = 120
    t = np.arange(n) * 0.05
    level = -20 + rng.normal(0, 0.5, n)
    hf_db = -6 + rng.normal(0, 0.5, n)
    # The high band vanishes in the second half's odd steps, as a hard mask can make it.
    gaps = (np.arange(n) >= n // 2) & (np.arange(n) % 2 == 1)
    hf_db[gaps] = np.nan
    label, _, ev = classify_motion(t, np.full(n, 30.0), np.ones(n), level, np.full(n, 0.9),
                                   hf_db, np.ones(n, bool), [], 0.05)
    assert np.isfinite(ev.hf_db) and abs(ev.hf_db) < 1.0
    assert label == "static"

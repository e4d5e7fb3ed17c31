"""The tagger pools its patches by how much each moment should count (models.yamnet)."""

import numpy as np

from engine.audio.tagging import TimeWeights
from models.yamnet import YamnetTagger, patch_weights

SR = 16000


def test_alike_weights_leave_every_patch_whole():
    w = patch_weights(TimeWeights(np.full(100, 0.4), 0.05), 9)
    assert np.allclose(w, 1.0)
    assert np.allclose(patch_weights(TimeWeights(np.zeros(100), 0.05), 9), 1.0)


def test_patches_count_by_their_weight_relative_to_the_best():
    values = np.where(np.arange(100) * 0.05 < 2.0, 1.0, 0.25)  # direct first 2 s, then not
    w = patch_weights(TimeWeights(values, 0.05), 9)
    assert w[0] == 1.0
    assert np.allclose(w[-3:], 0.25)
    assert np.all(np.diff(w) <= 1e-12)


def test_the_tagger_hears_the_weighted_moments():
    rng = np.random.default_rng(0)
    t = np.arange(4 * SR) / SR
    tone = 0.3 * np.sin(2 * np.pi * 440 * t[:2 * SR])  # heard as a telephone
    noise = 0.3 * rng.standard_normal(2 * SR)
    x = np.concatenate([tone, noise]).astype(np.float32)
    tagger = YamnetTagger()
    plain = tagger.tag(x, SR, top_k=5)
    alike = tagger.tag(x, SR, top_k=5, weights=TimeWeights(np.ones(80), 0.05))
    assert [(a.label, round(a.score, 6)) for a in alike] == \
        [(p.label, round(p.score, 6)) for p in plain]
    steps = t[::800]  # 0.05 s apart
    assert plain[0].label == "phone"  # the tone's patches win when all count alike
    on_noise = tagger.tag(x, SR, top_k=5, weights=TimeWeights(np.where(steps > 2.1, 1.0, 0.2),
                                                              0.05))
    assert on_noise[0].label != "phone"
    assert "phone" in [a.label for a in on_noise]  # fainter, not gone

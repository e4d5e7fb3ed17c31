"""The cue table: right values at the keyframes, compact, and the prompt within budget."""

import numpy as np
import pytest

from engine.planning.llm_prompt import (CueSummary, build_messages, clean_hint, keyframe_indices,
                                        render_cue_table, summarize_cues, user_message)
from tests.engine.planning.cuekit import cues, dog_and_car, track


def test_keyframes_cover_the_clip():
    assert keyframe_indices(10.0, 16) == [0, 4, 8, 11, 15]
    assert keyframe_indices(4.0, 16) == [0, 8, 15]
    assert keyframe_indices(60.0, 240)[-1] == 239 and len(keyframe_indices(60.0, 240)) == 6
    assert keyframe_indices(1.0, 2) == [0, 1]


def test_summary_samples_a_sweep_at_its_keyframes():
    c = cues(track(1, (90, -90), n=16, motion="right_to_left"))
    s = summarize_cues(c)
    az = [r.azimuth_deg for r in s.sources[0].rows]
    expected = np.linspace(90, -90, 16)[s.keyframes]
    # Averaging over a short window around each keyframe: the ends read a little inwards.
    assert np.allclose(az, expected, atol=13)
    assert [r.x_pct for r in s.sources[0].rows][0] > 90 and s.sources[0].rows[-1].x_pct < 10
    assert s.sources[0].rows[2].x_pct == pytest.approx(50 + az[2] / 1.8, abs=0.51)


def test_silent_keyframes_show_a_dash():
    active = np.ones(16, bool)
    active[6:10] = False
    s = summarize_cues(cues(track(1, 30, active=active)))
    assert s.sources[0].rows[2].azimuth_deg is None
    table = render_cue_table(s)
    assert "k2 | -" in table


def test_table_names_tags_motion_and_columns():
    table = render_cue_table(summarize_cues(dog_and_car()))
    lines = table.splitlines()
    assert lines[0] == "clip 10.0 s; keyframes k0..k4, every 2.5 s"
    assert lines[1] == "S1: dog .8; motion static .9"
    assert lines[2] == "S2: car .8; motion right_to_left .9"
    assert lines[3] == "k | S1 az x conf dB near | S2 az x conf dB near"
    # The car starts at +70 deg; the keyframe averages frames 0 and 1 (+70, +60.7).
    assert lines[4] == "k0 | -45 25 .9 -20 .5 | +65 86 .9 -30 .3"
    assert lines[8] == "k4 | -45 25 .9 -20 .5 | -65 14 .9 -18 1"
    assert len(lines) == 4 + 5


def test_summary_round_trips_through_json():
    s = summarize_cues(dog_and_car())
    back = CueSummary.from_dict(s.to_dict())
    assert render_cue_table(back) == render_cue_table(s)


def test_mono_is_said_and_centred():
    s = summarize_cues(cues(track(1, 40), mono=True))
    assert all(r.x_pct == 50 and r.confidence == 0 for r in s.sources[0].rows)
    assert "mono recording" in render_cue_table(s)


def test_hint_is_one_short_printable_line():
    assert clean_hint("a red\ncar\x00 \x1b[31m") == "a red car [31m"
    assert len(clean_hint("x" * 5000)) == 300
    assert clean_hint("  ") is None
    assert "Hint: a dog" in user_message(summarize_cues(dog_and_car()), "a dog")


def test_messages_alternate_examples_then_the_clip():
    s = summarize_cues(dog_and_car())
    msgs = build_messages(s, None, [(s, "h", '{"a":1}')])
    assert [m.role for m in msgs] == ["system", "user", "assistant", "user"]
    assert msgs[2].content == '{"a":1}' and "Hint: h" in msgs[1].content

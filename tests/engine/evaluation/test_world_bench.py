"""The world bench's scores and a tiny end-to-end run (synthetic recordings, no shared data)."""

import json
from dataclasses import replace

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("pyroomacoustics")

from engine.evaluation.scenes import truth_layout  # noqa: E402
from engine.evaluation.sources import load_catalogue  # noqa: E402
from engine.evaluation.mics import SETS  # noqa: E402
from engine.evaluation.world import (NOISE_KINDS, SNR_RANGE_DB, WorldScene,  # noqa: E402
                                     make_world_scenes, render_world, room_part,
                                     split_catalogue, static_room_scene)
from engine.evaluation.world_bench import (WorldReport, in_issue_rooms, issue_room,  # noqa: E402
                                           run_world_bench_job, score_world, side_by_side,
                                           summarise)
from engine.jobs import run_job  # noqa: E402
from engine.layout import Layout  # noqa: E402

SR = 44100


def _catalogue(folder, n=12):
    rng = np.random.default_rng(0)
    t = np.arange(SR) / SR
    rows = []
    for k in range(n):
        f0 = 300 * (k + 1)
        x = 0.2 * np.sin(2 * np.pi * f0 * t) + 0.1 * rng.standard_normal(t.size)
        sf.write(str(folder / f"s{k:02d}.flac"), x.astype(np.float32), SR)
        rows.append({"id": f"s{k:02d}", "cls": ["car", "dog", "bird"][k % 3], "mode": "loop",
                     "licence": "test"})
    (folder / "sources.json").write_text(json.dumps(rows))
    return folder


def _static_scene(cat, kind="static"):
    scenes = make_world_scenes(cat, "tune", mics=["xy90"], conditions=("dry",), kinds=(kind,),
                               duration_s=2.0)
    return scenes[0]


def test_no_box_and_uneven_scores_count_what_they_say(tmp_path):
    cat = load_catalogue(_catalogue(tmp_path))
    scene = _static_scene(cat, "uneven")
    truth = truth_layout(scene, 8)
    sounding = [np.array([True] * 4 + [False] * 2 + [True] * 2)]
    pred = Layout.from_dict(truth.to_dict())
    obj = pred.objects[0]
    obj.boxes = [None, None] + obj.boxes[2:]  # two sounding frames without a box
    obj.motion = "approaching"  # a level-varying static source called moving
    s = score_world(scene, "spa2v", pred, truth, sounding)
    assert (s.sounding_frames, s.missing_frames) == (6, 2)
    assert (s.uneven, s.uneven_moved) == (1, 1)
    obj.motion = "static"
    obj.boxes = truth.objects[0].boxes
    s2 = score_world(scene, "spa2v", pred, truth, sounding)
    assert (s2.missing_frames, s2.uneven_moved, s2.x_error) == (0, 0, 0.0)
    summary = summarise([s, s2])
    assert summary["no_box"] == pytest.approx(2 / 12) and summary["uneven_moved"] == 0.5
    # A source no object matches: all its sounding frames are missing.
    empty = Layout.from_dict({**truth.to_dict(), "objects": []})
    s3 = score_world(scene, "plain", empty, truth, sounding)
    assert s3.missing_frames == 6 and s3.x_error == 0.5


def test_scores_carry_the_room_and_the_issue_rooms_filter_reads_them(tmp_path):
    cat = load_catalogue(_catalogue(tmp_path))
    scenes = make_world_scenes(cat, "tune", mics=["xy90"], conditions=("dry", "room"),
                               kinds=("static",), per_kind=4, duration_s=2.0)
    truth = truth_layout(scenes[0], 8)
    sounding = [np.ones(8, bool)]
    scores = [score_world(s, "spa2v", truth, truth_layout(s, 8), sounding) for s in scenes]
    dry = [s for s in scores if s.condition == "dry"]
    rooms = [(sc, s) for sc, s in zip(scenes, scores) if s.condition == "room"]
    assert dry and all(s.rt60_s is None and not in_issue_rooms(s) for s in dry)
    assert rooms
    for scene, s in rooms:
        assert (s.rt60_s, s.snr_db) == (scene.room.rt60_s, scene.snr_db)
        assert in_issue_rooms(s) == (scene.room.rt60_s <= 0.7 and scene.snr_db >= 15)
    s = rooms[0][1]
    s.rt60_s, s.snr_db = 0.71, 30.0
    assert not in_issue_rooms(s)
    s.rt60_s, s.snr_db = 0.7, 14.9
    assert not in_issue_rooms(s)
    s.snr_db = 15.0
    assert in_issue_rooms(s)


def test_issue_rooms_are_rt60_up_to_0_7_s_and_snr_from_15_db():
    assert issue_room(0.7, 15.0) and issue_room(0.15, 40.0)
    assert issue_room(0.5, None)  # no noise: above any SNR
    assert not issue_room(0.71, 30.0) and not issue_room(0.5, 14.9)
    assert not issue_room(None, 30.0)  # no room (dry) is not one of the issue's rooms


def test_a_static_room_scene_is_one_still_source_in_a_room_of_its_own_part(tmp_path):
    cat = load_catalogue(_catalogue(tmp_path))
    voices = [replace(cat[0], cls="person", category="voices")]
    for part in SETS:
        noises = set()
        for k in range(40):
            scene = static_room_scene(np.random.default_rng([k, 1]), cat[1], part,
                                      voices=voices, duration_s=1.0)
            again = static_room_scene(np.random.default_rng([k, 1]), cat[1], part,
                                      voices=voices, duration_s=1.0)
            assert scene.describe() == again.describe()
            assert (scene.condition, scene.kind, scene.mic) == ("room", "static", "kemar")
            assert scene.sources == [cat[1]] and scene.part == part
            assert room_part(scene.room) == part
            assert SNR_RANGE_DB[0] <= scene.snr_db <= SNR_RANGE_DB[1]
            noises.add(scene.noise)
            path = scene.paths[0]
            assert np.ptp(path.azimuth_deg) == 0 and np.ptp(path.distance_m) == 0
            d, h, az = path.distance_m[0], scene.heights_m[0], np.radians(path.azimuth_deg[0])
            horiz = np.sqrt(d ** 2 - h ** 2)
            where = np.array([horiz * np.cos(az), horiz * np.sin(az), h])
            assert 0.49 < d <= scene.room.max_reach(where) + 1e-6  # inside the walls
        assert noises == set(NOISE_KINDS)
    # Babble is made of the set's speech recordings: none given, none drawn.
    assert all(static_room_scene(np.random.default_rng([k, 1]), cat[1], "tune",
                                 duration_s=1.0).noise != "babble" for k in range(40))
    with pytest.raises(ValueError):
        static_room_scene(np.random.default_rng(0), cat[1], "tuning")
    audio, sounding = render_world(scene, num_frames=8, voices=voices)
    assert audio.shape == (2, SR) and np.all(np.isfinite(audio)) and np.std(audio) > 1e-3
    assert len(sounding) == 1 and sounding[0].shape == (8,)


def test_world_bench_runs_on_a_tiny_catalogue(tmp_path):
    (tmp_path / "src").mkdir()
    src = _catalogue(tmp_path / "src")
    report = run_job(run_world_bench_job(src, tmp_path / "out", part="tune", mic="xy90",
                                         kinds=("static",), per_kind=1, duration_s=2.0,
                                         conditions=("dry", "room"), sounds_cache=None))
    assert isinstance(report, WorldReport)
    assert {s.system for s in report.scores} == {"spa2v", "spa2v-true", "plain"}
    # Told the truth, the cues are read as the microphone's kind; auto's decision is kept.
    assert {s.heard_as for s in report.scores if s.system == "spa2v-true"} == {"coincident"}
    assert all(s.heard_as for s in report.scores if s.system == "spa2v")
    assert {s.condition for s in report.scores} == {"dry", "room"}
    assert len(list((tmp_path / "out" / "clips").glob("*.flac"))) == 2
    saved = json.loads((tmp_path / "out" / "world_tune.json").read_text())
    assert saved["settings"]["set"] == "tune" and len(saved["clips"]) == 6
    assert "| tune | dry | one | xy90 | spa2v | 1 |" in report.table()
    both = side_by_side(report.scores, [])
    assert "| dry | one | coincident | spa2v | 1 / - |" in both
    assert "| room | one | all | plain | 1 / - |" in both and "binaural" not in both
    # The recordings used are the tune part's only.
    tune_ids = {s.id for s in split_catalogue(load_catalogue(src), "tune")}
    assert all(n.split("_static_00_")[1] in tune_ids for n in
               {s.scene for s in report.scores})
    for s in report.scores:
        assert 0.0 <= s.x_error <= 0.5 and s.n_true == 1


def test_scene_kinds_keep_their_motion_after_fitting_into_rooms(tmp_path):
    cat = load_catalogue(_catalogue(tmp_path, n=30))
    scenes = make_world_scenes(cat, "held-out", mics=["ortf"], conditions=("room",),
                               kinds=("sweep", "passby", "approach", "recede"), per_kind=3,
                               duration_s=3.0, seed=2)
    for s in scenes:
        p = s.paths[0]
        assert isinstance(s, WorldScene) and s.room is not None
        if p.motion == "left_to_right":
            assert p.azimuth_deg[-1] > p.azimuth_deg[0] + 60
        elif p.motion == "right_to_left":
            assert p.azimuth_deg[-1] < p.azimuth_deg[0] - 60
        elif p.motion == "approaching":
            assert p.distance_m[-1] < 0.6 * p.distance_m[0]
        else:
            assert p.distance_m[-1] > 1.6 * p.distance_m[0]


@pytest.mark.parametrize("noise", ["pink", "babble", "rumble", "wind"])
def test_noise_comes_at_the_asked_snr(tmp_path, noise):
    from engine.evaluation.world import make_noise
    cat = load_catalogue(_catalogue(tmp_path))
    scene = make_world_scenes(cat, "tune", mics=["kemar"], conditions=("room",),
                              kinds=("static",), duration_s=1.0)[0]
    scene.noise, scene.snr_db = noise, 17.0
    mix = np.random.default_rng(1).standard_normal((2, SR)) * 0.1
    n = make_noise(scene, mix, np.random.default_rng(2), voices=cat[:3])
    snr = 10 * np.log10(np.mean(mix ** 2) / np.mean(n ** 2))
    assert n.shape == mix.shape and snr == pytest.approx(17.0, abs=0.01)


@pytest.mark.parametrize("mic", ["kemar", "sphere", "xy110", "ortf", "spaced", "pan-6db"])
def test_room_scenes_render_for_every_microphone(tmp_path, mic):
    from engine.evaluation.world import LEVEL_DBFS, render_world
    cat = load_catalogue(_catalogue(tmp_path))
    part = "held-out" if mic in ("sphere", "xy110", "ortf", "pan-6db") else "tune"
    scene = make_world_scenes(cat, part, mics=[mic], conditions=("room",), kinds=("passby",),
                              duration_s=1.5)[0]
    audio, sounding = render_world(scene, num_frames=8, voices=cat[:3])
    assert audio.shape == (2, int(1.5 * SR)) and np.all(np.isfinite(audio))
    level = 10 * np.log10(np.mean(audio.astype(float) ** 2))
    assert level == pytest.approx(LEVEL_DBFS, abs=1.0) or np.max(np.abs(audio)) > 0.98
    assert len(sounding) == 1 and sounding[0].shape == (8,) and sounding[0].any()

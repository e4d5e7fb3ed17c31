"""Project files: round trip, relative audio paths, atomic saves, clear errors, crash recovery."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from engine.audio.io import Audio
from engine.cues.extract import extract_cues
from engine.errors import BadInput
from engine.planning.heuristic import plan_layout_from_cues
from engine.project import (PROJECT_SCHEMA, Project, RenderRecord, discard_autosave,
                            find_recoverable, load_project, save_project, write_autosave)
from tests.synth import panned_noise, write_wav


@pytest.fixture
def project(tmp_path):
    x = panned_noise(40, duration_s=1.0)
    (tmp_path / "proj").mkdir()
    audio = write_wav(tmp_path / "proj" / "clip.wav", x)
    cues = extract_cues(Audio(x, 44100), num_frames=6)
    layout = plan_layout_from_cues(cues, hint="a dog")
    layout.objects[0].extra["keyframes"] = {"2": [0.1, 0.2, 0.3, 0.4]}
    return Project(audio_path=audio, cues=cues, layout=layout,
                   renders=[RenderRecord(tmp_path / "proj" / "out.mp4", "preview",
                                         settings={"fps": 24})],
                   settings={"plan": {"num_frames": 6}})


def test_round_trip_keeps_everything(project, tmp_path):
    dest = save_project(project, tmp_path / "proj" / "scene")
    assert dest.name == "scene.spa2v" and project.path == dest
    doc = json.loads(dest.read_text())
    assert doc["schema"] == PROJECT_SCHEMA and doc["audio"]["path"] == "clip.wav"
    back = load_project(dest)
    assert back.audio_path.resolve() == project.audio_path.resolve()
    assert back.name == "scene"
    assert back.layout.to_dict() == project.layout.to_dict()
    assert back.layout.objects[0].extra["keyframes"] == {"2": [0.1, 0.2, 0.3, 0.4]}
    np.testing.assert_allclose(back.cues.sources[0].azimuth_deg,
                               project.cues.sources[0].azimuth_deg, atol=0.01)
    assert back.renders[0].renderer == "preview" and back.renders[0].settings == {"fps": 24}
    assert back.settings == {"plan": {"num_frames": 6}}
    assert back.notes == []


def test_moved_folder_finds_audio_by_relative_path(project, tmp_path):
    save_project(project, tmp_path / "proj" / "scene.spa2v")
    os.rename(tmp_path / "proj", tmp_path / "moved")
    back = load_project(tmp_path / "moved" / "scene.spa2v")
    assert back.audio_path == tmp_path / "moved" / "clip.wav"


def test_missing_audio_is_a_note_not_an_error(project, tmp_path):
    dest = save_project(project, tmp_path / "proj" / "scene.spa2v")
    project.audio_path.unlink()
    back = load_project(dest)
    assert back.audio_path.name == "clip.wav"
    assert any("missing" in n for n in back.notes)


def test_bad_files_are_refused_with_the_reason(tmp_path):
    p = tmp_path / "x.spa2v"
    p.write_text("{not json")
    with pytest.raises(BadInput, match="not a readable project"):
        load_project(p)
    p.write_text(json.dumps({"schema": "spa2v.vsl/1"}))
    with pytest.raises(BadInput, match="not a SpA2V project"):
        load_project(p)
    p.write_text(json.dumps({"schema": PROJECT_SCHEMA, "version": 99}))
    with pytest.raises(BadInput, match="newer"):
        load_project(p)
    # A later schema is a project too: "not a SpA2V project" sent the user to look for one.
    p.write_text(json.dumps({"schema": "spa2v.project/2"}))
    with pytest.raises(BadInput, match="saved by a newer SpA2V Studio") as e:
        load_project(p)
    assert "Update SpA2V Studio" in str(e.value)
    p.write_text(json.dumps({"schema": PROJECT_SCHEMA, "layout": {"schema": "spa2v.vsl/1"}}))
    with pytest.raises(BadInput, match="duration_s"):
        load_project(p)
    with pytest.raises(BadInput, match="not found"):
        load_project(tmp_path / "nope.spa2v")


def test_failed_save_leaves_the_old_file(project, tmp_path, monkeypatch):
    dest = save_project(project, tmp_path / "proj" / "scene.spa2v")
    before = dest.read_bytes()
    project.layout.objects[0].boxes[0] = (0.9, 0.1, 0.2, 0.3)  # x1 < x0: invalid
    with pytest.raises(BadInput):
        save_project(project, dest)
    assert dest.read_bytes() == before
    assert [p.name for p in dest.parent.iterdir() if ".part" in p.name] == []


def test_autosave_of_a_dead_session_is_offered_back(project, tmp_path):
    folder = tmp_path / "autosave"
    save_project(project, tmp_path / "proj" / "scene.spa2v")
    project.layout.caption = "edited after the last save"
    # A child process that exits at once gives a pid that is certainly dead afterwards.
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    auto = write_autosave(project, folder, session_id="old", pid=int(dead.stdout))
    live = write_autosave(Project(name="other"), folder, session_id="live",
                          pid=os.getppid())  # a live process: not offered
    found = find_recoverable(folder)
    assert [r.autosave_path for r in found] == [auto]
    rec = found[0].load()
    assert rec.layout.caption == "edited after the last save"
    assert rec.path == tmp_path / "proj" / "scene.spa2v"
    assert find_recoverable(folder, ignore_session="old") == []
    discard_autosave(auto)
    discard_autosave(live)
    assert find_recoverable(folder) == []


def test_unreadable_autosaves_are_found_and_set_aside(project, tmp_path):
    from engine.project import find_unreadable_autosaves, set_aside_autosave
    folder = tmp_path / "autosave"
    good = write_autosave(project, folder, session_id="old", pid=-1)
    (folder / "cut-000000000000.autosave.json").write_text('{"schema": "spa2v.pro')
    (folder / "list-000000000000.autosave.json").write_text("[1, 2]")
    (folder / "binary-000000000000.autosave.json").write_bytes(b"\xff\xfe\x00")
    bad = find_unreadable_autosaves(folder)
    assert sorted(p.name.split("-")[0] for p, _ in bad) == ["binary", "cut", "list"]
    assert all(str(p) in why for p, why in bad)
    moved = [set_aside_autosave(p) for p, _ in bad]
    assert all(m.exists() and m.name.endswith(".unreadable") for m in moved)
    assert find_unreadable_autosaves(folder) == []
    assert [r.autosave_path for r in find_recoverable(folder)] == [good]


def test_a_path_no_file_system_takes_is_a_missing_file(tmp_path):
    """A project file whose audio or render path is longer than any file name: opening it
    raised OSError 'File name too long' out of load_project, past the studio's error message."""
    p = tmp_path / "x.spa2v"
    long = "/tmp/" + "y" * 5000 + ".wav"
    p.write_text(json.dumps({"schema": PROJECT_SCHEMA, "version": 1, "name": "x",
                             "audio": {"path": "y" * 5000, "path_abs": long},
                             "renders": [{"path": "r" * 5000 + ".mp4"}]}))
    back = load_project(p)
    assert str(back.audio_path) == long
    assert any("missing" in n for n in back.notes)
    assert len(back.renders) == 1

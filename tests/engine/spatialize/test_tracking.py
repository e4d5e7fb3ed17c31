import numpy as np
import pytest

from engine.errors import BadInput
from engine.spatialize.tracking import find_moving_region, parse_box, track_object
from engine.spatialize.video import read_video
from tests.synth_video import write_square_video


def _cx(box):
    return 0.5 * (box[0] + box[2])


@pytest.fixture(scope="module")
def square(tmp_path_factory):
    path = tmp_path_factory.mktemp("video") / "square.mp4"
    truth = write_square_video(path, duration_s=3.0, fps=12)
    return path, truth


def test_read_video_keeps_even_frames_and_duration(square, tmp_path):
    path, truth = square
    clip = read_video(path)
    assert clip.frames.shape == (36, 144, 192) and clip.frames.dtype == np.uint8
    assert clip.duration_s == pytest.approx(3.0) and clip.fps == pytest.approx(12.0)
    thin = read_video(path, max_fps=5, max_side=96)
    assert thin.frames.shape == (12, 72, 96)  # every third frame, half size
    assert np.diff(thin.times_s) == pytest.approx(np.full(11, 0.25))


def test_tracks_a_moving_square_from_a_given_box(square):
    path, truth = square
    track = track_object(read_video(path), box=truth[0])
    assert track.lost_fraction == 0
    errors = [abs(_cx(b) - _cx(t)) for b, t in zip(track.boxes, truth)]
    assert max(errors) < 0.02
    layout = track.to_layout(label="dog")
    assert layout.num_frames == 36 and layout.objects[0].motion == "left_to_right"
    layout.validate()


def test_finds_the_largest_moving_region_without_a_box(square):
    path, truth = square
    clip = read_video(path)
    index, box = find_moving_region(clip)
    assert abs(_cx(box) - _cx(truth[index])) < 0.02
    assert (box[2] - box[0]) == pytest.approx(truth[index][2] - truth[index][0], abs=0.03)
    track = track_object(clip)
    errors = [abs(_cx(b) - _cx(t)) for b, t in zip(track.boxes, truth)]
    assert track.lost_fraction == 0 and max(errors) < 0.02


def test_mil_tracker_follows_it_too(tmp_path):
    path = tmp_path / "short.mp4"
    truth = write_square_video(path, duration_s=1.0, fps=12, x_from=0.3, x_to=0.6)
    track = track_object(read_video(path), box=truth[0], tracker="mil")
    errors = [abs(_cx(b) - _cx(t)) for b, t in zip(track.boxes, truth)]
    assert max(errors) < 0.03


def test_video_without_the_object_is_refused(tmp_path):
    path = tmp_path / "empty.mp4"
    write_square_video(path, duration_s=2.0, show_square=False)
    with pytest.raises(BadInput, match="No moving object"):
        track_object(read_video(path))


def test_object_lost_for_most_of_the_video_is_refused(tmp_path):
    path = tmp_path / "brief.mp4"
    truth = write_square_video(path, duration_s=3.0, fps=12, appear=(0, 9))
    with pytest.raises(BadInput, match="lost in 7\\d% of brief.mp4"):
        track_object(read_video(path), box=truth[0])


def test_box_parsing_and_bad_boxes():
    assert parse_box("0.1,0.2,0.3,0.4") == pytest.approx((0.1, 0.2, 0.3, 0.4))
    assert parse_box("64, 36, 128, 72", (640, 360)) == pytest.approx((0.1, 0.1, 0.2, 0.2))
    for bad in ("1,2,3", "a,b,c,d", "0.5,0.5,0.2,0.9", "0,0,700,10"):
        with pytest.raises(BadInput):
            parse_box(bad, (640, 360))


def test_not_a_video_is_refused(tmp_path):
    bogus = tmp_path / "notes.mp4"
    bogus.write_text("not a video")
    with pytest.raises(BadInput, match="not a video"):
        read_video(bogus)
    with pytest.raises(BadInput, match="not found"):
        read_video(tmp_path / "missing.mp4")

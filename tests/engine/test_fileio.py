"""What a failed write says: the true reason, and "no space" only where space ran out."""

import errno
import shutil
from collections import namedtuple
from pathlib import Path

import pytest

from engine.errors import BadInput
from engine.fileio import atomic_path, write_failed

Usage = namedtuple("Usage", "total used free")


def test_a_file_system_without_a_size_is_not_called_full(tmp_path, monkeypatch):
    # /proc and /sys report 0 bytes in all: "No space left on device" was said for them.
    monkeypatch.setattr(shutil, "disk_usage", lambda p: Usage(0, 0, 0))
    e = write_failed(tmp_path / "x.json", OSError(errno.ENOENT, "No such file or directory"))
    assert "No such file or directory" in e.message and "space" not in e.message


def test_a_full_disk_is_named_when_the_error_does_not_say(tmp_path, monkeypatch):
    # An encoder's own error (not the system's ENOSPC) on a disk that has filled up.
    monkeypatch.setattr(shutil, "disk_usage", lambda p: Usage(1 << 20, 1 << 20, 0))
    e = write_failed(tmp_path / "x.mp4", OSError(errno.EINVAL, "Invalid argument"))
    assert "No space left on device" in e.message


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_writing_under_proc_says_why(tmp_path):
    with pytest.raises(BadInput) as info:
        with atomic_path("/proc/spa2v-test/out.json"):
            pass
    assert "/proc/spa2v-test/out.json" in info.value.message
    assert "space" not in info.value.message


def test_a_failed_write_takes_away_the_folders_it_made(tmp_path):
    """A render to new/a/b/x.mp4 stopped by SIGTERM said 'nothing was written' and left the
    three new folders behind; a folder that was there, or one another writer filled, stays."""
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(tmp_path / "new" / "a" / "b" / "x.mp4") as tmp:
            tmp.write_bytes(b"half")
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "new").mkdir()
    with pytest.raises(ValueError):
        with atomic_path(tmp_path / "new" / "a" / "x.json"):
            (tmp_path / "new" / "a" / "other.json").write_text("{}")  # someone else's
            raise ValueError
    assert [p.name for p in (tmp_path / "new" / "a").iterdir()] == ["other.json"]
    with atomic_path(tmp_path / "ok" / "x.json") as tmp:
        tmp.write_text("{}")
    assert (tmp_path / "ok" / "x.json").read_text() == "{}"

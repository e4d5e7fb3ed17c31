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

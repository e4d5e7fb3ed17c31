"""packaging/notices.py: the desktop bundle's third-party notice is read from what the
built folder holds, names every copyleft library with its source, carries the licence texts
it needs, and refuses (exit 2, nothing written) when a text is missing."""
from __future__ import annotations

import importlib.util
import os
import site
import sys
from pathlib import Path

import shutil

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("notices", ROOT / "packaging" / "notices.py")
notices = importlib.util.module_from_spec(_spec)
sys.modules["notices"] = notices   # dataclasses look their module up by name
_spec.loader.exec_module(notices)


def _touch(path: Path, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _bundle(tmp_path: Path) -> Path:
    app = tmp_path / "spa2v-studio"
    internal = app / "_internal"
    _touch(internal / "av.libs" / "libx264-d6533a8d.so.165")
    _touch(internal / "av.libs" / "libavcodec-5e6b81c2.so.62.28.102")
    _touch(internal / "numpy.libs" / "libgfortran-040039e1-0352e75f.so.5.0.0")
    _touch(internal / "PySide6" / "Qt" / "plugins" / "platforms" / "libqxcb.so")
    _touch(internal / "soxr" / "cysoxr.cpython-311-x86_64-linux-gnu.so")  # an extension module
    os.symlink("av.libs/libx264-d6533a8d.so.165", internal / "libx264-d6533a8d.so.165")
    dist = internal / "soxr-1.1.0.dist-info"
    _touch(dist / "METADATA", "Metadata-Version: 2.4\nName: soxr\nVersion: 1.1.0\n"
                              "License-Expression: LGPL-2.1-or-later\n\nbody\n")
    _touch(dist / "licenses" / "LICENSE.txt", "soxr licence")
    return app


def _texts(tmp_path: Path, missing: str = "") -> Path:
    folder = tmp_path / "texts"
    for name in notices.COPYLEFT_TEXTS.values():
        if name != missing:
            _touch(folder / name, f"FULL TEXT OF {name}\n")
    return folder


def test_the_notice_names_each_copyleft_library_its_source_and_carries_the_texts(tmp_path):
    app = _bundle(tmp_path)
    target, unknown = notices.write_notice(app, _texts(tmp_path))
    text = target.read_text()
    assert target == app / notices.NOTICE_NAME and unknown == []
    assert target.stat().st_mode & 0o777 == 0o644   # readable by every user of the app
    assert "x264: GPL-2.0-or-later; source: https://code.videolan.org/videolan/x264" in text
    assert "under GPL terms" in text                      # x264 is GPL alone
    assert "Qt 6 plugins" in text and "libqxcb.so" in text  # found by its folder
    assert "soxr 1.1.0\n  licence: LGPL-2.1-or-later" in text
    assert "_internal/soxr-1.1.0.dist-info/licenses/LICENSE.txt" in text
    assert "cysoxr" not in text                           # its package's licence covers it
    assert "file: _internal/av.libs/libx264-d6533a8d.so.165" in text
    assert "file: _internal/libx264" not in text            # the copy, not the link
    # GPL-2.0 for x264, LGPL-2.1 for FFmpeg's and soxr's, LGPL-3.0 with the GPL-3.0 it amends
    # for Qt; LGPL-2.0 is named by nothing in this folder
    for name in ("GPL-2", "GPL-3", "LGPL-2.1", "LGPL-3"):
        assert f"FULL TEXT OF {name}\n" in text
    assert "FULL TEXT OF LGPL-2\n" not in text


def test_an_unknown_library_fails_a_strict_build_and_is_listed(tmp_path, capsys):
    app = _bundle(tmp_path)
    _touch(app / "_internal" / "libmystery.so.1")
    texts = _texts(tmp_path)
    assert notices.main([str(app), "--texts", str(texts), "--strict"]) == 1
    assert "_internal/libmystery.so.1" in capsys.readouterr().err
    assert "_internal/libmystery.so.1" in (app / notices.NOTICE_NAME).read_text()
    assert notices.main([str(app), "--texts", str(texts)]) == 0


def test_a_missing_licence_text_writes_nothing(tmp_path, capsys):
    app = _bundle(tmp_path)
    assert notices.main([str(app), "--texts", str(_texts(tmp_path, missing="GPL-2"))]) == 2
    assert "GPL-2" in capsys.readouterr().err
    assert sorted(p.name for p in app.iterdir()) == ["_internal"]   # no notice, no temp file


def test_a_missing_bundle_is_a_clear_error(tmp_path, capsys):
    assert notices.main([str(tmp_path / "nope")]) == 2
    assert "build the bundle first" in capsys.readouterr().err


@pytest.mark.parametrize("folder", ["av.libs", "opencv_python_headless.libs", "_soundfile_data",
                                    "numpy.libs", "scipy.libs", "h5py.libs", "onnxruntime",
                                    "pillow.libs"])
def test_every_library_the_installed_wheels_carry_is_known(folder):
    """What build.sh --strict would meet: each shared library in the core requirements'
    wheels as installed here matches an entry of NATIVE (a new one names itself here)."""
    roots = [Path(p) / folder for p in site.getsitepackages()]
    root = next((r for r in roots if r.is_dir()), None)
    if root is None:
        pytest.skip(f"{folder} is not installed here")
    known, unknown = notices.read_natives(root)
    # A new wheel release brought a library (PyAV 18.1.1: libvmaf): add it to NATIVE in
    # packaging/notices.py with its project, licence and source, or the bundle cannot build.
    assert unknown == [], f"add to NATIVE in packaging/notices.py: {unknown}"


@pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="not a Debian system")
def test_a_library_copied_from_the_system_is_named_by_its_debian_package(tmp_path):
    """PyInstaller copies some libraries from the build machine (Qt's GTK theme pulls in
    GLib and Pango); glibc's libmvec stands for them: its package, source and copyright file."""
    if not any(Path(d, "libmvec.so.1").exists() for d in ("/lib/x86_64-linux-gnu",
                                                             "/usr/lib/x86_64-linux-gnu")):
        pytest.skip("no libmvec.so.1 on this machine")
    app = _bundle(tmp_path)
    _touch(app / "_internal" / "libmvec.so.1")
    target, unknown = notices.write_notice(app, _texts(tmp_path))
    text = target.read_text()
    assert unknown == []
    assert "https://sources.debian.org/src/glibc/" in text
    assert "file: _internal/libmvec.so.1" in text
    copyright_file = Path("/usr/share/doc/libc6/copyright")
    if copyright_file.is_file():
        assert copyright_file.read_text(errors="replace")[:200] in text

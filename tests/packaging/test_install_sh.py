"""packaging/install.sh on a stand-in for the unpacked app folder, under a throwaway prefix:
installs a desktop entry that validates, and --uninstall leaves nothing that names the app."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

PACKAGING = Path(__file__).resolve().parents[2] / "packaging"
# What build.sh copies into the app folder beside the frozen executable.
BUNDLED = ("spa2v-studio.desktop", "spa2v-studio.png", "../resources/spa2v-studio.svg",
           "spa2v-project.xml", "install.sh")


def _app_folder(root: Path) -> Path:
    app = root / "spa2v-studio"
    app.mkdir()
    for name in BUNDLED:
        shutil.copy2(PACKAGING / name, app / Path(name).name)
    exe = app / "spa2v-studio"
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return app


def _install(app: Path, prefix: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PREFIX": str(prefix), "HOME": str(prefix.parent)}
    return subprocess.run(["bash", str(app / "install.sh"), *args], env=env, capture_output=True,
                          text=True, timeout=60)


def _naming_the_app(prefix: Path) -> list[str]:
    """Files under ``prefix`` whose name or text mentions the app or its file type."""
    found = []
    for p in prefix.rglob("*"):
        if p.is_file() or p.is_symlink():
            text = p.read_bytes() if p.is_file() else b""
            if "spa2v" in p.name or b"spa2v" in text:
                found.append(str(p.relative_to(prefix)))
    return found


def test_install_then_uninstall_leaves_nothing_behind(tmp_path):
    # The home folder has a space, as some do: the launcher's Exec line must still run it.
    prefix = tmp_path / "my home" / ".local"
    app = _app_folder(tmp_path)

    done = _install(app, prefix)
    assert done.returncode == 0, done.stderr
    entry = prefix / "share/applications/spa2v-studio.desktop"
    dest = prefix / "opt/spa2v-studio"
    exec_line = next(line for line in entry.read_text().splitlines() if line.startswith("Exec="))
    assert exec_line.rsplit(" ", 1)[0] == f'Exec="{dest}/spa2v-studio"'  # then %f or %F
    assert (prefix / "bin/spa2v-studio").resolve() == (dest / "spa2v-studio").resolve()
    assert (prefix / "share/icons/hicolor/256x256/apps/spa2v-studio.png").is_file()
    if shutil.which("desktop-file-validate"):
        check = subprocess.run(["desktop-file-validate", str(entry)], capture_output=True, text=True)
        assert check.returncode == 0 and not check.stdout.strip(), check.stdout
    if shutil.which("update-mime-database"):  # the compiled database knows *.spa2v
        assert "application/x-spa2v-project:*.spa2v" in (prefix / "share/mime/globs2").read_text()

    gone = _install(dest, prefix, "--uninstall")
    assert gone.returncode == 0, gone.stderr
    # Before, the compiled MIME database kept *.spa2v as a type that nothing opened.
    assert _naming_the_app(prefix) == []


@pytest.mark.skipif(not shutil.which("desktop-file-validate"), reason="needs desktop-file-utils")
def test_the_desktop_entry_validates():
    # Version=1.5 was refused by desktop-file-validate 0.26 (Debian 12), and four main
    # categories put the app in the menu more than once.
    check = subprocess.run(["desktop-file-validate", str(PACKAGING / "spa2v-studio.desktop")],
                           capture_output=True, text=True)
    assert check.returncode == 0 and not check.stdout.strip(), check.stdout


@pytest.mark.skipif(not Path("/usr/share/mime/globs2").is_file(), reason="needs shared-mime-info")
def test_the_desktop_entry_offers_every_sound_file_the_studio_opens():
    # .aac and .aif/.aiff files open in the studio, but the file manager did not offer it for them.
    pytest.importorskip("PySide6")
    from spa2v_app.studio.job_actions import AUDIO_PATTERNS  # what Import offers

    suffixes = [p.removeprefix("*") for p in AUDIO_PATTERNS.split()]

    globs: dict[str, set[str]] = {}
    for line in Path("/usr/share/mime/globs2").read_text().splitlines():
        parts = line.split(":")
        if len(parts) >= 3 and parts[2].startswith("*.") and parts[1].startswith("audio/"):
            globs.setdefault(parts[2][1:], set()).add(parts[1])
    entry = (PACKAGING / "spa2v-studio.desktop").read_text()
    offered = set(next(line for line in entry.splitlines() if line.startswith("MimeType="))
                  .removeprefix("MimeType=").strip(";").split(";"))
    unoffered = {s: globs[s] for s in suffixes if s in globs and not globs[s] & offered}
    assert not unoffered, unoffered


def test_build_sh_without_its_environment_says_how_to_make_one(tmp_path):
    # It ended in "bash: .venv/bin/python: No such file or directory" (exit 127).
    run = subprocess.run(["bash", str(PACKAGING / "build.sh")], capture_output=True, text=True,
                         env={**os.environ, "SPA2V_VENV": str(tmp_path / "no-venv")}, timeout=60)
    assert run.returncode == 2
    assert "no Python environment at" in run.stderr and "SPA2V_VENV" in run.stderr

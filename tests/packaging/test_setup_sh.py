"""scripts/setup.sh on a system whose Python is too old, with stand-ins for the system tools
(nothing is installed): it stops with what to install instead of making a venv pip refuses."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _tool(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


def test_an_old_python_is_named_and_no_venv_is_made(tmp_path):
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy2(ROOT / "scripts" / "setup.sh", repo / "scripts" / "setup.sh")
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    for real in ("dirname", "grep", "id", "cat"):
        (bin_ / real).symlink_to(shutil.which(real))
    _tool(bin_, "dpkg-query", "printf 'install ok installed'")
    _tool(bin_, "apt-get", f'echo "$@" >> "{tmp_path}/apt.log"')
    _tool(bin_, "sudo", 'exec "$@"')  # as a user, setup.sh asks sudo
    # Ubuntu 22.04's python3: 3.10 (fails the version check, answers -V).
    _tool(bin_, "python3", 'case "$1" in -V) echo "Python 3.10.12";; *) exit 1;; esac')

    run = subprocess.run(["/bin/bash", str(repo / "scripts" / "setup.sh")],
                         env={"PATH": str(bin_), "HOME": str(tmp_path)}, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 1
    assert "needs Python 3.11 or newer; python3 here is Python 3.10.12" in run.stderr
    assert "python3.11" in run.stderr
    assert not (repo / ".venv").exists()

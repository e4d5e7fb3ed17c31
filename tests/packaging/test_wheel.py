"""The wheel a user installs with pip: every data file the code opens is inside it, and the
installed code finds them through the installed packages, not through a checkout beside it.

Builds the wheel from a copy of the tracked files (not in place: setuptools' build/lib would
keep files from an earlier build), unpacks it, and runs the command line from another folder
with only the unpacked wheel on the path."""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Kept in the checkout on purpose: the scripts that derive a table from its source data.
DERIVATION_SCRIPTS = "*.py"

# Run inside the unpacked wheel: where each packaged data file the code names resolves to.
PROBE = r"""
import json, sys
from pathlib import Path
root = Path(sys.argv[1]).resolve()
import engine, models, resources, spa2v_app
from engine.binaural.hrtf import SHIPPED_HRIRS
from engine.cues.calibration import SHIPPED_CALIBRATION
from engine.planning.examples import EXAMPLES_DIR
from engine.rendering.pictograms import MANIFEST, PICTOGRAM_DIR
from engine.rendering.text import BUNDLED_FONT
from models.registry import registry_path
from models.yamnet import RESOURCES as TAGGER
from spa2v_app.cli.cmd_info import EXAMPLES_DIR as CLIPS
from spa2v_app.studio.app import ICON
paths = {"packages": [m.__file__ for m in (engine, models, resources, spa2v_app)],
         "files": [SHIPPED_HRIRS, SHIPPED_CALIBRATION, PICTOGRAM_DIR / MANIFEST, registry_path(),
                   TAGGER / "yamnet_class_map.csv", TAGGER / "audioset_nouns.json",
                   TAGGER / "audioset_ontology.json", ICON, BUNDLED_FONT,
                   BUNDLED_FONT.parent / "LICENCE.txt"],
         "folders": [EXAMPLES_DIR, PICTOGRAM_DIR, CLIPS]}
out = {k: [str(Path(p).resolve()) for p in v] for k, v in paths.items()}
out["outside"] = [p for v in out.values() for p in v if not Path(p).is_relative_to(root)]
out["missing"] = [p for p in out["files"] + out["folders"] if not Path(p).exists()]
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    src = tmp / "src"
    for rel in filter(None, listed.stdout.decode().split("\0")):
        if (ROOT / rel).is_file():  # a file deleted in the work tree but not yet in git
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, src / rel)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--no-index", "-q", "-w", str(tmp / "dist"), str(src)],
                   check=True, capture_output=True, timeout=300)
    return next((tmp / "dist").glob("spa2v_studio-*.whl"))


def _package_data_patterns() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    return [f"resources/{p}" for p in config["package-data"]["resources"]]


@pytest.mark.slow
def test_the_wheel_holds_every_resource_file(wheel):
    from engine import __version__

    names = set(zipfile.ZipFile(wheel).namelist())
    # The version pip shows is the one spa2v --version prints (it was written twice).
    assert wheel.name.startswith(f"spa2v_studio-{__version__}-")
    # One copy of each file: the registry also went to <prefix>/share/spa2v-studio, which
    # nothing read (the package's copy is always found first).
    assert not [n for n in names if ".data/" in n]
    # Apache-2.0 was declared, but no wheel, sdist or bundle carried its text.
    assert f"spa2v_studio-{__version__}.dist-info/licenses/LICENSE" in names
    shipped = subprocess.run(["git", "ls-files", "resources"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
    needed = [f for f in shipped if f == "resources/__init__.py"
              or not fnmatch.fnmatch(Path(f).name, DERIVATION_SCRIPTS)]
    missing = [f for f in needed if f not in names]
    assert not missing, f"not in the wheel (add them to package-data in pyproject.toml): {missing}"


@pytest.mark.slow
def test_the_installed_code_finds_its_data_in_the_installed_packages(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site), "HOME": str(tmp_path),
           "XDG_CACHE_HOME": str(tmp_path / "cache"), "SPA2V_MODELS_DIR": str(tmp_path / "models")}
    env.pop("SPA2V_REGISTRY", None)
    probe = subprocess.run([sys.executable, "-c", PROBE, str(site)], cwd=elsewhere, env=env,
                           capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0, probe.stderr
    found = json.loads(probe.stdout)
    assert found["outside"] == [] and found["missing"] == [], found

    # And the first command the README gives, on the example inside the installed package.
    example = site / "resources" / "examples" / "truck_right_to_left.flac"
    render = subprocess.run([sys.executable, "-m", "spa2v_app.cli", "-q", "render", str(example),
                             "--frames", "4", "-o", str(tmp_path / "x.mp4")],
                            cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300)
    assert render.returncode == 0, render.stderr
    assert (tmp_path / "x.mp4").stat().st_size > 10_000

"""Fetch the development bench's extra recordings from Debian packages (audio never goes in git).

    python benchmarks/hearing_fetch_sounds.py [--cache ~/.cache/spa2v/sounds] [--max-mb 400]

The selection (``benchmarks/hearing_sounds.json``: id, package, path inside the package,
AudioSet-style label, the short noun the bench's truth uses, category, loop/events) names
recordings in these packages only; others are kept aside for held-out checks elsewhere:
gcompris-qt-data, ktuberling-data, hedgewars-data, warmux-data, torcs-data,
extremetuxracer-data, supertux-data, frozen-bubble-data, pingus-data, neverball-data,
freedroidrpg-data, megaglest-data, redeclipse-data, warzone2100-data, scorched3d-data,
openclonk-data, lincity-ng-data, flightgear-data-base, sound-icons.

For each package the selection uses: ``apt-cache show`` (version, size; a package larger
than ``--max-mb`` is skipped with a note), ``apt-get download`` into ``CACHE/debs`` (kept:
the next run downloads nothing), then only the selected files and the package's
``copyright`` are unpacked into ``CACHE/files/<package>/``. ``CACHE/catalogue.json`` lists
every recording with package, version, path, licence (from the copyright file), label,
noun, category and mode; ``spa2v bench --set ...`` reads it
(:func:`engine.evaluation.sources.load_fetched_catalogue`).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import re
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.evaluation.sources import FETCHED_CATALOGUE, SOUNDS_CACHE  # noqa: E402

ALLOWED_PACKAGES = frozenset("""gcompris-qt-data ktuberling-data hedgewars-data warmux-data
torcs-data extremetuxracer-data supertux-data frozen-bubble-data pingus-data neverball-data
freedroidrpg-data megaglest-data redeclipse-data warzone2100-data scorched3d-data
openclonk-data lincity-ng-data flightgear-data-base sound-icons""".split())
SELECTION = ROOT / "benchmarks" / "hearing_sounds.json"


def package_facts(package: str) -> dict:
    out = subprocess.run(["apt-cache", "show", "--no-all-versions", package],
                         capture_output=True, text=True, check=True).stdout
    facts = {}
    for line in out.splitlines():
        key, _, value = line.partition(": ")
        if key in ("Version", "Size", "Filename"):
            facts[key.lower()] = value.strip()
    return facts


def download(package: str, debs: Path) -> Path:
    have = sorted(debs.glob(f"{package}_*.deb"))
    if have:
        return have[-1]
    debs.mkdir(parents=True, exist_ok=True)
    subprocess.run(["apt-get", "download", package], cwd=debs, check=True,
                   capture_output=True, text=True)
    have = sorted(debs.glob(f"{package}_*.deb"))
    if not have:
        raise RuntimeError(f"apt-get download {package} left no .deb in {debs}")
    return have[-1]


def unpack(deb: Path, members: list[str], dest: Path) -> None:
    """Extract ``members`` (paths inside the package, without ``./``) and the copyright."""
    proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
    wanted = set(members)
    with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
        for info in tar:
            name = info.name.removeprefix("./")
            if info.isfile() and (name in wanted or name.endswith("/copyright")
                                  and name.startswith("usr/share/doc/")):
                info.name = name
                tar.extract(info, dest, filter="data")
    proc.wait()


def licence_for(copyright_text: str, path: str) -> str:
    """The licence of ``path`` from a Debian copyright file: the last machine-readable
    ``Files:`` stanza whose pattern matches (DEP-5 semantics), else ``Files: *``, else the
    first licence line of a free-form file."""
    best = None
    for stanza in copyright_text.split("\n\n"):
        fields = {}
        key = None
        for line in stanza.splitlines():
            if line[:1] in (" ", "\t") and key:
                fields[key] += " " + line.strip()
                continue
            key, _, value = line.partition(":")
            key = key.strip().lower()
            fields[key] = value.strip()
        if "files" in fields and "license" in fields:
            if any(_matches(p, path) for p in fields["files"].split()):
                best = fields["license"].split(" ")[0] if fields["license"] else best
    if best:
        return best
    flat = " ".join(copyright_text.split())
    gpl = re.search(r"GNU (Lesser )?General Public License[^.]*?version (\d)", flat)
    if gpl:
        return f"{'LGPL' if gpl.group(1) else 'GPL'}-{gpl.group(2)}+"
    for line in copyright_text.splitlines():
        low = line.lower()
        if "license" in low or "licence" in low or "gpl" in low:
            return line.strip()[:120]
    return "see copyright file"


def _matches(pattern: str, path: str) -> bool:
    """Whether a copyright ``Files:`` pattern (a path in the *source* tree) names an
    installed ``path``: ``*`` matches all; otherwise the pattern's last two components must
    match the path's (source and install trees differ above that), unless both are wild."""
    if pattern == "*":
        return True
    tail = pattern.split("/")[-2:]
    if all(set(t) <= {"*"} for t in tail):
        return False
    folders = pattern.split("/")[:-1]
    if pattern.endswith("/*") and len(folders) >= 2 and f"/{'/'.join(folders[-2:])}/" in path:
        return True  # DEP-5's "*" spans sub-folders (two folder names to be sure)
    return fnmatch.fnmatch("/".join(path.split("/")[-len(tail):]), "/".join(tail))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, default=SOUNDS_CACHE)
    ap.add_argument("--max-mb", type=float, default=400.0,
                    help="skip packages larger than this (default 400 MB)")
    args = ap.parse_args(argv)
    selection = json.loads(SELECTION.read_text(encoding="utf-8"))
    bad = sorted({r["package"] for r in selection} - ALLOWED_PACKAGES)
    if bad:
        print(f"hearing_fetch_sounds: packages outside the allowed list: {bad}", file=sys.stderr)
        return 2
    catalogue = []
    for package in sorted({r["package"] for r in selection}):
        facts = package_facts(package)
        size_mb = int(facts.get("size", 0)) / 1e6
        if size_mb > args.max_mb:
            print(f"skip {package}: {size_mb:.0f} MB > --max-mb {args.max_mb:g}")
            continue
        rows = [r for r in selection if r["package"] == package]
        deb = download(package, args.cache / "debs")
        dest = args.cache / "files" / package
        missing = [r["path"] for r in rows if not (dest / r["path"]).exists()]
        copyright_path = dest / "usr" / "share" / "doc" / package / "copyright"
        if missing or not copyright_path.exists():
            unpack(deb, [r["path"] for r in rows], dest)
        text = copyright_path.read_text(encoding="utf-8", errors="replace") \
            if copyright_path.exists() else ""
        for r in rows:
            f = dest / r["path"]
            if not f.exists():
                print(f"  {package}: {r['path']} is not in {deb.name}; skipped")
                continue
            catalogue.append({**r, "version": facts.get("version", ""),
                              "file": str(f.relative_to(args.cache)),
                              "licence": licence_for(text, r["path"]),
                              "copyright": str(copyright_path.relative_to(args.cache))})
        print(f"{package} {facts.get('version')}: {size_mb:.0f} MB, "
              f"{sum(1 for c in catalogue if c['package'] == package)} recordings")
    out = args.cache / FETCHED_CATALOGUE
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(catalogue, indent=1), encoding="utf-8")
    tmp.replace(out)
    print(f"{len(catalogue)} recordings listed in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

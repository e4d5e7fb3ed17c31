"""Write THIRD-PARTY-NOTICES.txt for the desktop bundle (packaging/build.sh calls it).

The bundle passes on code under other licences: Python packages (their ``*.dist-info``
folders are copied into ``_internal/``) and the native libraries their wheels carry (Qt
in PySide6's, FFmpeg with x264 and x265 in PyAV's, another FFmpeg in OpenCV's, libsndfile,
libsoxr) plus PortAudio copied from the build machine. The LGPL and GPL ask that whoever
passes such code on says so prominently, gives the licence texts and tells where the
source is. The wheels do not do it for us: PySide6's and onnxruntime's metadata carry no
licence text, and PyAV's covers PyAV, not the FFmpeg it bundles.

So this script reads what is really in the built folder (never a hand-kept list of what
ought to be there): each ``*.dist-info`` (name, version, licence, the licence files the
wheel ships, which stay where they are) and each shared library, matched against
``NATIVE`` below (the one home of what is known about a bundled native library: its project,
licence and where its source is). A library that matches nothing is listed as unknown and
makes the build fail with ``--strict`` (build.sh uses it), so a new dependency cannot slip
into the archive without a notice. The copyleft licence texts themselves are copied from
the build machine's ``/usr/share/common-licenses`` (Debian's base-files), verbatim.

    python packaging/notices.py dist/spa2v-studio [--strict]
"""
from __future__ import annotations

import argparse
import email.parser
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

NOTICE_NAME = "THIRD-PARTY-NOTICES.txt"
COMMON_LICENSES = Path("/usr/share/common-licenses")


@dataclass(frozen=True)
class Native:
    pattern: str   # regular expression on the file name (lib prefix, before ".so")
    project: str
    licence: str   # SPDX expression
    source: str    # where its source is published
    folder: str = ""  # or: any library under a folder of this name (a wheel's own plugins)


# What the bundle's shared libraries are. Licences as their projects state them; FFmpeg's is
# what its library says of itself at run time (avutil_license(): PyAV's build is configured
# --enable-version3, "LGPL version 3 or later"; OpenCV's "LGPL version 2.1 or later").
NATIVE = (
    Native(r"libav(util|codec|format|device|filter)|libsw(scale|resample)|libpostproc", "FFmpeg",
           "LGPL-3.0-or-later (PyAV's build) / LGPL-2.1-or-later (OpenCV's build)",
           "https://ffmpeg.org/releases/ (PyAV's build recipe: https://github.com/PyAV-Org/pyav-ffmpeg)"),
    Native(r"libx264", "x264", "GPL-2.0-or-later", "https://code.videolan.org/videolan/x264"),
    Native(r"libx265", "x265", "GPL-2.0-or-later", "https://bitbucket.org/multicoreware/x265_git"),
    Native(r"libSvtAv1Enc", "SVT-AV1", "BSD-3-Clause-Clear",
           "https://gitlab.com/AOMediaCodec/SVT-AV1"),
    Native(r"libaom", "libaom (AV1)", "BSD-2-Clause", "https://aomedia.googlesource.com/aom"),
    Native(r"libavif", "libavif", "BSD-2-Clause", "https://github.com/AOMediaCodec/libavif"),
    Native(r"libharfbuzz\w*", "HarfBuzz", "MIT-Modern-Variant", "https://github.com/harfbuzz/harfbuzz"),
    Native(r"liblcms2", "Little CMS", "MIT", "https://github.com/mm2/Little-CMS"),
    Native(r"libopenjp2", "OpenJPEG", "BSD-2-Clause", "https://github.com/uclouvain/openjpeg"),
    Native(r"libimagequant", "libimagequant", "GPL-3.0-or-later",
           "https://github.com/ImageOptim/libimagequant"),
    Native(r"libvmaf", "libvmaf", "BSD-2-Clause-Patent", "https://github.com/Netflix/vmaf"),
    Native(r"libdav1d", "dav1d", "BSD-2-Clause", "https://code.videolan.org/videolan/dav1d"),
    Native(r"libvpx", "libvpx", "BSD-3-Clause", "https://chromium.googlesource.com/webm/libvpx"),
    Native(r"libwebp|libwebpmux|libwebpdemux|libsharpyuv", "libwebp", "BSD-3-Clause",
           "https://chromium.googlesource.com/webm/libwebp"),
    Native(r"libopus", "Opus", "BSD-3-Clause", "https://opus-codec.org/downloads/"),
    Native(r"libmp3lame", "LAME", "LGPL-2.0-or-later", "https://lame.sourceforge.io/"),
    Native(r"libopencore-amr(nb|wb)", "opencore-amr", "Apache-2.0",
           "https://sourceforge.net/projects/opencore-amr/"),
    Native(r"libvpl", "oneVPL dispatcher", "MIT", "https://github.com/intel/libvpl"),
    Native(r"libgnutls", "GnuTLS", "LGPL-2.1-or-later", "https://www.gnutls.org/download.html"),
    Native(r"libnettle|libhogweed", "Nettle", "LGPL-3.0-or-later OR GPL-2.0-or-later",
           "https://ftp.gnu.org/gnu/nettle/"),
    Native(r"libgmp", "GMP", "LGPL-3.0-or-later OR GPL-2.0-or-later", "https://gmplib.org/"),
    Native(r"libunistring", "libunistring", "LGPL-3.0-or-later OR GPL-2.0-only",
           "https://ftp.gnu.org/gnu/libunistring/"),
    Native(r"libidn2", "libidn2", "LGPL-3.0-or-later OR GPL-2.0-or-later",
           "https://ftp.gnu.org/gnu/libidn/"),
    Native(r"libtasn1", "libtasn1", "LGPL-2.1-or-later", "https://ftp.gnu.org/gnu/libtasn1/"),
    Native(r"libp11-kit", "p11-kit", "BSD-3-Clause", "https://github.com/p11-glue/p11-kit"),
    Native(r"libffi", "libffi", "MIT", "https://github.com/libffi/libffi"),
    Native(r"libasound", "ALSA library", "LGPL-2.1-or-later", "https://www.alsa-project.org/"),
    Native(r"libjack", "JACK", "LGPL-2.1-or-later", "https://jackaudio.org/"),
    Native(r"libportaudio", "PortAudio", "MIT", "https://github.com/PortAudio/portaudio"),
    Native(r"libsndfile(_\w+)?", "libsndfile", "LGPL-2.1-or-later", "https://github.com/libsndfile/libsndfile"),
    Native(r"libsoxr", "libsoxr", "LGPL-2.1-or-later", "https://sourceforge.net/projects/soxr/"),
    Native(r"libFLAC|libogg|libvorbis(enc|file)?", "Xiph codecs", "BSD-3-Clause", "https://xiph.org/"),
    Native(r"libmpg123", "mpg123", "LGPL-2.1-only", "https://www.mpg123.de/"),
    Native(r"libQt6\w*|libicu\w*", "Qt 6 (with ICU)", "LGPL-3.0-only (Qt); Unicode-3.0 (ICU)",
           "https://download.qt.io/official_releases/qt/"),
    Native(r"libpyside6[\w.]*|libshiboken6[\w.]*|libPySidePlugin", "Qt for Python",
           "LGPL-3.0-only", "https://download.qt.io/official_releases/QtForPython/"),
    # Qt's plugins (platforms, image formats, styles, QML modules) are many small libraries
    # named freely; the PySide6 wheel holds nothing else.
    Native(r"$^", "Qt 6 plugins", "LGPL-3.0-only",
           "https://download.qt.io/official_releases/qt/", folder="PySide6"),
    Native(r"libxcb[\w-]*|libXau|libXdmcp|libX11[\w-]*|libXext|libXrender|libxkbcommon[\w-]*",
           "X.Org libraries", "MIT", "https://gitlab.freedesktop.org/xorg"),
    Native(r"libdrm", "libdrm", "MIT", "https://gitlab.freedesktop.org/mesa/drm"),
    Native(r"libGL\w*|libEGL|libglapi|libOpenGL", "OpenGL dispatch (libglvnd)", "MIT",
           "https://gitlab.freedesktop.org/glvnd/libglvnd"),
    Native(r"libfontconfig", "Fontconfig", "MIT", "https://www.freedesktop.org/wiki/Software/fontconfig/"),
    Native(r"libfreetype", "FreeType", "FTL OR GPL-2.0-or-later", "https://freetype.org/"),
    Native(r"libpng\d*", "libpng", "Libpng", "http://www.libpng.org/pub/png/libpng.html"),
    Native(r"libjpeg|libturbojpeg", "libjpeg-turbo", "IJG AND BSD-3-Clause AND Zlib",
           "https://libjpeg-turbo.org/"),
    Native(r"libtiff", "libtiff", "libtiff", "https://libtiff.gitlab.io/libtiff/"),
    Native(r"libopenblas[\w.-]*|libscipy_openblas[\w.-]*", "OpenBLAS", "BSD-3-Clause",
           "https://github.com/OpenMathLib/OpenBLAS"),
    Native(r"libgfortran|libquadmath|libgcc_s|libstdc\+\+|libgomp",
           "GCC runtime libraries", "GPL-3.0-or-later WITH GCC-exception-3.1",
           "https://gcc.gnu.org/"),
    Native(r"libhdf5\w*", "HDF5", "BSD-3-Clause", "https://github.com/HDFGroup/hdf5"),
    Native(r"libsz|libaec", "libaec", "BSD-2-Clause", "https://gitlab.dkrz.de/k202009/libaec"),
    Native(r"libz|libzstd|liblzma|libbz2|libcrypto|libssl|libexpat|libuuid|libbrotli\w*",
           "compression and system libraries",
           "Zlib / BSD-3-Clause / 0BSD / bzip2-1.0.6 / Apache-2.0 / MIT (each its own)",
           "https://zlib.net/, https://github.com/facebook/zstd, https://tukaani.org/xz/, "
           "https://sourceware.org/bzip2/, https://www.openssl.org/, https://libexpat.github.io/, "
           "https://github.com/google/brotli"),
    Native(r"libpython3[\w.]*", "CPython", "PSF-2.0", "https://www.python.org/downloads/source/"),
    Native(r"libonnxruntime\w*", "ONNX Runtime", "MIT", "https://github.com/microsoft/onnxruntime"),
    Native(r"libopencv\w*", "OpenCV", "Apache-2.0", "https://github.com/opencv/opencv"),
)

# Licence texts passed on with the bundle, as the copyleft licences above ask. Keyed by the
# SPDX identifier's stem; the value is the file of Debian's base-files.
COPYLEFT_TEXTS = {
    "GPL-2.0": "GPL-2",
    "GPL-3.0": "GPL-3",
    "LGPL-2.0": "LGPL-2",
    "LGPL-2.1": "LGPL-2.1",
    "LGPL-3.0": "LGPL-3",
}

_SO = re.compile(r"^(?P<stem>.+?)(-[0-9a-f]{8})*\.so(\.[0-9.]+)?$")


def native_for(file_name: str, folders: tuple[str, ...] = ()) -> Native | None:
    """The NATIVE entry a shared library belongs to, by its file name (a wheel's hash
    suffixes and the version digits taken off), else by the folders it sits in; or None."""
    m = _SO.match(file_name)
    if m is None:
        return None
    stem = m.group("stem")
    for entry in NATIVE:
        if re.fullmatch(entry.pattern, stem):
            return entry
    for entry in NATIVE:
        if entry.folder and entry.folder in folders:
            return entry
    return None


@dataclass
class Dist:
    name: str
    version: str
    licence: str
    licence_files: list[str]   # relative to the bundle folder


def _licence_of(meta) -> str:
    expression = meta.get("License-Expression")
    if expression:
        return expression.strip()
    text = (meta.get("License") or "").strip()
    if text and len(text) <= 80 and "\n" not in text:
        return text
    classifiers = [c.split("::")[-1].strip() for c in meta.get_all("Classifier") or []
                   if c.startswith("License ::")]
    if classifiers:
        return "; ".join(classifiers)
    if text:
        return text.splitlines()[0][:80] + " (full text in its metadata)"
    return "not stated in its metadata"


def read_dists(bundle: Path) -> list[Dist]:
    dists = []
    for info in sorted(bundle.rglob("*.dist-info")):
        meta_file = info / "METADATA"
        if not meta_file.is_file():
            continue
        meta = email.parser.Parser().parsestr(meta_file.read_text(errors="replace"),
                                              headersonly=True)
        files = sorted(str(p.relative_to(bundle)) for p in info.rglob("*")
                       if p.is_file() and re.search(r"(?i)licen[cs]e|copying|notice|authors",
                                                    p.name))
        dists.append(Dist(meta.get("Name") or info.name, meta.get("Version") or "?",
                          _licence_of(meta), files))
    return dists


def read_natives(bundle: Path) -> tuple[dict[Native, list[str]], list[str]]:
    """Shared libraries in the bundle, grouped by their NATIVE entry; and the unknown ones."""
    known: dict[Native, list[str]] = {}
    unknown = []
    for path in sorted(bundle.rglob("*.so*")):
        if path.is_symlink() or not path.is_file() or path.suffix == ".py":
            continue  # PyInstaller links some libraries to their copy in a package folder
        if ".cpython-" in path.name or path.name.endswith(".abi3.so"):
            continue  # a Python extension module: its package's licence covers it
        rel = str(path.relative_to(bundle))
        entry = native_for(path.name, path.relative_to(bundle).parent.parts)
        if entry is None:
            unknown.append(rel)
        else:
            known.setdefault(entry, []).append(rel)
    return known, unknown


@dataclass
class DebPackage:
    """A library PyInstaller copied from the build machine's system (Qt's GTK theme plugin
    pulls in GLib, Pango, cairo...): its Debian package, whose copyright file is the
    licence statement passed on, and whose source package is where the source is."""
    name: str
    version: str
    source: str
    copyright: Path
    files: list[str]


def _dpkg(*args: str) -> str:
    try:
        return subprocess.run(["dpkg-query", *args], capture_output=True, text=True,
                              timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def debian_packages(bundle: Path, files: list[str]) -> tuple[list[DebPackage], list[str]]:
    """The Debian packages of the build machine that hold libraries of these names (a
    bundled library keeps its file name); and the files no package holds."""
    if shutil.which("dpkg-query") is None:
        return [], list(files)
    packages: dict[str, DebPackage] = {}
    left = []
    for rel in files:
        name = Path(rel).name
        owner = ""
        for line in _dpkg("-S", f"*/{name}").splitlines():
            pkg, _, path = line.partition(": ")
            if path.strip().endswith("/" + name) and "," not in pkg:
                owner = pkg.strip()
                break
        if not owner:
            left.append(rel)
            continue
        if owner not in packages:
            fields = _dpkg("-W", "-f=${Version}\t${source:Package}\t${source:Version}",
                           owner).split("\t")
            version, src, src_version = (fields + ["", "", ""])[:3]
            packages[owner] = DebPackage(
                owner, version, f"https://sources.debian.org/src/{src}/{src_version}/",
                Path("/usr/share/doc") / owner.split(":")[0] / "copyright", [])
        packages[owner].files.append(rel)
    return sorted(packages.values(), key=lambda d: d.name), left


def _copyleft_stems(expressions) -> list[str]:
    stems = set()
    for expression in expressions:
        for stem in COPYLEFT_TEXTS:
            if stem in expression:
                stems.add(stem)
        if re.search(r"\bLGPL\b(?![-\d])", expression):   # wheels that say just "LGPL"
            stems.add("LGPL-3.0")
    if any(s.startswith("LGPL-3") for s in stems):
        stems.add("GPL-3.0")   # the LGPL-3.0 is a set of permissions added to the GPL-3.0
    return sorted(stems)


def write_notice(bundle: Path, texts_dir: Path = COMMON_LICENSES) -> tuple[Path, list[str]]:
    """Write the notice into the bundle, atomically. Returns its path and the unknown
    libraries. Raises FileNotFoundError naming a licence text the build machine lacks."""
    dists = read_dists(bundle)
    natives, unknown = read_natives(bundle)
    debs, unknown = debian_packages(bundle, unknown)
    stems = _copyleft_stems([d.licence for d in dists] + [n.licence for n in natives])
    texts = {}
    for stem in stems:
        source = texts_dir / COPYLEFT_TEXTS[stem]
        if not source.is_file():
            raise FileNotFoundError(
                f"{source} (the {stem} text) is missing on this build machine; install "
                "Debian's base-files or put the licence texts in a folder and pass --texts")
        texts[stem] = source.read_text()

    out = []
    w = out.append
    w("SpA2V Studio: third-party notices\n")
    w("SpA2V Studio's own code is under the Apache License 2.0 (LICENSE, next to this file).\n"
      "This folder also holds other people's work, each under its own licence, listed below\n"
      "as found in this build. Some of it is under the GNU LGPL or GPL: those libraries are\n"
      "shared libraries you may replace with your own builds of the same version (they sit\n"
      "in _internal/, loaded by name). Their source is published where each entry says;\n"
      "whoever redistributes this archive must also offer that source (GPL-3.0 section 6,\n"
      "LGPL-3.0 section 4; GPL-2.0 section 3), for example by shipping it alongside.\n")
    copyleft = sorted(((e, files) for e, files in natives.items()
                       if re.search(r"GPL", e.licence)), key=lambda t: t[0].project)
    if copyleft:
        w("\nLibraries from the wheels under the LGPL or GPL (those copied from the build\n"
          "machine's system, section 3, state theirs in their copyright files):\n")
        for entry, files in copyleft:
            w(f"  - {entry.project}: {entry.licence}; source: {entry.source}\n")
        if any(re.search(r"(?<!L)GPL", e.licence.split(" OR ")[0]) and "WITH" not in e.licence
               for e, _ in copyleft):
            w("  Note: a library above is under the GPL alone (x264 and x265 come inside\n"
              "  PyAV's wheel, which links them into its FFmpeg). The archive as a whole is\n"
              "  then passed on under GPL terms; Apache-2.0 code may be combined with GPL-3.0.\n")

    w("\n1. Python packages (their licence files stay in their .dist-info folders)\n\n")
    for d in dists:
        w(f"{d.name} {d.version}\n  licence: {d.licence}\n")
        for f in d.licence_files:
            w(f"  text: {f}\n")
    w("\n2. Native libraries\n\n")
    for entry, files in sorted(natives.items(), key=lambda t: t[0].project):
        w(f"{entry.project}\n  licence: {entry.licence}\n  source: {entry.source}\n")
        for f in files:
            w(f"  file: {f}\n")
    if debs:
        w("\n3. Libraries from the build machine's Debian system (each package's copyright file,\n"
          "   which states its licences, follows in full; source: the address given)\n\n")
        for deb in debs:
            w(f"{deb.name} {deb.version}\n  source: {deb.source}\n")
            for f in deb.files:
                w(f"  file: {f}\n")
    if unknown:
        w("\nNot identified (their licence comes with the wheel that carries them):\n")
        for f in unknown:
            w(f"  file: {f}\n")
    for deb in debs:
        try:
            copyright_text = deb.copyright.read_text(errors="replace")
        except OSError:
            copyright_text = f"(no {deb.copyright} on the build machine: see the source package)\n"
        w(f"\n{'=' * 78}\n{deb.name}: /usr/share/doc/.../copyright\n{'=' * 78}\n\n{copyright_text}")
    for stem in stems:
        w(f"\n{'=' * 78}\n{stem}: the full text\n{'=' * 78}\n\n{texts[stem]}")

    target = bundle / NOTICE_NAME
    fd, tmp = tempfile.mkstemp(prefix=".notices-", dir=bundle)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write("".join(out))
        os.chmod(tmp, 0o644)   # mkstemp's 0600 would hide it from the users of an installed app
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target, unknown


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path, help="the built app folder (dist/spa2v-studio)")
    parser.add_argument("--texts", type=Path, default=COMMON_LICENSES,
                        help="folder with the GPL/LGPL texts (default: %(default)s)")
    parser.add_argument("--strict", action="store_true",
                        help="fail when a shared library matches nothing known")
    args = parser.parse_args(argv)
    if not args.bundle.is_dir():
        print(f"notices.py: {args.bundle} is not a folder; build the bundle first", file=sys.stderr)
        return 2
    try:
        target, unknown = write_notice(args.bundle, args.texts)
    except (FileNotFoundError, OSError) as exc:
        print(f"notices.py: {exc}", file=sys.stderr)
        return 2
    print(f"notices: wrote {target}")
    if unknown:
        print("notices.py: shared libraries of unknown licence (add them to NATIVE in "
              "packaging/notices.py):\n  " + "\n  ".join(unknown), file=sys.stderr)
        return 1 if args.strict else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())

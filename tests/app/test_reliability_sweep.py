"""The reliability sweep: hostile-but-realistic runs of the real ``spa2v`` as a subprocess.

Fixtures are made at test time in one shared folder: audio of every input format the README
lists (good, silent, cut in half, garbage, empty) and WAVs with every known defect, hostile
JSON, a video, a fake GGUF; targets that are read-only, full (a small tmpfs, where running as
root allows mounting one) or a file in place of a folder; and signals sent to a running
render. Each case checks the exit status, that stderr holds only the app's own lines (the last
one the error) and no traceback, that no file appeared or changed except the intended output,
and that no ``.part`` file was left. A summary line is printed at the end:

    reliability: N cases tried, E clean errors, 0 crashes, 0 files left behind, 0 inputs changed

Add a case by adding a row to :func:`cases`.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.app.test_reliability import HOSTILE_JSON
from tests.synth import AUDIO_FORMATS, panned_noise, write_audio_as, write_wav

ROOT = Path(__file__).resolve().parents[2]
PROGRESS_LINE = re.compile(r"^[\w .-]+: +\d+%")  # "analyse:  30%, about 2 s left (...)"
CASE_TIMEOUT_S = 120


@dataclass(frozen=True)
class Case:
    """One run: ``argv`` after ``spa2v`` ({fx} is the fixtures folder, {out} the case's own
    empty folder, {ro}/{full} the read-only and full targets); ``ok`` the exit statuses that
    are right; ``needle`` a text the error line must hold; ``output`` the file that may appear
    (relative to {out})."""

    name: str
    argv: tuple[str, ...]
    ok: tuple[int, ...] = (2,)
    needle: str | None = None
    output: str | None = None
    needs: str | None = None  # "ro" or "full": a target that may be unavailable
    check_sync: bool = False


@dataclass
class Tally:
    tried: int = 0
    clean_errors: int = 0
    crashes: list[str] = field(default_factory=list)
    left_behind: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"reliability: {self.tried} cases tried, {self.clean_errors} clean errors, "
                f"{len(self.crashes)} crashes, {len(self.left_behind)} files left behind, "
                f"{len(self.changed)} inputs changed")


TALLY = Tally()


# -- fixtures -----------------------------------------------------------------------------------

def make_fixtures(fx: Path) -> None:
    rng = np.random.default_rng(16)
    for ext in AUDIO_FORMATS:
        sr = 48000 if ext == ".opus" else 44100
        x = panned_noise((60, -60), duration_s=1.0, sr=sr)
        good = write_audio_as(fx / f"good{ext}", x, sr)
        write_audio_as(fx / f"silent{ext}", 0 * x, sr)
        data = good.read_bytes()
        (fx / f"cut{ext}").write_bytes(data[: len(data) // 2])
        (fx / f"garbage{ext}").write_bytes(rng.bytes(4096))
        (fx / f"empty{ext}").write_bytes(b"")
    x = panned_noise((60, -60), duration_s=1.0)
    few, many = x.copy(), x.copy()
    few[:, 1000:1200] = np.nan
    many[:, ::20] = np.inf
    write_wav(fx / "nan_few.wav", few)
    write_wav(fx / "inf_many.wav", many)
    write_wav(fx / "dc.wav", np.full_like(x, 0.25))
    write_wav(fx / "hires.wav", panned_noise(40, duration_s=1.0, sr=192000), sr=192000)
    write_wav(fx / "mono.wav", x[:1])
    write_wav(fx / "six.wav", np.vstack([x, x, x]))
    write_wav(fx / "clipped.wav", np.clip(x * 40, -1, 1))
    write_wav(fx / "header_only.wav", np.zeros((2, 0), np.float32))
    whole = write_wav(fx / "whole16.wav", x, subtype="PCM_16").read_bytes()
    (fx / "short_header.wav").write_bytes(whole[: 44 + len(whole) // 3 // 4 * 4])
    write_wav(fx / "-x.wav", x)
    (fx / "folder.wav").mkdir()
    # A plan and a video of good.wav (in-process: the subject here is the command line).
    from spa2v_app.cli import main
    assert main(["-q", "plan", str(fx / "good.wav"), "-o", str(fx / "plan.json"),
                 "--frames", "4"]) == 0
    from engine.export.mp4 import Mp4Writer
    with Mp4Writer(fx / "video.mp4", fps=12, size=(64, 64), audio_path=fx / "good.wav",
                   duration_s=1.0) as w:
        w.write(np.full((64, 64, 3), 90, np.uint8))
    hostile = dict(HOSTILE_JSON, **{
        "nan": '{"schema": "spa2v.vsl/1", "duration_s": NaN, "num_frames": 4}',
        "empty": "",
        "truncated": (fx / "plan.json").read_text()[:200],
    })
    for name, text in hostile.items():
        (fx / f"{name}.json").write_text(text)
    (fx / "latin1.json").write_bytes('{"caption": "caf\xe9"}'.encode("latin-1"))
    (fx / "llm.gguf").write_bytes(b"GGUF" + (3).to_bytes(4, "little") + rng.bytes(8192))


@contextlib.contextmanager
def tmpfs(path: Path, options: str):
    """A small tmpfs at ``path`` (root only); yields False where it cannot be mounted."""
    path.mkdir()
    mounted = False
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                                 capture_output=True).returncode == 0
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)


@pytest.fixture(scope="module")
def world(tmp_path_factory, request):
    root = tmp_path_factory.mktemp("reliability")
    fx = root / "fx"
    fx.mkdir()
    make_fixtures(fx)
    with contextlib.ExitStack() as stack:
        # Read-only: a read-only tmpfs as root (root ignores permission bits), chmod otherwise.
        ro = root / "ro"
        if os.geteuid() == 0:
            ro_ok = stack.enter_context(tmpfs(ro, "ro,size=64k"))
        else:
            ro.mkdir()
            ro.chmod(0o555)
            stack.callback(ro.chmod, 0o755)
            ro_ok = True
        full = root / "full"
        full_ok = stack.enter_context(tmpfs(full, "size=256k"))
        if full_ok:
            with contextlib.suppress(OSError), open(full / "filler", "wb") as f:
                while True:
                    f.write(b"\0" * 4096)
                    f.flush()
        targets = {"ro": ro if ro_ok else None, "full": full if full_ok else None}
        yield root, fx, targets
    plugins = request.config.pluginmanager
    reporter, capture = plugins.getplugin("terminalreporter"), plugins.getplugin("capturemanager")
    if reporter is not None and TALLY.tried:
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            reporter.write_line("")
            reporter.write_line(TALLY.line())


# -- running a case -----------------------------------------------------------------------------

def snapshot(*folders: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for folder in folders:
        if folder is None or not folder.exists():
            continue
        for dirpath, dirnames, filenames in os.walk(folder):
            for n in filenames + dirnames:
                p = Path(dirpath) / n
                with contextlib.suppress(OSError):
                    st = p.lstat()
                    out[str(p)] = (st.st_size, st.st_mtime_ns)
    return out


def env_for(out: Path) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT), SPA2V_MODELS_DIR=str(out / "models"),
                HF_HUB_OFFLINE="1", QT_QPA_PLATFORM="offscreen")


def spa2v(argv, *, cwd: Path, out: Path, **kw):
    return subprocess.Popen([sys.executable, "-m", "spa2v_app.cli", *argv], cwd=cwd,
                            env=env_for(out), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kw)


def _foreground_signals() -> None:
    """In the child before exec: SIGINT, SIGTERM and SIGHUP as a foreground command has them."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)


def judge(name: str, rc: int, err: str, ok, needle, before, after, allowed: set[str]) -> list[str]:
    """Problems with one run (and the tally updated): empty when it behaved."""
    problems = []
    lines = err.rstrip("\n").split("\n") if err.strip() else []
    own = all(line.startswith("spa2v: ") or PROGRESS_LINE.match(line) for line in lines)
    crashed = "Traceback" in err or rc not in ok or not own or (rc != 0 and not lines)
    TALLY.tried += 1
    if crashed:
        TALLY.crashes.append(name)
        problems.append(f"exit {rc} (want {ok}), stderr:\n{err}")
    elif rc == 2:
        TALLY.clean_errors += 1
    if rc != 0 and lines and needle and needle not in lines[-1]:
        problems.append(f"the error line {lines[-1]!r} does not say {needle!r}")
    appeared = sorted(set(after) - set(before) - allowed)
    if appeared:
        TALLY.left_behind.extend(appeared)
        problems.append(f"left behind: {appeared}")
    changed = sorted(p for p in before if p in after and after[p] != before[p])
    gone = sorted(set(before) - set(after))
    if changed or gone:
        TALLY.changed.extend(changed + gone)
        problems.append(f"changed: {changed}, removed: {gone}")
    return problems


def cases() -> list[Case]:
    c: list[Case] = []
    for ext in sorted(AUDIO_FORMATS):
        c += [
            Case(f"render good{ext}", ("render", f"{{fx}}/good{ext}", "-o", "{out}/v.mp4",
                                       "--size", "64x64", "--frames", "4", "--video-fps", "12"),
                 ok=(0,), output="v.mp4", check_sync=True),
            Case(f"plan silent{ext}", ("plan", f"{{fx}}/silent{ext}", "-o", "{out}/p.json"),
                 needle="silent"),
            Case(f"plan cut{ext}", ("plan", f"{{fx}}/cut{ext}", "-o", "{out}/p.json"),
                 ok=(0, 2), output="p.json"),
            Case(f"plan garbage{ext}", ("plan", f"{{fx}}/garbage{ext}", "-o", "{out}/p.json")),
            Case(f"cues empty{ext}", ("cues", f"{{fx}}/empty{ext}", "-o", "{out}/c.json")),
        ]
    for name, ok, needle in [("nan_few", (0,), None), ("inf_many", (2,), "corrupt"),
                             ("dc", (2,), "silent"), ("hires", (0,), None), ("mono", (0,), None),
                             ("six", (0,), None), ("clipped", (0,), None),
                             ("header_only", (2,), "no audio"), ("short_header", (0,), None)]:
        c.append(Case(f"render {name}.wav", ("render", f"{{fx}}/{name}.wav", "-o", "{out}/v.mp4",
                                             "--size", "64x64", "--frames", "4",
                                             "--video-fps", "12"),
                      ok=ok, needle=needle, output="v.mp4",
                      check_sync=name in ("nan_few", "hires")))  # the two render once broke
    for name in [*sorted(HOSTILE_JSON), "nan", "empty", "truncated", "latin1"]:
        c.append(Case(f"render --plan {name}.json", ("render", "{fx}/good.wav", "--plan",
                                                      f"{{fx}}/{name}.json", "-o", "{out}/v.mp4"),
                      needle=f"{name}.json"))
    for name in ["deep", "huge-int", "wrong-types"]:
        c.append(Case(f"spatialize --plan {name}.json",
                      ("spatialize", "{fx}/good.wav", "--plan", f"{{fx}}/{name}.json", "-o",
                       "{out}/s.wav"), needle=f"{name}.json"))
        c.append(Case(f"check --plan {name}.json",
                      ("check", "{fx}/good.wav", "--plan", f"{{fx}}/{name}.json"),
                      needle=f"{name}.json"))
    c += [
        Case("spatialize onto its input", ("spatialize", "{fx}/good.wav", "--plan",
                                           "{fx}/plan.json", "-o", "{fx}/good.wav"),
             needle="also an input"),
        Case("render a video onto itself", ("render", "{fx}/video.mp4", "-o", "{fx}/video.mp4"),
             needle="also an input"),
        Case("check --json onto the plan", ("check", "{fx}/good.wav", "--plan",
                                            "{fx}/plan.json", "--json", "{fx}/plan.json"),
             needle="also an input"),
        Case("spatialize a folder", ("spatialize", "{fx}/folder.wav", "--plan",
                                     "{fx}/plan.json", "-o", "{out}/s.wav"), needle="folder"),
        Case("hint with a bell", ("plan", "{fx}/good.wav", "-o", "{out}/p.json", "--hint",
                                  "a car\x07"), needle="--hint"),
        Case("file named -x.wav", ("plan", "-x.wav", "-o", "{out}/p.json"),
             needle="-- -x.wav"),
        Case("file named -x.wav after --", ("plan", "-o", "{out}/p.json", "-q", "--", "-x.wav"),
             ok=(0,), output="p.json"),
        Case("import a garbage GGUF", ("models", "import", "{fx}/llm.gguf", "--as",
                                       "planner-llm-default"), needle="llm.gguf"),
        Case("check a video against its sound", ("check", "{fx}/good.wav", "--video",
                                                 "{fx}/video.mp4"), ok=(0, 2)),
    ]
    for cmd, tail in [("plan", ("{fx}/good.wav", "-o", "{t}/p.json")),
                      ("cues", ("{fx}/good.wav", "-o", "{t}/c.json")),
                      ("render", ("{fx}/good.wav", "-o", "{t}/v.mp4", "--size", "64x64")),
                      ("spatialize", ("{fx}/good.wav", "--plan", "{fx}/plan.json",
                                      "-o", "{t}/s.wav"))]:
        c.append(Case(f"{cmd} into a file posing as a folder",
                      (cmd, *(a.replace("{t}", "{fx}/good.flac") for a in tail)),
                      needle="not a folder"))
        c.append(Case(f"{cmd} into a read-only folder",
                      (cmd, *(a.replace("{t}", "{ro}") for a in tail)), needle="Cannot write",
                      needs="ro"))
        c.append(Case(f"{cmd} onto a full disk",
                      (cmd, *(a.replace("{t}", "{full}") for a in tail)),
                      needle="No space left", needs="full"))
    c.append(Case("plan --out-dir a file", ("plan", "{fx}/good.wav", "{fx}/mono.wav",
                                            "--out-dir", "{fx}/good.flac"), needle="not a folder"))
    return c


CASES = cases()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(world, case: Case):
    root, fx, targets = world
    if case.needs and targets[case.needs] is None:
        pytest.skip(f"no {case.needs} target here (needs root to mount a tmpfs)")
    out = root / re.sub(r"\W+", "_", case.name)
    out.mkdir()
    fmt = dict(fx=fx, out=out, ro=targets["ro"], full=targets["full"])
    argv = [a.format(**fmt) for a in case.argv]
    watched = [fx, out, targets["ro"], targets["full"]]
    before = snapshot(*watched)
    proc = spa2v(argv, cwd=fx, out=out)
    _, err = proc.communicate(timeout=CASE_TIMEOUT_S)
    after = snapshot(*watched)
    allowed = {str(out / case.output)} if case.output and proc.returncode == 0 else set()
    allowed |= {str(out / "models")} if (out / "models").is_dir() and not any(
        (out / "models").iterdir()) else set()
    problems = judge(case.name, proc.returncode, err, case.ok, case.needle, before, after, allowed)
    assert not problems, "\n".join(problems)
    if case.check_sync and proc.returncode == 0:
        # The video's sound and picture agree, by the engine's check and by `spa2v check`.
        from engine.export.mp4 import check_av_sync
        check_av_sync(out / case.output)
        before = snapshot(*watched)
        proc = spa2v(["check", argv[1], "--video", str(out / case.output)], cwd=fx, out=out)
        _, err = proc.communicate(timeout=CASE_TIMEOUT_S)
        problems = judge(f"check after {case.name}", proc.returncode, err, (0,), None, before,
                         snapshot(*watched), set())
        assert not problems, "\n".join(problems)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT],
                         ids=lambda s: s.name)
def test_a_signal_mid_render_leaves_nothing(world, sig):
    root, fx, _ = world
    out = root / f"signal_{sig.name}"
    out.mkdir()
    long_clip = out / "long.wav"
    # Long enough that the MP4 is being written for seconds (a 30 s clip at this size wrote
    # in about 1 s), so the signal lands mid-write however slow the poll below is.
    write_wav(long_clip, panned_noise((60, -60), duration_s=120.0, sr=16000), sr=16000,
              subtype="PCM_16")
    before = snapshot(fx, out)
    # As a shell starts a command in the foreground: a runner that started the tests in the
    # background (SIGINT ignored, which children inherit and Python keeps) would otherwise
    # make Ctrl+C a no-op here, and the render would finish.
    proc = spa2v(["render", str(long_clip), "-o", str(out / "v.mp4"), "--size", "256x256"],
                 cwd=out, out=out, preexec_fn=_foreground_signals)
    deadline = time.monotonic() + CASE_TIMEOUT_S
    while time.monotonic() < deadline and proc.poll() is None:
        if any(".part" in p.name for p in out.iterdir()):
            break  # the MP4 is being written: the moment a stop hurts most
        time.sleep(0.05)
    assert proc.poll() is None, "the render ended before it could be signalled"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=CASE_TIMEOUT_S)
    want = 130 if sig == signal.SIGINT else 128 + sig
    problems = judge(f"{sig.name} mid-render", proc.returncode, err, (want,), "nothing was written",
                     before, snapshot(fx, out), set())
    assert not problems, "\n".join(problems)


def test_studio_smoke_exits_0_and_leaves_no_mp4(world, tmp_path):
    # Issue 16 item 9: the installed entry point printed "smoke: ok" and then aborted (exit 134)
    # with a thumbnail thread still running, leaving its temporary MP4.
    root, fx, _ = world
    env = dict(env_for(tmp_path), SPA2V_DATA_DIR=str(tmp_path / "data"),
               SPA2V_CONFIG_DIR=str(tmp_path / "config"))
    exe = Path(sys.executable).with_name("spa2v-studio")
    before = snapshot(fx)
    proc = subprocess.run([str(exe), "--smoke", str(fx / "good.wav")], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=CASE_TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr
    assert "smoke: ok" in proc.stdout + proc.stderr
    assert snapshot(fx) == before
    assert not list(tmp_path.rglob("*.mp4"))

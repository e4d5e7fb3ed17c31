"""Launch the studio and save screenshots of its main states to docs/screenshots/.

    xvfb-run -a .venv/bin/python scripts/screenshots.py          # a real X server (Xvfb)
    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots.py

States: empty window, recording (a fake stereo input, never a real microphone), imported sound,
planned layout being edited, render running with its live preview, export dialog, settings;
then the finished window at each of --sizes (laptop and desktop screens: every toolbar action
must be visible). Uses throw-away data and config folders, so nothing of the user's is touched.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    ap.add_argument("--audio", default=str(ROOT / "resources" / "examples" / "truck_right_to_left.flac"))
    ap.add_argument("--size", default="1440x880")
    ap.add_argument("--sizes", default="1280x720,1366x768,1920x1080",
                    help="window sizes for the final 'window-WxH' shots (comma-separated)")
    args = ap.parse_args()
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    tmp = Path(tempfile.mkdtemp(prefix="spa2v-shots-"))
    os.environ["SPA2V_DATA_DIR"] = str(tmp / "data")
    os.environ["SPA2V_CONFIG_DIR"] = str(tmp / "config")
    os.environ.setdefault("SPA2V_MODELS_DIR", str(tmp / "models"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    w_px, h_px = (int(v) for v in args.size.split("x"))

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from spa2v_app.studio.app import create_app
    from spa2v_app.studio.main_window import MainWindow
    from spa2v_app.studio.model.recording import InputDevice
    from spa2v_app.studio.model.settings import StudioSettings
    from tests.app.studio.fake_stream import fake_stream_factory

    app = create_app()
    mic = [InputDevice(0, "USB stereo microphone", 2, 48000.0)]
    window = MainWindow(StudioSettings(recordings_dir=str(tmp / "recordings")),
                        stream_factory=fake_stream_factory(speed=1.0), use_audio_device=False,
                        list_devices=lambda: (mic, None))
    window.maybe_keep_changes = lambda: True
    window.ask_cancel_jobs = lambda: True
    window.resize(w_px, h_px)
    window.show()

    def pump(seconds: float = 0.2) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)

    def until(cond, timeout: float = 60.0) -> None:
        end = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > end:
                raise SystemExit(f"screenshots: timed out waiting ({cond})")
            pump(0.05)

    def shot(name: str, widget=None) -> None:
        pump(0.3)
        path = out / f"{name}.png"
        (widget or window).grab().save(str(path), "PNG", 9)
        print(f"wrote {path} ({path.stat().st_size // 1024} KB)")

    pump(0.5)
    shot("01-empty")

    window.act_record.trigger()
    until(lambda: window.record_panel.recorder is not None and window.record_panel.recorder.elapsed_s > 2.5)
    shot("02-recording")
    window.act_record.trigger()
    until(lambda: not window.queue.busy())
    window.new_project()

    window.import_audio(args.audio)
    until(lambda: window.doc.audio is not None and not window.queue.busy())
    window.queue.clear_finished()
    window.banner.hide()  # this machine may lack the sound tagger: not what the shot is about
    shot("03-imported")

    window.hint_edit.setText("a truck")
    job = window.plan()
    until(lambda: job.done)
    window.doc.set_time(window.doc.frame_time(5))
    window.doc.add_object("bird", "a small bird")
    window.doc.move_box(window.doc.selected_id, window.doc.current_frame(), (0.12, 0.12, 0.26, 0.26))
    window.toggle_keyframe()
    shot("04-layout-edit")

    from spa2v_app.studio.model import tasks
    real = tasks.make_renderer_for

    class Slow:  # slow the preview renderer down so the live preview can be caught mid-way
        name = "preview"

        def __init__(self):
            self.inner = real("preview")

        def render(self, layout, settings, token):
            for event in self.inner.render(layout, settings, token):
                time.sleep(0.01)
                yield event

    tasks.make_renderer_for = lambda name, device="auto": Slow()
    first = window.render(tmp / "renders" / "truck-1.mp4")
    window.render(tmp / "renders" / "truck-2.mp4")
    until(lambda: first.fraction > 0.45 and window.preview.live is not None)
    shot("05-rendering")
    until(lambda: not window.queue.busy(), timeout=120)
    tasks.make_renderer_for = real
    window.doc.set_time(3.0)

    from spa2v_app.studio.dialogs import ExportDialog, SettingsDialog
    dlg = ExportDialog(tmp / "truck", renderer="preview", fps=24, can_reuse=True, parent=window)
    dlg.show()
    shot("06-export-dialog", dlg)
    dlg.close()
    dlg = SettingsDialog(window.settings, window)
    dlg.resize(900, 440)
    dlg.tabs.setCurrentIndex(0)
    dlg.show()
    shot("07-settings-models", dlg)
    dlg.tabs.setCurrentIndex(2)
    shot("07-settings", dlg)
    dlg.close()
    shot("08-after-render")
    for size in args.sizes.split(","):
        w, h = (int(v) for v in size.split("x"))
        window.resize(w, h)
        pump(0.5)
        shot(f"09-window-{w}x{h}")
    QTimer.singleShot(0, window.close)
    pump(0.3)
    window.queue.wait_all(10)
    QApplication.instance().quit()
    sys.stdout.flush()
    # PySide6 can crash while Python tears down Qt objects at exit; the work is done.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())

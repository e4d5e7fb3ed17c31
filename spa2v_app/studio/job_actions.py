"""The window's sound and job actions: record, import, play, plan, render, export, download.

A mixin of :class:`.main_window.MainWindow` (kept apart so each file reads in one sitting). Each
action snapshots what it needs and submits an engine generator job to the queue; results come
back through the queue's callbacks on the GUI thread.
"""

from __future__ import annotations

import copy
from pathlib import Path

from PySide6.QtWidgets import QDialog, QFileDialog

from engine.errors import SpA2VError
from engine.fileio import refuse_overwriting_inputs, same_file
from engine.jobs import Log
from engine.layout import save_layout
from engine.pipeline import PlanSettings
from engine.protocols import RenderSettings

from .model import tasks
from .dialogs import ExportDialog, ExportRequest, with_suffix_added
from .model.paths import data_dir
from .model.recording import forget_recording, overflow_note
from .preview_panel import PREVIEW_SIDE
from .model.secrets import gemini_key
from .workers import QueuedJob, to_qimage

# What Import offers and a drop takes for a sound (a video's sound track too).
SOUND_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac", ".aif",
                  ".aiff", ".w64", ".caf", ".rf64", ".wma", ".webm", ".mka", ".mp4", ".mov",
                  ".mkv")
AUDIO_PATTERNS = " ".join(f"*{s}" for s in SOUND_SUFFIXES)


class JobActions:
    """Sound and job actions of the main window (needs its doc, queue, player, settings)."""

    # -- sound --------------------------------------------------------------------------------
    def toggle_record(self) -> None:
        self.record_panel.toggle()

    def _recorded(self, result) -> None:
        if result.error:
            self.show_message(f"{result.error} The {result.duration_s:.1f} s recorded so far are "
                              f"kept in {result.path}.", "warning")
        elif result.overflows:
            self.show_message(overflow_note(result.overflows), "warning")
        if result.frames <= 0:
            forget_recording(result.path)
            return
        job = self.import_audio(result.path, stereo=self.record_panel.stereo(),
                                spacing_m=self.record_panel.spacing_m(),
                                pan_law=self.record_panel.pan_law())
        # Until the project holds the recording (and its recovery copy says so), a crash
        # must still find it: the marker goes only then. A long sound's import takes minutes.
        imported, failed = job.on_finished, job.on_failed

        def held(r) -> None:
            imported(r)
            if self.autosave() is not None or not self.doc.dirty:  # not on a full disk
                forget_recording(result.path)

        def not_held(message) -> None:
            failed(message)  # says what went wrong, and that the file is where it is
            forget_recording(result.path)
        job.on_finished, job.on_failed = held, not_held

    def import_audio(self, path: str | Path, *, attach_only: bool = False,
                     stereo: str | None = None, spacing_m: float | None = None,
                     pan_law: str | None = None) -> QueuedJob:
        """Read a sound file on a worker: waveform, cues; then it becomes the project's audio,
        read as ``stereo`` says it was recorded (default: the project's choice, with its
        spacing ``spacing_m`` for a spaced pair, its ``pan_law`` for a pan-pot mix)."""
        path = Path(path)
        if stereo is None:
            stereo, spacing_m, pan_law = self.doc.stereo, self.doc.spacing_m, self.doc.pan_law
        # The latest import asked for wins, into the project it was asked for: an import that
        # ends after another project was opened, or after a later import ended, is not used
        # (it silently replaced the opened project's sound and dropped its layout).
        self._import_ticket = ticket = getattr(self, "_import_ticket", 0) + 1
        generation = self.doc.generation

        def done(result: tasks.ImportResult) -> None:
            if ticket != self._import_ticket or generation != self.doc.generation:
                if not attach_only:
                    self.show_message(
                        f"The import of {path} was not used: another sound or project was "
                        "opened while it ran. Import it again (Ctrl+I) to use it.", "warning")
                return
            if attach_only:
                mismatch = self.doc.attach_audio(result)
                if mismatch:
                    self.show_message(mismatch, "warning")
            else:
                self.doc.apply_import(result)
                self.doc.set_stereo(stereo)
                self.doc.set_spacing_m(spacing_m)
                self.doc.set_pan_law(pan_law)
                self.timeline.canvas.fit()
            for note in result.notes:
                self.show_message(note, "warning")
            self.statusBar().showMessage(f"Imported {path.name} ({result.audio.duration_s:.1f} s)", 5000)

        return self.queue.submit("import", f"Import {path.name}",
                                 lambda token: tasks.import_job(path, token, stereo=stereo,
                                                                  spacing_m=spacing_m,
                                                                  pan_law=pan_law),
                                 concurrent=True, on_finished=done,
                                 on_failed=lambda m: self.show_message(m, "error"))

    def import_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import audio",
                                              str(self.settings.start_folder()),
                                              f"Audio ({AUDIO_PATTERNS});;All files (*)")
        if path:
            self.settings.remember_folder(path)
            self.banner.hide()  # an older message, about another sound
            self.import_audio(path)

    def toggle_play(self) -> None:
        if self.doc.audio is None:
            return
        self.player.toggle(None if self.player.playing else self.doc.time_s)

    def seek(self, t: float) -> None:
        self.doc.set_time(t)
        self.player.seek(self.doc.time_s)

    # -- plan, render, export -----------------------------------------------------------------
    def plan(self) -> QueuedJob | None:
        audio_path = self.doc.project.audio_path
        if audio_path is None:
            self.show_message("Record or import a sound first.", "warning")
            return None
        self.banner.hide()  # what it said was about an earlier step; this one says its own
        missing = self.missing_sound()
        if missing:
            self.show_message(f"Cannot plan: {missing}", "error")
            return None
        settings = PlanSettings(num_frames=self.settings.plan_frames,
                                hint=self.hint_edit.text().strip() or None,
                                stereo=self.doc.stereo, spacing_m=self.doc.spacing_m,
                                pan_law=self.doc.pan_law)
        planner = self.settings.planner
        llm, key = self.settings.llm_model_path, gemini_key() if planner == "gemini" else None
        send_audio = self.settings.gemini_send_audio
        self.doc.project.settings.update(plan_frames=settings.num_frames, hint=settings.hint,
                                         planner=planner)

        asked = {}  # what named the sounds, chosen on the worker, read by done() afterwards

        generation = self.doc.generation

        def done(result) -> None:
            layout, _cues = result
            if generation != self.doc.generation:
                self.show_message(f"The plan of {audio_path.name} finished after another "
                                  "project was opened, so it was not used.", "warning")
                return
            if self.doc.project.audio_path != audio_path:
                # Another sound was imported while this one was planned: its frames would not
                # line up with the sound now in the project (and a render would be refused).
                now = self.doc.project.audio_path
                self.show_message(f"The plan of {audio_path.name} finished after "
                                  f"{now.name if now else 'another sound'} was imported, so it "
                                  "was not used. Plan again (Ctrl+L).", "warning")
                return
            self.doc.apply_plan(layout)
            # How the sound was heard stays in the status bar's own field beside this: said
            # here too, it pushed the end of this line out of a 1280 px window.
            named = tasks.listener_status(layout, asked=asked.get("listener") is not None)
            self.statusBar().showMessage(f"Planned {len(layout.objects)} object(s) with "
                                         f"{layout.planner.name}; {named}.", 8000)

        def make(token):
            listener, note = tasks.choose_listener()
            asked["listener"] = listener
            yield Log(note)
            result = yield from tasks.studio_plan_job(audio_path, settings, token,
                                                      planner=planner, llm_model_path=llm,
                                                      api_key=key, send_audio=send_audio,
                                                      listener=listener)
            tasks.warm_backdrops(result[0], PREVIEW_SIDE)
            return result

        return self.queue.submit(
            "plan", f"Plan ({planner})", make,
            on_finished=done, on_failed=lambda m: self.show_message(m, "error"))

    def render_settings(self, renderer: str | None = None, fps: float | None = None,
                        size: tuple[int, int] | None = None) -> RenderSettings:
        """``size``: the video's width and height (Export's Frame size); None: the layout's."""
        s = self.settings
        width, height = size or (None, None)
        return RenderSettings(renderer=renderer or s.renderer, fps=fps or s.video_fps,
                              seed=s.seed, steps=s.steps, memory_tier=s.memory_tier,
                              labels=s.video_labels, width=width, height=height)

    def output_stem(self) -> str:
        """What renders and exports are called: after the sound now in the project (a project
        keeps its first name when another sound is imported into it)."""
        audio = self.doc.project.audio_path
        if audio is not None:
            return audio.stem
        return self.doc.project.path.stem if self.doc.project.path else "untitled"

    def default_render_path(self) -> Path:
        base = self.doc.project.path.parent / "renders" if self.doc.project.path else data_dir() / "renders"
        stem = self.output_stem()
        k = len(self.doc.project.renders) + 1
        while (base / f"{stem}-{k}.mp4").exists():
            k += 1
        return base / f"{stem}-{k}.mp4"

    def render(self, out_path: str | Path | None = None, *, renderer: str | None = None,
               fps: float | None = None, size: tuple[int, int] | None = None) -> QueuedJob | None:
        layout = self.doc.layout
        if layout is None:
            self.show_message("Plan a layout (Ctrl+L) or add an object first.", "warning")
            return None
        self.banner.hide()
        missing = self.missing_sound()
        if missing:
            self.show_message(f"Cannot render: {missing}", "error")
            return None
        out = Path(out_path) if out_path else self.default_render_path()
        settings = self.render_settings(renderer, fps, size)
        layout = layout.validate()  # a snapshot: later edits do not change this job
        layout = copy.deepcopy(layout)
        audio_path = self.doc.project.audio_path
        device = self.settings.device

        generation = self.doc.generation

        def done(path) -> None:
            if generation != self.doc.generation:  # the file is there, but not this project's
                self.show_message(f"Rendered {path} for the project that was open before; it "
                                  "is not listed in this one.")
                return
            self.doc.add_render(Path(path), settings.renderer, {
                "fps": settings.fps, "seed": settings.seed,
                "size": render_size(layout, settings.width, settings.height)}, layout)
            self.statusBar().showMessage(f"Rendered {Path(path).name}", 5000)
            self.load_thumbnails(Path(path))
            if audio_path is not None:
                self.check_agreement(audio_path, layout, Path(path))

        return self.queue.submit(
            "render", f"Render {out.name} ({settings.renderer})",
            lambda token: tasks.studio_render_job(audio_path, layout, out, settings, token,
                                                  device=device),
            on_finished=done, on_failed=lambda m: self.show_message(m, "error"))

    def missing_sound(self) -> str | None:
        """Why the project's sound cannot be used (moved or deleted since the project was
        saved), with what to do; None when it is there (or the project has none)."""
        audio = self.doc.project.audio_path
        if audio is None or audio.exists():
            return None
        return (f"the project's sound {audio} is not there (moved or deleted). Put it back, "
                "or import it again (Ctrl+I): the layout is kept when its length matches.")

    def check_agreement(self, audio_path: Path, layout, video: Path) -> QueuedJob | None:
        """After a render: does the picture agree with the sound? (spatial and timing scores)

        It runs beside the queue (``concurrent``), as the thumbnails do: the user did not ask for
        it and sees no row for it, and tracking a long render takes minutes (about 4 for a
        10-minute clip), which held up the plan, render or export asked for next. A render
        longer than video tracking takes is checked against its plan instead, and one longer
        than the check takes (``MAX_CHECK_S``: it holds the sound, about 6 GB an hour) is not
        checked: the user did not ask, so a refusal would read as a failure of the render."""
        from engine.spatialize import check_job
        from engine.spatialize.jobs import MAX_CHECK_S
        from engine.spatialize.video import MAX_VIDEO_S
        if layout.duration_s > MAX_CHECK_S:
            self.statusBar().showMessage(
                f"Rendered {video.name}; the picture-and-sound check is skipped for sounds over "
                f"{MAX_CHECK_S / 60:.0f} minutes (spa2v check can score a part of it).", 10000)
            return None
        # Beyond the tracking limit the check failed with "trim the video first": misleading.
        tracked = video if layout.duration_s <= MAX_VIDEO_S else None
        what = "Picture and sound" if tracked else "Plan and sound (too long to track the video)"

        def done(report) -> None:
            self.last_agreement = report
            self.show_message(f"{what}: " + " ".join(report.summary().splitlines()))

        return self.queue.submit(
            "check", f"Check {video.name} against the sound",
            lambda token: check_job(audio_path, layout=layout, video_path=tracked, token=token),
            concurrent=True, helper=True,
            on_finished=done, on_failed=lambda m: self.show_message(f"Check failed: {m}", "warning"))

    def spatialize_dialog(self) -> None:
        """Place a mono sound along the layout's objects and write a stereo (binaural) file."""
        if self.doc.layout is None:
            self.show_message("Plan a layout (Ctrl+L) or add an object first.", "warning")
            return
        mono, _ = QFileDialog.getOpenFileName(self, "Mono sound to place", "",
                                              f"Audio ({AUDIO_PATTERNS})")
        if not mono:
            return
        out, _ = QFileDialog.getSaveFileName(self, "Write the spatialized sound",
                                             str(Path(mono).with_name(Path(mono).stem + "-spatial.wav")),
                                             "WAV (*.wav);;FLAC (*.flac)")
        if out:
            self.spatialize(mono, out)

    def spatialize(self, mono: str | Path, out: str | Path) -> QueuedJob | None:
        from engine.spatialize import SpatializeSettings, spatialize_job
        layout = self.doc.layout
        if layout is None:
            return None
        layout = copy.deepcopy(layout.validate())
        out = Path(out)
        return self.queue.submit(
            "spatialize", f"Spatialize {Path(mono).name}",
            lambda token: spatialize_job(Path(mono), out, layout=layout,
                                         settings=SpatializeSettings(), token=token),
            on_finished=lambda p: self.show_message(f"Wrote {Path(p).name}: the sound now sits "
                                                    "where the objects are."),
            on_failed=lambda m: self.show_message(m, "error"))

    def load_thumbnails(self, video: Path) -> QueuedJob:
        def make(token):
            # QImages are made on the worker too: 160 conversions would stall the window.
            thumbs = yield from tasks.thumbnails_job(video, token)
            return [(t, to_qimage(img)) for t, img in zip(thumbs.times_s, thumbs.images)]
        return self.queue.submit("thumbnails", f"Thumbnails of {video.name}", make,
                                 concurrent=True, helper=True,
                                 on_finished=self.doc.set_thumbnails)

    def cancel_running(self) -> None:
        """Ctrl+.: cancel the job the status bar names (the latest started of those the queue
        lists); press again for the next. It cancelled every running job: an import running
        beside a render, and the window's own thumbnails and picture-sound check."""
        listed = [j for j in self.queue.running() if not j.helper]
        if listed:
            self.queue.cancel(listed[-1])

    def export_dialog(self) -> None:
        if self.doc.layout is None:
            return
        layout, rec = self.doc.layout, self.doc.latest_render()
        current = self.doc.render_is_current(rec)
        dlg = ExportDialog(self.export_base(), renderer=self.settings.renderer,
                           fps=self.settings.video_fps, can_reuse=current,
                           size=self.settings.video_size,
                           layout_size=(layout.width, layout.height),
                           # a render from before sizes were recorded is the layout's size
                           render_size=rec.settings.get("size", render_size(layout))
                           if current else None,
                           parent=self)
        if dlg.exec() == QDialog.DialogCode.Accepted:
            if dlg.chosen_size() != self.settings.video_size:
                self.settings.video_size = dlg.chosen_size()
                self._save_settings()
            self.export(dlg.request())

    def export_base(self) -> Path:
        """Where the Export dialog proposes to write (``.mp4``, ``.json`` added): beside the
        project, named after its sound; never the sound itself, which may be a video."""
        folder = self.doc.project.path.parent if self.doc.project.path else Path.home()
        base = folder / self.output_stem()
        audio = self.doc.project.audio_path
        if audio is not None and same_file(with_suffix_added(base, ".mp4"), audio):
            base = base.with_name(base.name + "-spa2v")
        return base

    def export(self, req: ExportRequest) -> list[QueuedJob]:
        """Write what was asked: the layout JSON now, the video and frames as queued jobs."""
        jobs: list[QueuedJob] = []
        layout = self.doc.layout
        if layout is None:
            return jobs
        try:
            for out in (req.mp4, req.layout_json):  # before anything is written
                if out is not None:
                    refuse_overwriting_inputs(out, [self.doc.project.audio_path])
            if req.layout_json is not None:
                save_layout(layout, req.layout_json)
                self.show_message(f"Wrote the layout to {req.layout_json}")
            if req.mp4 is not None:
                rec = self.doc.latest_render()
                if req.reuse_render and self.doc.render_is_current(rec):
                    jobs.append(self.queue.submit(
                        "export", f"Export {req.mp4.name}",
                        lambda token: _copy_job(rec.path, req.mp4),
                        on_finished=self._exported_video,
                        on_failed=lambda m: self.show_message(m, "error")))
                else:
                    job = self.render(req.mp4, renderer=req.renderer, fps=req.fps,
                                      size=req.size)
                    if job is not None:
                        rendered = job.on_finished
                        job.on_finished = lambda p: (rendered(p), self._exported_video(p))
                        jobs.append(job)
            if req.frames_dir is not None:
                snap = copy.deepcopy(layout)
                settings = self.render_settings(req.renderer, req.fps, req.size)
                jobs.append(self.queue.submit(
                    "export", f"Export frames to {req.frames_dir.name}",
                    lambda token: tasks.png_frames_job(snap, req.frames_dir, settings, token,
                                                       device=self.settings.device),
                    on_finished=lambda p: self.show_message(f"Wrote PNG frames to {p}"),
                    on_failed=lambda m: self.show_message(m, "error")))
        except SpA2VError as e:
            self.show_message(str(e), "error")
        return jobs


    def _exported_video(self, path) -> None:
        """Where the exported MP4 is, in full (the copy of the last render said nothing; a
        render said its file's name only)."""
        self.show_message(f"Exported the video to {path}")

    def download_model(self, name: str) -> QueuedJob:
        def make(token):
            from models.download import download_job
            return download_job(name, token=token)
        return self.queue.submit("download", f"Download {name}", make,
                                 on_finished=lambda _: self.refresh_backends(),
                                 on_failed=lambda m: self.show_message(m, "error"))


def _copy_job(src: Path, dest: Path):
    from engine.jobs import Progress
    yield Progress("export", 0.0)
    tasks.copy_file_atomic(src, dest)
    yield Progress("export", 1.0, 0.0)
    return dest


def render_size(layout, width: int | None = None, height: int | None = None) -> str:
    """"WxH" of a video rendered at ``width`` x ``height`` (None: the layout's), in even
    pixels as the MP4 has them."""
    return f"{(width or layout.width) // 2 * 2}x{(height or layout.height) // 2 * 2}"

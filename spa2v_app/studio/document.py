"""The open project as an observable Qt view-model: state, signals and undoable edits.

Widgets never change the project directly: they call the methods here, which push
``QUndoCommand`` snapshots of the layout onto the undo stack and emit signals the views
subscribe to (the napari pattern: a model with events, views that listen). The project value
itself is the engine's :class:`engine.project.Project`, which knows nothing of Qt.
"""

from __future__ import annotations

import copy
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QImage, QUndoCommand, QUndoStack

from engine.audio import Audio
from engine.audio.loudness import LoudnessTrack
from engine.audio.stereo_kinds import PANNED, SPACED
from engine.cues.types import Cues
from engine.layout import Layout
from engine.project import Project, RenderRecord, load_project, save_project

from .model import layout_edit
from .model.stereo import known_pan_law, known_spacing, known_stereo
from .model.tasks import ImportResult, layout_fingerprint
from .model.video_frames import JUMP_S, VideoFrames
from .model.waveform import Waveform
from .workers import to_qimage

# A layout belongs to a sound when their lengths agree to this (s): a layout for another sound
# has frames that no longer line up with it.
SAME_LENGTH_S = 0.05
# design: a jump of the playhead (a click, a drag) shows the nearest thumbnail at once and the
# exact frame once the playhead has rested this long (a seek decodes up to a keyframe
# interval, x264's 250 frames, too slow to do on every step of a drag)
SETTLE_MS = 150


class LayoutCommand(QUndoCommand):
    """Swap the whole layout between two snapshots (layouts are small: <= 8 objects)."""

    def __init__(self, doc: "StudioDocument", before: Layout | None, after: Layout | None,
                 text: str, select: int | None = None):
        super().__init__(text)
        self.doc, self.before, self.after, self.select = doc, before, after, select

    def redo(self) -> None:
        self.doc._set_layout(copy.deepcopy(self.after), select=self.select)

    def undo(self) -> None:
        self.doc._set_layout(copy.deepcopy(self.before))


class ImportCommand(QUndoCommand):
    """An import over another sound: undo brings back that sound with its layout (undoing
    the layout alone left it over a sound of another length, which every render then
    refused; a sound of the same length, its layout kept, had no undo at all). The sound itself is read again from its file on undo and
    redo (``sound_needed``), so the stack never holds two sounds' samples."""

    def __init__(self, doc: "StudioDocument", before: tuple, after: tuple):
        super().__init__("Import audio")
        self.doc, self.before, self.after = doc, before, after  # (path, cues, layout) each
        self._first = True

    def redo(self) -> None:
        if self._first:  # the import itself: its sound is in memory already
            self._first = False
            self.doc._set_layout(copy.deepcopy(self.after[2]))
            return
        self.doc._swap_sound(*self.after)

    def undo(self) -> None:
        self.doc._swap_sound(*self.before)


class StudioDocument(QObject):
    audio_changed = Signal()
    cues_changed = Signal()
    layout_changed = Signal()
    renders_changed = Signal()
    thumbnails_changed = Signal()
    render_frame_changed = Signal()  # a frame the last render_frame stood in for is decoded
    time_changed = Signal(float)
    selection_changed = Signal(int)  # object id, -1 for none
    dirty_changed = Signal(bool)
    path_changed = Signal()
    stereo_changed = Signal(str)  # how the sound was recorded (engine.audio.stereo_kinds)
    message = Signal(str, str)  # text, level (info / warning / error)
    sound_needed = Signal(object)  # Path: an undo or redo put this sound back; read it again

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.project = Project()
        self.audio: Audio | None = None
        self.waveform: Waveform | None = None
        self.loudness: LoudnessTrack | None = None  # the mix's level, for the preview's pulses
        self.thumbnails: list[tuple[float, QImage]] = []
        # the last render, open for its frames at the playhead (model/video_frames.py)
        self._frames: VideoFrames | None = None
        self._frames_key: tuple | None = None
        self._frame_image: tuple[float, QImage] | None = None
        self._asked: tuple[float, QImage | None] | None = None  # the last time asked, its answer
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(SETTLE_MS)
        self._settle.timeout.connect(self._settled)
        self.undo_stack = QUndoStack(self)
        self.undo_stack.cleanChanged.connect(self._clean_changed)
        self.time_s = 0.0
        self.selected_id = -1
        self._extra_dirty = False
        # Which project is open: bumped by New, Open and Recover, so that a job's result that
        # arrives afterwards (an import, a plan, a render) is not put into another project.
        self.generation = 0

    def _clean_changed(self, _clean: bool) -> None:
        self.dirty_changed.emit(self.dirty)

    # -- state --------------------------------------------------------------------------------
    @property
    def layout(self) -> Layout | None:
        return self.project.layout

    @property
    def cues(self) -> Cues | None:
        return self.project.cues

    @property
    def duration_s(self) -> float:
        if self.audio is not None:
            return self.audio.duration_s
        if self.layout is not None:
            return self.layout.duration_s
        return self.cues.duration_s if self.cues is not None else 0.0

    @property
    def stereo(self) -> str:
        """How the project's sound was recorded ("How was this recorded?"): what planning
        reads it as (``PlanSettings.stereo``); kept in the project's settings."""
        return known_stereo(self.project.settings.get("stereo"))

    @property
    def spacing_m(self) -> float | None:
        """A spaced pair's microphone spacing (m) as the user gave it (``PlanSettings.
        spacing_m``); ``None``: not known, or the sound is not read as a spaced pair."""
        if self.stereo != SPACED:
            return None
        return known_spacing(self.project.settings.get("spacing_m"))

    def set_spacing_m(self, spacing_m: float | None) -> None:
        self._set_stereo_setting("spacing_m", spacing_m, known_spacing)

    @property
    def pan_law(self) -> str | None:
        """A pan-pot mix's pan law as the user gave it (``PlanSettings.pan_law``); ``None``:
        not known (constant power is assumed), or the sound is not read as a pan-pot mix."""
        if self.stereo != PANNED:
            return None
        return known_pan_law(self.project.settings.get("pan_law"))

    def set_pan_law(self, law: str | None) -> None:
        self._set_stereo_setting("pan_law", law, known_pan_law)

    def _set_stereo_setting(self, key: str, given, known) -> None:
        """Keep a project setting of how the sound was recorded (``known`` cleans the value;
        ``None`` removes it) and say that the reading changed, where it did."""
        value, before = known(given), known(self.project.settings.get(key))
        if value is None:
            self.project.settings.pop(key, None)
        else:
            self.project.settings[key] = value
        if value != before:
            self.mark_dirty()
            self.stereo_changed.emit(self.stereo)

    def set_stereo(self, kind: str) -> None:
        kind, before = known_stereo(kind), self.stereo
        self.project.settings["stereo"] = kind
        if kind != before:
            self.mark_dirty()
            self.stereo_changed.emit(kind)

    @property
    def dirty(self) -> bool:
        return self._extra_dirty or not self.undo_stack.isClean()

    def mark_dirty(self) -> None:
        if not self._extra_dirty:
            self._extra_dirty = True
            self.dirty_changed.emit(True)

    def mark_clean(self) -> None:
        self._extra_dirty = False
        self.undo_stack.setClean()
        self.dirty_changed.emit(False)

    @property
    def title(self) -> str:
        return self.project.path.name if self.project.path else "Untitled"

    def current_frame(self) -> int:
        """The layout frame under the playhead (frame i covers [i, i+1) * duration / N)."""
        lay = self.layout
        if lay is None:
            return 0
        return int(min(lay.num_frames - 1, max(0, self.time_s * lay.num_frames / lay.duration_s)))

    def frame_time(self, frame: int) -> float:
        """The middle of a frame's time span (where the playhead goes to show that frame)."""
        lay = self.layout
        return 0.0 if lay is None else (frame + 0.5) * lay.duration_s / lay.num_frames

    def set_time(self, t: float) -> None:
        t = max(0.0, min(float(t), self.duration_s or 0.0))
        if abs(t - self.time_s) > 1e-9:
            self.time_s = t
            self.time_changed.emit(t)

    def step_frame(self, delta: int) -> None:
        """To the layout frame ``delta`` away; before a plan, the cue frame (the frames the
        import measured, which the timeline's lanes show): Left and Right did nothing then."""
        if self.layout is not None:
            frame = min(self.layout.num_frames - 1, max(0, self.current_frame() + delta))
            self.set_time(self.frame_time(frame))
        elif self.cues is not None and self.cues.num_frames > 0:
            n, d = self.cues.num_frames, self.cues.duration_s
            frame = int(min(n - 1, max(0, self.time_s * n / d))) + delta
            self.set_time((min(n - 1, max(0, frame)) + 0.5) * d / n)

    def select(self, object_id: int) -> None:
        if object_id != self.selected_id:
            self.selected_id = object_id
            self.selection_changed.emit(object_id)

    # -- loading ------------------------------------------------------------------------------
    def new_project(self) -> None:
        self.generation += 1
        self.project = Project()
        self.audio = self.waveform = self.loudness = None
        self.thumbnails = []
        self.undo_stack.clear()
        self.selected_id = -1
        self.time_s = 0.0
        self._emit_all()
        self.mark_clean()

    def apply_import(self, result: ImportResult) -> None:
        """A finished import: new audio, its cues and waveform. A layout made for other audio
        (a different length) is dropped, since its frames would no longer line up."""
        before = (self.project.audio_path, self.project.cues, self.layout)
        self.project.audio_path = result.path
        self.project.cues = result.cues
        self.audio, self.waveform = result.audio, result.waveform
        self.loudness = result.loudness
        fits = self.layout is None or self._fits(self.layout, result.audio)
        # Over another sound, the import is one undo step whether or not the layout stays
        # (a sound of the same length was replaced with no way back).
        if before[0] is not None or not fits:
            self.undo_stack.push(ImportCommand(
                self, before, (result.path, result.cues, self.layout if fits else None)))
        if self.project.name == "Untitled":
            self.project.name = result.path.stem
        self.time_s = 0.0
        self.mark_dirty()
        self.audio_changed.emit()
        self.cues_changed.emit()
        self.time_changed.emit(0.0)

    def apply_plan(self, layout: Layout) -> None:
        """A new plan replaces the layout as one undoable step."""
        self.undo_stack.push(LayoutCommand(self, self.layout, layout, "Plan layout",
                                           select=layout.objects[0].id if layout.objects else -1))

    def add_render(self, path: Path, renderer: str, settings: dict, layout: Layout) -> None:
        """A finished render of ``layout``: the snapshot the render was queued with, not the
        layout now (edits made while it ran are not in the video)."""
        settings = dict(settings, layout=layout_fingerprint(layout))
        self.project.renders.append(RenderRecord(Path(path), renderer, settings=settings))
        self.mark_dirty()
        self.renders_changed.emit()

    def set_thumbnails(self, thumbs: list[tuple[float, QImage]]) -> None:
        """Decoded frames of the last render, ``(start time s, image)`` in time order."""
        self.thumbnails = list(thumbs)
        self._asked = None  # an answer that was a thumbnail (or none) may be another now
        self.thumbnails_changed.emit()

    def latest_render(self) -> RenderRecord | None:
        existing = [r for r in self.project.renders if r.path.exists()]
        return existing[-1] if existing else None

    def render_is_current(self, record: RenderRecord | None) -> bool:
        return record is not None and record.settings.get("layout") == layout_fingerprint(self.layout)

    def render_frame(self, t: float) -> QImage | None:
        """The last render's frame at ``t`` s, decoded from its file as the playhead moves
        (every frame during playback, however long the video; the timeline's thumbnails are
        at most 160). A jump (backwards, or more than ``JUMP_S`` ahead of the time asked
        before: a click, a drag) shows the nearest thumbnail at once and the exact frame when
        the playhead rests (``SETTLE_MS``; ``render_frame_changed`` then); a step forward, as
        playback makes, always gets the exact frame. ``None`` without a render; the thumbnail
        where the file cannot be read."""
        frames = self._render_frames()  # (a new or redone render forgets the last answer)
        if self._asked is not None and self._asked[0] == t:  # the preview, then the canvas
            return self._asked[1]
        prev = self._asked[0] if self._asked is not None else None
        if frames is None:
            image = self.thumbnail_at(t)
        elif (self.thumbnails and frames.is_jump(t)
              and not (prev is not None and 0.0 < t - prev <= JUMP_S)):
            self._settle.start()
            image = self.thumbnail_at(t)
        else:
            image = self._decoded(frames, t)
        self._asked = (t, image)
        return image

    def _render_frames(self) -> VideoFrames | None:
        rec = self.latest_render()
        key = None
        if rec is not None:
            try:
                st = rec.path.stat()
                key = (str(rec.path), st.st_mtime_ns, st.st_size)  # a render redone in place
            except OSError:
                pass
        if key != self._frames_key:
            self.close_render_frames()
            self._asked = None
            self._frames_key = key
            if key is not None:
                try:
                    self._frames = VideoFrames(rec.path)
                except Exception:  # noqa: BLE001 - an unreadable file: the thumbnails stand in
                    self._frames = None
        return self._frames

    def _decoded(self, frames: VideoFrames, t: float) -> QImage | None:
        try:
            image = frames.frame_at(t)
        except Exception:  # noqa: BLE001 - a file cut short or damaged: thumbnails from here on
            frames.close()
            self._frames = None
            return self.thumbnail_at(t)
        if image is None:
            return self.thumbnail_at(t)
        # the preview and the canvas ask for the same frame: converted once
        if self._frame_image is None or self._frame_image[0] != frames.time_s:
            self._frame_image = (frames.time_s, to_qimage(image))
        return self._frame_image[1]

    def _settled(self) -> None:
        frames = self._render_frames()
        if frames is not None:
            self._asked = (self.time_s, self._decoded(frames, self.time_s))
            self.render_frame_changed.emit()

    def close_render_frames(self) -> None:
        if self._frames is not None:
            self._frames.close()
        self._frames = self._frames_key = self._frame_image = None

    def thumbnail_at(self, t: float) -> QImage | None:
        best = None
        for ts, img in self.thumbnails:
            if ts <= t + 1e-6:
                best = img
            else:
                break
        return best

    def save(self, path: str | Path) -> Path:
        dest = save_project(self.project, path)
        self.mark_clean()
        self.path_changed.emit()
        return dest

    def load_project(self, path: str | Path) -> Project:
        """Open a project file; the caller re-imports its audio (on a worker) afterwards."""
        project = load_project(path)
        self.set_project(project)
        return project

    def set_project(self, project: Project, *, dirty: bool = False) -> None:
        self.generation += 1
        self.project = project
        self.audio = self.waveform = self.loudness = None
        self.thumbnails = []
        self.undo_stack.clear()
        self.selected_id = project.layout.objects[0].id if project.layout and project.layout.objects else -1
        self.time_s = 0.0
        self._emit_all()
        self.mark_clean()
        if dirty:
            self.mark_dirty()
        self.path_changed.emit()
        for note in project.notes:
            self.message.emit(note, "warning")

    def attach_audio(self, result: ImportResult) -> str | None:
        """Audio re-read for an opened project: keep the project's own cues and layout (the
        user's work). Returns a warning when the sound no longer fits them: the file was
        replaced by another of a different length since the project was saved."""
        self.audio, self.waveform = result.audio, result.waveform
        self.loudness = result.loudness
        if self.project.cues is None:
            self.project.cues = result.cues
        self.audio_changed.emit()
        self.cues_changed.emit()
        if self.layout is not None and not self._fits(self.layout, result.audio):
            return (f"{result.path.name} is {result.audio.duration_s:.1f} s long, but this "
                    f"project's layout is {self.layout.duration_s:.1f} s: the sound file has "
                    "changed since the project was saved. Import the original sound, or plan "
                    "again (Ctrl+L).")
        return None

    @staticmethod
    def _fits(layout: Layout, audio: Audio) -> bool:
        return abs(layout.duration_s - audio.duration_s) <= SAME_LENGTH_S

    def _emit_all(self) -> None:
        self.stereo_changed.emit(self.stereo)
        self.audio_changed.emit()
        self.cues_changed.emit()
        self.layout_changed.emit()
        self.renders_changed.emit()
        self.thumbnails_changed.emit()
        self.selection_changed.emit(self.selected_id)
        self.time_changed.emit(self.time_s)

    # -- undoable edits -----------------------------------------------------------------------
    def _set_layout(self, layout: Layout | None, *, select: int | None = None) -> None:
        self.project.layout = layout
        ids = {o.id for o in layout.objects} if layout else set()
        if select is not None and (select in ids or select == -1):
            self.selected_id = select
        elif self.selected_id not in ids:
            self.selected_id = -1
        self.layout_changed.emit()
        self.selection_changed.emit(self.selected_id)

    def _swap_sound(self, path: Path | None, cues: Cues | None, layout: Layout | None) -> None:
        """Undo or redo of an import: that sound, its cues and layout; the samples are read
        again (the window answers ``sound_needed``)."""
        self.project.audio_path, self.project.cues = path, cues
        self.audio = self.waveform = self.loudness = None
        self._set_layout(copy.deepcopy(layout))
        self.set_time(0.0)
        self.audio_changed.emit()
        self.cues_changed.emit()
        if path is not None:
            self.sound_needed.emit(path)

    def _edit(self, text: str, after: Layout, select: int | None = None) -> None:
        self.undo_stack.push(LayoutCommand(self, self.layout, after, text, select))

    def move_box(self, object_id: int, frame: int, box) -> None:
        self._edit("Move box", layout_edit.set_box(self.layout, object_id, frame, box), object_id)

    def nudge_box(self, object_id: int, frame: int, dx: int, dy: int) -> None:
        """Move the box ``dx, dy`` steps of :data:`layout_edit.NUDGE` (the keyboard's drag);
        one undo step a press, none where the frame's edge stops it or the object is hidden."""
        self._step_box("Move box", object_id, frame, (dx, dy, dx, dy))

    def grow_box(self, object_id: int, frame: int, dw: int, dh: int) -> None:
        """Move the box's right and bottom edges ``dw, dh`` steps of :data:`layout_edit.NUDGE`
        (the keyboard's drag of an edge: a drag was the only way to resize); as
        :meth:`nudge_box`, one undo step a press, none where nothing changes."""
        self._step_box("Resize box", object_id, frame, (0, 0, dw, dh))

    def _step_box(self, text: str, object_id: int, frame: int, steps) -> None:
        box = self.layout.object(object_id).boxes[frame]
        if box is None:
            return
        step = layout_edit.NUDGE
        after = layout_edit.set_box(self.layout, object_id, frame,
                                    tuple(c + k * step for c, k in zip(box, steps)))
        if after.object(object_id).boxes[frame] != layout_edit.clamp_box(box):
            self._edit(text, after, object_id)

    def hide_box(self, object_id: int, frame: int) -> None:
        self._edit("Hide object on frame",
                   layout_edit.set_box(self.layout, object_id, frame, None), object_id)

    def set_keyframe(self, object_id: int, frame: int) -> None:
        self._edit("Set keyframe", layout_edit.set_keyframe(self.layout, object_id, frame),
                   object_id)

    def remove_keyframe(self, object_id: int, frame: int) -> None:
        self._edit("Remove keyframe", layout_edit.remove_keyframe(self.layout, object_id, frame),
                   object_id)

    def add_object(self, label: str = "object", prompt: str | None = None) -> int:
        layout = self.layout
        if layout is None:
            layout = layout_edit.empty_layout(self.duration_s or 1.0,
                                              int(self.project.settings.get("plan_frames", 16)))
        after, new_id = layout_edit.add_object(layout, label, prompt=prompt)
        self._edit(f"Add {after.object(new_id).label}", after, new_id)
        return new_id

    def delete_object(self, object_id: int) -> None:
        label = self.layout.object(object_id).label
        self._edit(f"Delete {label}", layout_edit.delete_object(self.layout, object_id), -1)

    def update_object(self, object_id: int, **changes) -> None:
        self._edit("Edit object", layout_edit.update_object(self.layout, object_id, **changes),
                   object_id)

    def rename_as_heard(self, object_id: int, label: str) -> None:
        """Take another of the names the object was heard as: one undo step."""
        self._edit(f"Rename to {label}", layout_edit.update_object(
            self.layout, object_id, label=label), object_id)

    def update_scene(self, *, caption: str | None = None, background: str | None = None) -> None:
        after = copy.deepcopy(self.layout)
        if caption is not None:
            after.caption = " ".join(caption.split())
        if background is not None:
            after.background = " ".join(background.split())
        self._edit("Edit scene", after.validate())

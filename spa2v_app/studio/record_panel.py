"""The recording panel: input device, channels, sample rate, how the input records (the kind
of stereo and, for a spaced pair, how far apart its microphones are, for a pan-pot mix its
pan law; all remembered per device), level meters, record/stop.

The recording goes to a WAV in the recordings folder as it happens (see :mod:`.recording`);
when it stops, for whatever reason, the panel hands the file to the window to import.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QLinearGradient, QPainter
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel,
                               QPushButton, QSizePolicy, QVBoxLayout, QWidget)

from engine.audio.io import SILENCE_DBFS
from engine.audio.stereo_kinds import (DEFAULT_PAN_LAW, MAX_SPACING_M, MIN_SPACING_M, PANNED,
                                       SPACED)

from . import theme
from .accessible import name_form_fields
from .model.recording import (SAMPLE_RATES, Recorder, RecordingResult, channel_choices,
                              list_input_devices, overflow_note)
from .model.stereo import (known_pan_law, known_spacing, known_stereo, pan_law_choices,
                           stereo_choices)

STEREO_QUESTION = "How was this recorded?"
SILENT_NOTE = (f"Nothing louder than {SILENCE_DBFS:.0f} dBFS yet: as it stands this take would "
               "be refused as silent. Check the input (mute switch, gain, the chosen device).")


class ChoiceCombo(QComboBox):
    """A choice of the engine's (``(value, label, description)`` triples), each entry's
    description its tooltip, and the whole box's tooltip ``question``, ``joint``, the current
    entry and its description; ``show_value`` selects without announcing it."""

    def __init__(self, choices, question: str, joint: str = " ",
                 parent: QWidget | None = None):
        super().__init__(parent)
        self._question, self._joint = question, joint
        for k, (value, label, description) in enumerate(choices):
            self.addItem(label, value)
            self.setItemData(k, description, Qt.ItemDataRole.ToolTipRole)
        self.setAccessibleName(question)
        self.currentIndexChanged.connect(self._update_tip)
        self._update_tip()

    def show_value(self, value) -> None:
        """Show ``value`` without announcing it (the caller is syncing, not the user
        choosing)."""
        self.blockSignals(True)
        self.setCurrentIndex(max(0, self.findData(value)))
        self.blockSignals(False)
        self._update_tip()

    def _update_tip(self, *_) -> None:
        tip = self.itemData(self.currentIndex(), Qt.ItemDataRole.ToolTipRole) or ""
        self.setToolTip(f"{self._question}{self._joint}{self.currentText()}: {tip}")


class StereoCombo(ChoiceCombo):
    """"How was this recorded?": Auto-detect, then each kind of stereo, with the engine's
    description as each entry's tooltip; ``currentData()`` is the kind."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(stereo_choices(), STEREO_QUESTION, parent=parent)

    def kind(self) -> str:
        return known_stereo(self.currentData())

    def set_kind(self, kind: str) -> None:
        """Show ``kind`` without announcing it (the caller is syncing, not the user choosing)."""
        self.show_value(known_stereo(kind))

def elapsed_text(t: float) -> str:
    """The record timer: "4:07.3", and past an hour "1:04:07.3" (as the timeline's ruler
    counts), not "64:07.3"."""
    tenths = int(t * 10)  # truncated: the timer never shows a tenth not yet recorded
    h, rest = divmod(tenths, 36000)
    m, rest = divmod(rest, 600)
    sec = f"{rest // 10:02d}.{rest % 10}"
    return f"{h}:{m:02d}:{sec}" if h else f"{m}:{sec}"


METER_FLOOR_DB = -60.0
CLIP_HOLD_S = 1.5


class LevelMeter(QWidget):
    """One bar per channel, green to red, with a peak hold and a clip light."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.levels_db: list[float] = [METER_FLOOR_DB, METER_FLOOR_DB]
        self.peaks_db: list[float] = [METER_FLOOR_DB, METER_FLOOR_DB]
        self.clip_until: list[float] = [0.0, 0.0]
        self.names = ["L", "R"]
        self.setMinimumHeight(34)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_channels(self, names: list[str]) -> None:
        self.names = names
        self.levels_db = [METER_FLOOR_DB] * len(names)
        self.peaks_db = [METER_FLOOR_DB] * len(names)
        self.clip_until = [0.0] * len(names)
        self.setMinimumHeight(17 * len(names))
        self.update()

    def push(self, peak_db, clipped) -> None:
        now = time.monotonic()
        for k, (db, clip) in enumerate(zip(peak_db, clipped)):
            if k >= len(self.levels_db):
                break
            # Fast attack, slow release, as meters in audio tools do.
            self.levels_db[k] = max(db, self.levels_db[k] - 1.5)
            self.peaks_db[k] = max(db, self.peaks_db[k] - 0.3)
            if clip:
                self.clip_until[k] = now + CLIP_HOLD_S
        self.update()

    def reset(self) -> None:
        self.set_channels(self.names)

    def clipping(self) -> bool:
        return any(t > time.monotonic() for t in self.clip_until)

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        n = max(1, len(self.names))
        row = self.height() / n
        for k, name in enumerate(self.names):
            y = k * row + 2
            bar = QRectF(18, y, self.width() - 40, row - 4)
            p.setPen(theme.MUTED)
            p.drawText(QRectF(0, y, 16, row - 4), Qt.AlignmentFlag.AlignCenter, name)
            p.fillRect(bar, theme.BASE)
            frac = (max(METER_FLOOR_DB, self.levels_db[k]) - METER_FLOOR_DB) / -METER_FLOOR_DB
            grad = QLinearGradient(bar.left(), 0, bar.right(), 0)
            grad.setColorAt(0.0, theme.OK)
            grad.setColorAt(0.75, theme.OK)
            grad.setColorAt(0.88, theme.WARN)
            grad.setColorAt(1.0, theme.RECORD)
            p.fillRect(QRectF(bar.left(), bar.top(), bar.width() * frac, bar.height()), grad)
            pk = (max(METER_FLOOR_DB, self.peaks_db[k]) - METER_FLOOR_DB) / -METER_FLOOR_DB
            p.fillRect(QRectF(bar.left() + bar.width() * pk - 1, bar.top(), 2, bar.height()),
                       theme.TEXT)
            clip = self.clip_until[k] > time.monotonic()
            p.setBrush(theme.RECORD if clip else QColor("#3a2224"))
            p.setPen(Qt.PenStyle.NoPen)
            p.drawRoundedRect(QRectF(self.width() - 18, y + 1, 16, row - 6), 3, 3)
        p.end()


SPACING_QUESTION = "Microphones apart"


class SpacingBox(QDoubleSpinBox):
    """A spaced pair's spacing in centimetres, optional: its lowest position reads "Not
    known" (the engine then estimates it). ``spacing_m()`` is what planning gets."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        lo, hi = 100 * MIN_SPACING_M, 100 * MAX_SPACING_M
        self.setRange(lo - 1, hi)  # one step below the engine's least: "not known"
        self.setDecimals(0)
        self.setSingleStep(1)
        self.setSuffix(" cm")
        self.setSpecialValueText("Not known")
        self.setValue(self.minimum())
        self.setAccessibleName(SPACING_QUESTION)
        self.setToolTip(f"{SPACING_QUESTION}: the distance between the two microphones of a "
                        f"spaced pair ({lo:g}-{hi:g} cm; a phone held sideways: about 15). "
                        f"Leave it at 'Not known' to let the sound tell.")

    def spacing_m(self) -> float | None:
        return known_spacing(self.value() / 100 if self.value() > self.minimum() else None)

    def set_spacing_m(self, spacing_m: float | None) -> None:
        """Show ``spacing_m`` without announcing it (the caller is syncing)."""
        value = known_spacing(spacing_m)
        self.blockSignals(True)
        self.setValue(self.minimum() if value is None else 100 * value)
        self.blockSignals(False)


PAN_LAW_QUESTION = "Pan law"


class PanLawCombo(ChoiceCombo):
    """A pan-pot mix's pan law, with the engine's description of each as its tooltip;
    ``pan_law()`` is what planning gets (constant power, the engine's assumption, shown
    when not known)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(pan_law_choices(), PAN_LAW_QUESTION, " of the mix: ", parent=parent)

    def pan_law(self) -> str | None:
        return known_pan_law(self.currentData())

    def set_pan_law(self, law: str | None) -> None:
        """Show ``law`` (the default when not known) without announcing it (the caller is
        syncing)."""
        self.show_value(known_pan_law(law) or DEFAULT_PAN_LAW)


class RecordPanel(QWidget):
    recorded = Signal(object)  # RecordingResult
    message = Signal(str, str)
    recording_changed = Signal(bool)
    stereo_changed = Signal(str)  # the user answered "How was this recorded?" for the device

    def __init__(self, folder_fn, parent: QWidget | None = None, *, stream_factory=None,
                 list_devices=list_input_devices, settings=None):
        """``folder_fn()`` gives the recordings folder at the moment recording starts;
        ``list_devices()`` gives ``(devices, problem)`` and is asked again each time the panel
        is shown, so a microphone plugged in after start is found. ``settings`` (a
        :class:`.model.settings.StudioSettings`) remembers how each device records."""
        super().__init__(parent)
        self.settings = settings
        self.folder_fn = folder_fn
        self.stream_factory = stream_factory
        self.list_devices = list_devices
        self.recorder: Recorder | None = None
        self.devices, self.devices_problem = [], None
        self.device_box = QComboBox()
        self.channel_box = QComboBox()
        self.rate_box = QComboBox()
        self._fill_rates(None)
        self.stereo_box = StereoCombo()
        self.spacing_box = SpacingBox()
        self.pan_law_box = PanLawCombo()
        # The toolbar asks the same of the project's sound: said apart by a screen reader.
        for box in (self.stereo_box, self.spacing_box, self.pan_law_box):
            box.setAccessibleName(f"{box.accessibleName()} (this input)")
        self.meter = LevelMeter()
        self.button = QPushButton("Record")
        self.button.setObjectName("record")
        self.button.setCheckable(True)
        self.button.setIcon(theme.icon("record"))
        self.button.setToolTip("Record (Ctrl+R); the sound goes to disk as it is recorded")
        # Reached by Tab, not taken by a click: after a click on Record, Space must stay
        # play/pause (the window's key), not press Stop on a take.
        self.button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.button.clicked.connect(self._clicked)
        self.elapsed = QLabel("0:00.0")
        self.elapsed.setStyleSheet("font: 600 15px monospace;")
        self.note = QLabel("")
        self.note.setObjectName("hint")
        self.note.setWordWrap(True)
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Input", self.device_box)
        form.addRow("Channels", self.channel_box)
        form.addRow("Rate", self.rate_box)
        stereo_label = QLabel("How was this recor&ded?")
        stereo_label.setBuddy(self.stereo_box)
        form.addRow(stereo_label)
        form.addRow(self.stereo_box)
        self.spacing_label = QLabel(f"{SPACING_QUESTION} (spaced pair)")
        self.spacing_label.setBuddy(self.spacing_box)
        form.addRow(self.spacing_label)
        form.addRow(self.spacing_box)
        self.pan_law_label = QLabel(f"{PAN_LAW_QUESTION} (pan-pot mix)")
        self.pan_law_label.setBuddy(self.pan_law_box)
        form.addRow(self.pan_law_label)
        form.addRow(self.pan_law_box)
        name_form_fields(form)
        row = QHBoxLayout()
        row.addWidget(self.button)
        row.addStretch(1)
        row.addWidget(self.elapsed)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        lay.addLayout(form)
        lay.addWidget(self.meter)
        lay.addLayout(row)
        lay.addWidget(self.note)
        lay.addStretch(1)
        self.device_box.currentIndexChanged.connect(self._device_changed)
        self.channel_box.currentIndexChanged.connect(self._channels_changed)
        self.stereo_box.currentIndexChanged.connect(self._stereo_chosen)
        self.spacing_box.valueChanged.connect(self._spacing_chosen)
        self.pan_law_box.currentIndexChanged.connect(self._pan_law_chosen)
        self.timer = QTimer(self)
        self.timer.setInterval(50)
        self.timer.timeout.connect(self._poll)
        self.refresh_devices()

    # -- devices ------------------------------------------------------------------------------
    def showEvent(self, event) -> None:
        if not self.recording:
            self.refresh_devices()
        super().showEvent(event)

    def refresh_devices(self, devices=None, problem=None) -> None:
        """List input devices (``devices`` may be given: the tests and screenshots); the
        chosen one stays chosen if it is still there."""
        if devices is None:
            devices, problem = self.list_devices()
        previous, old_problem = self.current_device(), self.devices_problem
        self.devices, self.devices_problem = devices, problem
        self.device_box.blockSignals(True)
        self.device_box.clear()
        for d in devices:
            self.device_box.addItem(d.label, d.index)
        if previous is not None:
            names = [d.name for d in devices]
            if previous.name in names:
                self.device_box.setCurrentIndex(names.index(previous.name))
        self.device_box.blockSignals(False)
        usable = bool(devices)
        for w in (self.device_box, self.channel_box, self.rate_box, self.stereo_box,
                  self.spacing_box, self.pan_law_box, self.button):
            w.setEnabled(usable)
        self.button.setToolTip("Record (Ctrl+R)" if usable else (problem or "No input device"))
        self._device_changed()
        if problem:
            self.note.setText(problem)
        elif old_problem and self.note.text() == old_problem:
            self.note.setText("")

    def current_device(self):
        i = self.device_box.currentIndex()
        return self.devices[i] if 0 <= i < len(self.devices) else None

    def _device_changed(self, *_) -> None:
        dev = self.current_device()
        self.channel_box.blockSignals(True)
        self.channel_box.clear()
        if dev is not None:
            for label, chans in channel_choices(dev.max_channels):
                self.channel_box.addItem(label, chans)
        self._fill_rates(dev)
        self.channel_box.blockSignals(False)
        if dev is not None and self.settings is not None:
            self.stereo_box.set_kind(self.settings.stereo_for(dev.name))
            self.spacing_box.set_spacing_m(self.settings.spacing_for(dev.name))
            self.pan_law_box.set_pan_law(self.settings.pan_law_for(dev.name))
        self._show_spacing()
        self._channels_changed()

    def _fill_rates(self, dev) -> None:
        """The usual rates, and the device's own when it is another (a headset at 16 kHz, a
        webcam at 32 kHz, which may not open at the others); the device's own is chosen."""
        rates = list(SAMPLE_RATES)
        own = int(round(dev.default_rate)) if dev is not None and dev.default_rate > 0 else None
        if own is not None and own not in rates:
            rates = sorted(rates + [own])
        self.rate_box.clear()
        for sr in rates:
            self.rate_box.addItem(f"{sr / 1000:g} kHz" + (" (the device's)" if sr == own else ""),
                                  sr)
        self.rate_box.setCurrentIndex(rates.index(own if own is not None else 48000))

    def stereo(self) -> str:
        """How the chosen input records (what its recordings are read as)."""
        return self.stereo_box.kind()

    def spacing_m(self) -> float | None:
        """The chosen input's microphone spacing (m) when it records as a spaced pair and the
        user gave one; ``None`` otherwise."""
        return self.spacing_box.spacing_m() if self.stereo() == SPACED else None

    def pan_law(self) -> str | None:
        """The chosen input's pan law when it records as a pan-pot mix (the one shown:
        constant power until the user says otherwise); ``None`` otherwise."""
        return self.pan_law_box.pan_law() if self.stereo() == PANNED else None

    def _show_spacing(self) -> None:
        # Only a spaced pair has a spacing to give, only a pan-pot mix a pan law (hidden, not
        # disabled: nothing to say).
        for w in (self.spacing_label, self.spacing_box):
            w.setVisible(self.stereo() == SPACED)
        for w in (self.pan_law_label, self.pan_law_box):
            w.setVisible(self.stereo() == PANNED)

    def _about(self) -> dict:
        """How the chosen input records, as a recording's marker keeps it."""
        dev = self.current_device()
        return {"device": dev.name if dev else None, "stereo": self.stereo(),
                "spacing_m": self.spacing_m(), "pan_law": self.pan_law()}

    def _chosen(self, remember: str, value) -> None:
        """One of the input's stereo settings changed: remembered for this device (``remember``
        names the Settings method), told to a recording under way (its marker), and signalled
        (the window saves the settings on it)."""
        dev = self.current_device()
        if dev is not None and self.settings is not None:
            getattr(self.settings, remember)(dev.name, value)
        if self.recorder is not None:
            self.recorder.set_about(self._about())
        self.stereo_changed.emit(self.stereo())

    def _stereo_chosen(self, *_) -> None:
        self._show_spacing()
        self._chosen("remember_stereo", self.stereo())

    def _spacing_chosen(self, *_) -> None:
        self._chosen("remember_spacing", self.spacing_box.spacing_m())

    def _pan_law_chosen(self, *_) -> None:
        self._chosen("remember_pan_law", self.pan_law_box.pan_law())

    def _channels_changed(self, *_) -> None:
        chans = self.channel_box.currentData() or (0, 1)
        self.meter.set_channels(["L", "R"] if len(chans) == 2 else ["M"])
        dev = self.current_device()
        if dev is not None and dev.max_channels < 2:
            self.note.setText("This input is mono: the video cannot place sounds left or right. "
                              "Use a stereo microphone or interface for placement.")
        elif len(chans) == 1:
            self.note.setText("Recording one channel (mono): sounds will be placed in the centre.")
        elif dev is not None:
            self.note.setText("")

    # -- recording ----------------------------------------------------------------------------
    @property
    def recording(self) -> bool:
        return self.recorder is not None

    def toggle(self) -> None:
        if not self.button.isEnabled():
            self.message.emit(self.devices_problem or "No input device.", "warning")
            return
        self.stop() if self.recording else self.start()

    def _clicked(self, checked: bool) -> None:
        self.start() if checked else self.stop()

    def start(self) -> None:
        dev = self.current_device()
        if self.recording or dev is None:
            return
        chans = tuple(self.channel_box.currentData() or (0, 1))
        self.recorder = Recorder(Path(self.folder_fn()), device=dev.index, channels=chans,
                                 sample_rate=int(self.rate_box.currentData()),
                                 stream_factory=self.stream_factory, about=self._about())
        try:
            path = self.recorder.start()
        except RuntimeError as e:
            self.recorder = None
            self.button.setChecked(False)
            self.message.emit(str(e), "error")
            return
        self.meter.reset()
        self.button.setChecked(True)
        self.button.setText("Stop")
        self.button.setIcon(theme.icon("stop", QColor("white")))
        for w in (self.device_box, self.channel_box, self.rate_box):
            w.setEnabled(False)
        self.note.setText(f"Recording to {path}")
        self.timer.start()
        self.recording_changed.emit(True)

    def stop(self, *, offer_at_next_start: bool = False) -> RecordingResult | None:
        """Stop and hand the recording to the window to import (its marker stays until the
        window calls :func:`.model.recording.forget_recording`, once the project holds it);
        with ``offer_at_next_start`` (the app is closing) it is left for the next start to
        offer instead."""
        if self.recorder is None:
            return None
        rec, self.recorder = self.recorder, None
        self.timer.stop()
        result = rec.stop(then="offer" if offer_at_next_start else "hold")
        self.meter.reset()
        self.button.setChecked(False)
        self.button.setText("Record")
        self.button.setIcon(theme.icon("record"))
        for w in (self.device_box, self.channel_box, self.rate_box):
            w.setEnabled(True)
        self.note.setText(f"Saved {result.duration_s:.1f} s to {result.path.name}"
                          + (f" ({result.error})" if result.error else ""))
        self.recording_changed.emit(False)
        if not offer_at_next_start:
            self.recorded.emit(result)
        return result

    def _poll(self) -> None:
        rec = self.recorder
        if rec is None:
            return
        lv = rec.levels()
        self.meter.push(lv.peak_db, lv.clipped)
        self.elapsed.setText(elapsed_text(rec.elapsed_s))
        if any(lv.clipped):
            self.note.setText("Clipping: lower the input gain (left/right levels are unreliable "
                              "when clipped).")
        elif rec.xruns:
            self.note.setText(overflow_note(rec.xruns))
        elif rec.silent_so_far():
            self.note.setText(SILENT_NOTE)
        elif self.note.text() == SILENT_NOTE:  # sound came: back to where it goes
            self.note.setText(f"Recording to {rec.path}")
        if rec.check() is not None:
            self.stop()

"""Names for screen readers where Qt finds none by itself.

A form's label names the widget of its row (QFormLayout makes it the label's buddy). When that
widget is a box holding a path field and its Browse… button, the field and the button inside
had no name: a screen reader said "edit" and "Browse…" three times over.

A message that appears where the focus is not (the banner over the canvas) is said only when
it is announced as an alert.
"""

from __future__ import annotations

from PySide6.QtGui import QAccessible, QAccessibleEvent
from PySide6.QtWidgets import QAbstractButton, QFormLayout, QLabel, QLineEdit, QWidget


def name_control(widget: QWidget, name: str) -> None:
    """Name ``widget`` ``name``; a box of a field and buttons (a path row): the field ``name``,
    each button its text and ``name`` ("Browse: Models folder"). What is named already keeps
    its name."""
    fields = widget.findChildren(QLineEdit)
    buttons = widget.findChildren(QAbstractButton)
    if type(widget) is QWidget and (fields or buttons):
        for field in fields:
            if not field.accessibleName():
                field.setAccessibleName(name)
        for button in buttons:
            if not button.accessibleName():
                button.setAccessibleName(f"{button.text().rstrip('…').strip()}: {name}")
    elif not widget.accessibleName():
        widget.setAccessibleName(name)


def name_form_fields(form: QFormLayout) -> None:
    """Name each row's widget by the row's label (one already named keeps its name)."""
    for row in range(form.rowCount()):
        label = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
        field = form.itemAt(row, QFormLayout.ItemRole.FieldRole)
        if label is None or field is None or field.widget() is None \
                or not isinstance(label.widget(), QLabel):
            continue
        text = label.widget().text().replace("&", "").strip().rstrip(":")
        if text:
            name_control(field.widget(), text)


def announce(widget: QWidget) -> None:
    """Have a screen reader say ``widget`` (its name and text) now, as an alert: a warning or
    an error shown in the banner was silent to a user who cannot see it."""
    QAccessible.updateAccessibility(QAccessibleEvent(widget, QAccessible.Event.Alert))

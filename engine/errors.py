"""Errors that carry a message for the user: what is wrong and what to do."""

from __future__ import annotations


class SpA2VError(Exception):
    """Base error. ``str(err)`` is one line fit for a terminal or a dialog."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message


class BadInput(SpA2VError):
    """The user's input (audio, layout, arguments) cannot be used as given."""

    exit_code = 2


class LayoutError(BadInput):
    """A layout file breaks the ``spa2v.vsl/1`` rules; the message names the field."""


class ModelMissing(SpA2VError):
    """A model file or library a backend needs is not installed."""

    exit_code = 2


class Cancelled(SpA2VError):
    """The user cancelled the job."""

    exit_code = 130

    def __init__(self, message: str = "Cancelled.", **kw):
        super().__init__(message, **kw)
